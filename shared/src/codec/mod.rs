//! Wire formats shared by several endpoints: form bodies, JSON, Basic credentials, our cookies, the partners' JSON
//! error envelopes and our HTML pages' text.

pub mod basic_auth;
pub mod cookie;
pub mod form;
pub mod html;
pub mod json;

pub use basic_auth::BasicCredentials;
pub use form::{Form, FormError};
