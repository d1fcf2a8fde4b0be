//! The edge: what turns an HTTP request into a call of a partner's use case and its outcome back into the
//! partner's answer (the handler contract, the route table and admission, Lambda and the local runner's plumbing,
//! CORS, HTML pages).

pub mod bearer;
#[cfg(feature = "aws")]
pub mod compose;
pub mod cors;
pub mod error;
pub mod handler;
pub mod lambda;
pub mod observed;
pub mod routes;
pub mod sign_in_page;
pub mod stream_batch;
pub mod web_page;
