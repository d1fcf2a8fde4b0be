//! Wire formats shared by several endpoints: form bodies and the partners' JSON error envelopes.

pub mod basic_auth;
pub mod envelope;
pub mod form;
pub mod json;

pub use basic_auth::BasicCredentials;
pub use envelope::{ApiError, ErrorEnvelope};
pub use form::{Form, FormError};
