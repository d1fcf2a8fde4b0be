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
    pub clock: ports::clock::Clock,
}

impl Deps {
    /// The ports on the system clock.
    pub fn new(store: Arc<dyn ports::store::Store>, secrets: Arc<dyn ports::secrets::Secrets>) -> Self {
        Self { store, secrets, clock: ports::clock::Clock::SYSTEM }
    }

    /// The same ports reading "now" from `now` (tests move time).
    pub fn with_clock(self, now: fn() -> i64) -> Self {
        Self { clock: ports::clock::Clock::reading(now), ..self }
    }
}
