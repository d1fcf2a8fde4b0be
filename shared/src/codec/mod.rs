//! Wire formats shared by several endpoints: form bodies and the partners' JSON error envelopes.

pub mod envelope;
pub mod form;

pub use envelope::{ApiError, ErrorEnvelope};
pub use form::{Form, FormError};
