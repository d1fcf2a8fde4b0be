//! Switchyard's shared library: everything the six Lambda functions have in common.
//!
//! The dependency direction follows the hexagonal split: function crates (HTTP edge) call the partner modules here
//! (`retailcrm`, ...), which call the ports (`store::Store`, `secrets::Secrets`); nothing here knows which function
//! or runtime it runs in.

pub mod aws;
pub mod clock;
pub mod codec;
pub mod cors;
pub mod crypto;
pub mod env;
pub mod http;
pub mod lambda;
pub mod oauth;
pub mod partner_http;
pub mod retailcrm;
pub mod routes;
pub mod sber;
pub mod secrets;
pub mod smallcase;
pub mod smartme;
pub mod store;
pub mod telemetry;
pub mod users;
pub mod web_page;
pub mod webhooks;

use std::sync::Arc;

/// The ports a function's handler borrows: built once per sandbox (or once by the local runner).
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn store::Store>,
    pub secrets: Arc<dyn secrets::Secrets>,
}
