//! `Stripe` signature parsing and verification never panic.
#![no_main]

const SCHEME: shared::webhooks::Scheme = shared::webhooks::Scheme::Stripe;
include!("webhook_common.rs");
