//! The ports the use cases run on, each with its adapters: the store (DynamoDB, embedded), secrets (Secrets
//! Manager, a file), the event bus (EventBridge, a file), partners' HTTP APIs, the clock, and the AWS configuration
//! the deployed adapters share; and [`Deps`], what a function is given of them (built by `edge::compose`).

#[cfg(feature = "aws")]
pub mod aws;
pub mod clock;
pub mod event_bus;
pub mod partner_http;
pub mod public_dns;
pub mod secrets;
pub mod store;

use std::sync::Arc;

/// The ports a function's handler borrows: built once per sandbox (or once by the local runner).
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn store::Store>,
    pub secrets: Arc<dyn secrets::Secrets>,
    pub clock: clock::Clock,
}

impl Deps {
    /// The ports on the system clock.
    pub fn new(store: Arc<dyn store::Store>, secrets: Arc<dyn secrets::Secrets>) -> Self {
        Self { store, secrets, clock: clock::Clock::SYSTEM }
    }

    /// The same ports reading "now" from `clock` (tests move time).
    pub fn with_clock(self, clock: clock::Clock) -> Self {
        Self { clock, ..self }
    }
}
