//! Signing in upstream (`SIGN_IN=smartme` or `oidc`): `GET /oauth/authorize` sends the browser to the identity
//! provider with a cookie binding it to this sign-in; `GET /oauth/callback` finishes the client's authorization
//! (`shared::identity::upstream::flow`).

use crate::TokenFunction;
use lambda_http::http::StatusCode;
use shared::edge::handler::{self, Body, Request, Response};
use shared::edge::sign_in_page::{self, error_page};
use shared::identity::oauth::authorize::AuthorizeRequest;
use shared::identity::upstream::flow::{self, CallbackError};
use shared::identity::upstream::{Upstream, UpstreamError, pending};

/// `GET /oauth/authorize` with a valid request: off to the identity provider.
pub async fn depart(
    function: &TokenFunction,
    upstream: &dyn Upstream,
    request: &Request,
    authorization: &AuthorizeRequest,
) -> Response<Body> {
    let base = handler::public_base(request, function.public_url.as_deref());
    let store = function.deps.store.as_ref();
    match flow::start(upstream, store, authorization, &base, function.now()).await {
        Ok(departure) => {
            let cookie = pending::set_cookie(&departure.cookie, base.starts_with("https://"));
            handler::with_cookie(handler::redirect_no_store(&departure.location), &cookie)
        }
        Err(UpstreamError::Unavailable(reason)) => {
            tracing::warn!(reason, "upstream sign-in could not start");
            sign_in_page::unavailable()
        }
        Err(UpstreamError::Refused(reason)) => {
            tracing::error!(reason, "the identity provider refused our configuration");
            sign_in_page::unavailable()
        }
    }
}

/// `GET /oauth/callback`: back from the identity provider.
pub async fn callback(function: &TokenFunction, upstream: &dyn Upstream, request: &Request) -> Response<Body> {
    let Ok(query) = handler::query_form(request) else {
        return error_page(StatusCode::BAD_REQUEST, "The sign-in came back with parameters that are not valid UTF-8.");
    };
    let Ok(settings) = function.oauth_settings().await else { return sign_in_page::unavailable() };
    let base = handler::public_base(request, function.public_url.as_deref());
    let secure = base.starts_with("https://");
    let cookie = handler::header_str(request, "cookie").and_then(|header| pending::cookie_value(header, secure));
    match flow::finish(upstream, &function.grants(&settings), &query, cookie, &base).await {
        Ok(location) => handler::redirect_no_store(&location),
        Err(CallbackError::NoMatch(message)) => error_page(StatusCode::BAD_REQUEST, &message),
        Err(CallbackError::Unavailable) => sign_in_page::unavailable(),
    }
}

/// `POST /oauth/authorize` while people sign in upstream: there is no password to check.
pub fn no_passwords() -> Response<Body> {
    let message = "This service signs you in with your existing account. Start again from the application.";
    error_page(StatusCode::BAD_REQUEST, message)
}

/// `GET /oauth/callback` while people sign in with our passwords: nothing went upstream.
pub fn not_used() -> Response<Body> {
    error_page(StatusCode::NOT_FOUND, "No sign-in is waiting here. Start again from the application.")
}
