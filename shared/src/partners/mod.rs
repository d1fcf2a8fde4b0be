//! Each partner's protocol and rules in one folder: what it sends, what we answer, what we store and call.

pub mod offboarding;
pub mod outbound_events;
pub mod retailcrm;
pub mod sber;
pub mod smallcase;
pub mod smartme;
pub mod webhooks;
