//! `Slack` signature parsing and verification never panic.
#![no_main]

const SCHEME: shared::webhooks::Scheme = shared::webhooks::Scheme::Slack;
include!("webhook_common.rs");
