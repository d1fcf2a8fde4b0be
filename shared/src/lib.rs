//! Switchyard's shared library: everything the six Lambda functions have in common.
//!
//! The dependency direction follows the hexagonal split: function crates (HTTP edge) call the partner modules here
//! (`retailcrm`, ...), which call the ports (`store::Store`, `secrets::Secrets`); nothing here knows which function
//! or runtime it runs in.

pub mod codec;
pub mod crypto;
pub mod edge;
pub mod env;
pub mod identity;
pub mod partners;
pub mod ports;
pub mod telemetry;

use std::sync::Arc;

/// The ports a function's handler borrows: built once per sandbox (or once by the local runner).
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn ports::store::Store>,
    pub secrets: Arc<dyn ports::secrets::Secrets>,
}
