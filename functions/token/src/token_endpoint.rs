//! `POST /oauth/token`: the form read, `identity::oauth::token_request` asked, its outcome answered as RFC 6749
//! section 5.1 and 5.2 say (no caching; a 401 names the authentication scheme).

use crate::{MAX_FORM_BODY, TokenFunction};
use lambda_http::http::{HeaderValue, StatusCode, header};
use shared::codec::form::Form;
use shared::edge::error::{ApiError, ErrorEnvelope};
use shared::edge::handler::{self, Body, Request, Response};
use shared::identity::oauth::error::OAuthError;
use shared::identity::oauth::grants::Grants;
use shared::identity::oauth::token_request;

pub async fn handle(function: &TokenFunction, request: &Request) -> Response<Body> {
    let response = match exchange(function, request).await {
        Ok(body) => handler::json(StatusCode::OK, &body),
        Err(error) => {
            tracing::info!(code = error.code, "token request refused");
            let mut response = handler::error(ErrorEnvelope::OAuth, &error);
            if error.status == StatusCode::UNAUTHORIZED {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"switchyard\""));
            }
            response
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
    let grants = Grants {
        store: function.deps.store.as_ref(),
        settings: &settings,
        lifetimes: function.lifetimes,
        now: function.now(),
    };
    let tokens = token_request::issue(&grants, handler::header_str(request, "authorization"), &form).await?;
    Ok(tokens.to_json())
}
