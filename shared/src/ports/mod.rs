//! The ports the use cases run on, each with its adapters: the store (DynamoDB, embedded), secrets (Secrets
//! Manager, a file), the event bus (EventBridge, a file), partners' HTTP APIs, the clock, and the AWS configuration
//! the deployed adapters share.

#[cfg(feature = "aws")]
pub mod aws;
pub mod clock;
pub mod event_bus;
pub mod partner_http;
pub mod public_dns;
pub mod secrets;
pub mod store;
