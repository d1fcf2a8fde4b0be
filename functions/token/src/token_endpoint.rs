//! `POST /oauth/token`: the form read, `identity::oauth::token_request` asked, its outcome answered as RFC 6749
//! section 5.1 and 5.2 say (never cached; the error envelope names the authentication scheme on a 401).

use crate::{MAX_FORM_BODY, TokenFunction};
use lambda_http::http::StatusCode;
use shared::codec::form::Form;
use shared::edge::error::{ApiError, ErrorEnvelope};
use shared::edge::handler::{self, Body, Request, Response};
use shared::identity::oauth::error::OAuthError;
use shared::identity::oauth::token_request;

pub async fn handle(function: &TokenFunction, request: &Request) -> Response<Body> {
    let response = match exchange(function, request).await {
        Ok(body) => handler::json(StatusCode::OK, &body),
        Err(error) => {
            tracing::info!(code = error.code, "token request refused");
            handler::error(ErrorEnvelope::OAuth, &error)
        }
    };
    handler::no_store(response)
}

async fn exchange(function: &TokenFunction, request: &Request) -> Result<serde_json::Value, ApiError> {
    if !handler::content_type_is(request, "application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded").into());
    }
    let body = handler::body_within(request, MAX_FORM_BODY)?;
    let form = Form::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let settings = function.oauth_settings().await?;
    let tokens =
        token_request::issue(&function.grants(&settings), handler::header_str(request, "authorization"), &form).await?;
    Ok(tokens.to_json())
}
