//! `token`: OAuth 2.0 authorization server and smallcase Gateway tokens.
//!
//! Not built yet: every route answers 501 in the partner's error format until its issue lands.

use lambda_http::http::StatusCode;
use shared::codec::{ApiError, ErrorEnvelope};
use shared::http::{self, Body, Handler, Request, Response};

/// The function's state.
#[derive(Default)]
pub struct TokenFunction;

#[async_trait::async_trait]
impl Handler for TokenFunction {
    async fn handle(&self, _request: Request) -> Response<Body> {
        let error = ApiError::new(StatusCode::NOT_IMPLEMENTED, "not_implemented", "this endpoint is not available yet");
        http::error(ErrorEnvelope::OAuth, &error)
    }
}
