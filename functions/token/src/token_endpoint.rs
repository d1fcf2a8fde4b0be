//! `POST /oauth/token` (RFC 6749 sections 4.1.3 and 6): the authorization_code and refresh_token grants.

use crate::{MAX_FORM_BODY, TokenFunction, content_type_is, no_store};
use lambda_http::http::{HeaderValue, StatusCode, header};
use shared::codec::form::Form;
use shared::codec::{ApiError, ErrorEnvelope};
use shared::edge::http::{self, Body, Request, Response};
use shared::identity::oauth::client_auth;
use shared::identity::oauth::grants::Grants;

fn invalid_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
}

pub async fn handle(function: &TokenFunction, request: &Request) -> Response<Body> {
    let response = match exchange(function, request).await {
        Ok(body) => http::json(StatusCode::OK, &body),
        Err(error) => {
            tracing::info!(code = error.code, "token request refused");
            let mut response = http::error(ErrorEnvelope::OAuth, &error);
            if error.status == StatusCode::UNAUTHORIZED {
                // RFC 6749 section 5.2: a 401 names the authentication scheme the client should use.
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"switchyard\""));
            }
            response
        }
    };
    no_store(response)
}

async fn exchange(function: &TokenFunction, request: &Request) -> Result<serde_json::Value, ApiError> {
    if !content_type_is(request, "application/x-www-form-urlencoded") {
        return Err(invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let body = http::body_within(request, MAX_FORM_BODY)?;
    let form = Form::parse(body).map_err(|e| invalid_request(e.to_string()))?;
    let settings = function.oauth_settings().await?;
    let client = client_auth::authenticate(&settings, http::header_str(request, "authorization"), &form)?;
    let field = |name: &str| form.get(name).map_err(|e| invalid_request(e.to_string()));
    let grants = Grants {
        store: function.deps.store.as_ref(),
        settings: &settings,
        lifetimes: function.lifetimes,
        now: function.now(),
    };
    let grant_type = field("grant_type")?.ok_or_else(|| invalid_request("grant_type is missing"))?;
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        ));
    }
    if !client.allows_grant(grant_type) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            format!("this client may not use the {grant_type} grant"),
        ));
    }
    let tokens = if grant_type == "authorization_code" {
        let code = field("code")?.filter(|c| !c.is_empty()).ok_or_else(|| invalid_request("code is missing"))?;
        let redirect_uri = field("redirect_uri")?;
        if redirect_uri.is_none() {
            return Err(invalid_request("redirect_uri is missing"));
        }
        let verifier = field("code_verifier")?;
        grants.exchange_code(client, code, redirect_uri, verifier).await?
    } else {
        let token = field("refresh_token")?
            .filter(|t| !t.is_empty())
            .ok_or_else(|| invalid_request("refresh_token is missing"))?;
        let scope = field("scope")?.map(str::trim).filter(|s| !s.is_empty());
        grants.refresh(client, token, scope).await?
    };
    tracing::info!(client_id = client.client_id, grant_type, user_id = tokens.claims.sub, "tokens issued");
    Ok(tokens.to_json())
}
