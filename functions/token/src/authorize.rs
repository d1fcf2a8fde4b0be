//! `GET /oauth/authorize` renders the sign-in form; `POST /oauth/authorize` checks the credentials and sends the
//! browser back to the client with a one-time code (RFC 6749 section 4.1).

use crate::{MAX_FORM_BODY, TokenFunction};
use lambda_http::http::{HeaderValue, StatusCode, header};
use shared::codec::form::Form;
use shared::edge::handler::{self, Body, Request, Response};
use shared::edge::web_page;
use shared::identity::oauth::authorize::{self, AuthorizeError, AuthorizeRequest};
use shared::identity::oauth::sign_in::SignInError;
use shared::identity::oauth::{OAuthSettings, csrf, login_page};

const WRONG_CREDENTIALS: &str = "The login or password is incorrect.";

pub(crate) fn error_page(status: StatusCode, message: &str) -> Response<Body> {
    web_page::response(status, login_page::error_page(message), None)
}

fn refused(error: AuthorizeError) -> Response<Body> {
    match error {
        AuthorizeError::Page(message) => error_page(StatusCode::BAD_REQUEST, &message),
        AuthorizeError::Redirect { location, error } => {
            tracing::info!(error, "authorization request refused");
            handler::redirect_no_store(&location)
        }
    }
}

/// The form for `request` with a fresh CSRF pair (token in the form, nonce in the cookie).
fn form(
    function: &TokenFunction,
    request: &Request,
    settings: &OAuthSettings,
    authorization: &AuthorizeRequest,
    status: StatusCode,
    username: &str,
    message: Option<&str>,
) -> Response<Body> {
    let pair = csrf::issue(settings.signing_key().secret.as_bytes(), function.now());
    let html = login_page::login_form(authorization, &pair.form_token, username, message);
    let mut response = web_page::response(status, html, Some(&authorization.redirect_uri));
    let secure = handler::public_base(request, function.public_url.as_deref()).starts_with("https://");
    if let Ok(cookie) = HeaderValue::from_str(&csrf::set_cookie(&pair.cookie_value, secure)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

pub async fn show(function: &TokenFunction, request: &Request) -> Response<Body> {
    let Ok(query) = Form::parse(request.uri().query().unwrap_or_default().as_bytes()) else {
        return error_page(StatusCode::BAD_REQUEST, "The request's parameters are not valid UTF-8.");
    };
    let settings = match function.oauth_settings().await {
        Ok(settings) => settings,
        Err(error) => return error_page(error.status, "Sign-in is unavailable right now. Please try again later."),
    };
    match (authorize::validate(&settings, &query), &function.upstream) {
        (Ok((authorization, _)), None) => form(function, request, &settings, &authorization, StatusCode::OK, "", None),
        (Ok((authorization, _)), Some(upstream)) => {
            crate::upstream::depart(function, upstream.as_ref(), request, &authorization).await
        }
        (Err(error), _) => refused(error),
    }
}

pub async fn submit(function: &TokenFunction, request: &Request) -> Response<Body> {
    if !handler::content_type_is(request, "application/x-www-form-urlencoded") {
        return error_page(StatusCode::UNSUPPORTED_MEDIA_TYPE, "The sign-in form was not sent as a form.");
    }
    let Ok(body) = handler::body_within(request, MAX_FORM_BODY) else {
        return error_page(StatusCode::PAYLOAD_TOO_LARGE, "The sign-in form is too large.");
    };
    let Ok(fields) = Form::parse(body) else {
        return error_page(StatusCode::BAD_REQUEST, "The sign-in form is not valid UTF-8.");
    };
    let settings = match function.oauth_settings().await {
        Ok(settings) => settings,
        Err(error) => return error_page(error.status, "Sign-in is unavailable right now. Please try again later."),
    };
    let authorization = match authorize::validate(&settings, &fields) {
        Ok((authorization, _)) => authorization,
        Err(error) => return refused(error),
    };
    let now = function.now();
    let username = fields.get("username").ok().flatten().unwrap_or_default();
    let show_again = |status: StatusCode, message: &str| {
        form(function, request, &settings, &authorization, status, username, Some(message))
    };
    let token = fields.get("csrf_token").ok().flatten().unwrap_or_default();
    let secure = handler::public_base(request, function.public_url.as_deref()).starts_with("https://");
    let cookie = handler::header_str(request, "cookie").and_then(|header| csrf::cookie_value(header, secure));
    let keys = settings.keys.iter().map(|k| k.secret.as_bytes());
    if !csrf::verify(keys, token, cookie, now) {
        return show_again(StatusCode::FORBIDDEN, "This sign-in form has expired. Please sign in again.");
    }
    let (Ok(Some(login)), Ok(Some(password))) = (fields.get("username"), fields.get("password")) else {
        return show_again(StatusCode::BAD_REQUEST, "Enter your login and password.");
    };
    if login.is_empty() || password.is_empty() {
        return show_again(StatusCode::BAD_REQUEST, "Enter your login and password.");
    }
    let store = function.deps.store.as_ref();
    match function.sign_in.sign_in(store, &settings, &authorization, (login, password), now).await {
        Ok(location) => handler::redirect_no_store(&location),
        Err(SignInError::Busy) => {
            // The caller's doing (a burst of sign-ins), not an outage: 429, never a 5xx that pages the operator.
            let mut response =
                show_again(StatusCode::TOO_MANY_REQUESTS, "Sign-in is busy right now. Please try again in a moment.");
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        Err(SignInError::Throttled { retry_after_s }) => {
            let minutes = (retry_after_s + 59) / 60;
            let message = format!("Too many failed sign-ins for this login. Try again in {minutes} minute(s).");
            show_again(StatusCode::TOO_MANY_REQUESTS, &message)
        }
        Err(SignInError::WrongCredentials) => show_again(StatusCode::OK, WRONG_CREDENTIALS),
        Err(SignInError::Unavailable) => {
            error_page(StatusCode::SERVICE_UNAVAILABLE, "Sign-in is unavailable right now. Please try again later.")
        }
    }
}
