//! `Stripe` signature parsing and verification never panic.
#![no_main]

const SCHEME: shared::partners::webhooks::Scheme = shared::partners::webhooks::Scheme::Stripe;
include!("webhook_common.rs");
