//! `Github` signature parsing and verification never panic.
#![no_main]

const SCHEME: shared::partners::webhooks::Scheme = shared::partners::webhooks::Scheme::Github;
include!("webhook_common.rs");
