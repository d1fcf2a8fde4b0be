//! The sign-in pages of `/oauth/authorize` and `/oauth/callback` as responses: the form with its CSRF pair, the
//! error pages, and each refusal of the sign-in use cases shown as the person signing in should see it.

use crate::codec::form::Form;
use crate::edge::handler::{self, Body, Request, Response};
use crate::edge::web_page;
use crate::identity::oauth::authorize::{AuthorizeError, AuthorizeRequest};
use crate::identity::oauth::sign_in::{SignInError, SubmitError};
use crate::identity::oauth::{OAuthSettings, csrf, login_page};
use http::{HeaderValue, StatusCode, header};

/// What a page says when sign-in cannot be served (the store, the `oauth` secret or the identity provider).
pub const UNAVAILABLE: &str = "Sign-in is unavailable right now. Please try again later.";

/// A page saying `message`, with nothing to submit.
pub fn error_page(status: StatusCode, message: &str) -> Response<Body> {
    web_page::response(status, login_page::error_page(message), None)
}

/// The page for a sign-in that cannot be served right now (503).
pub fn unavailable() -> Response<Body> {
    error_page(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
}

/// An authorization request refused: a page where the client cannot be trusted with the answer (RFC 6749
/// section 4.1.2.1), else back to the client with the error.
pub fn refused(error: AuthorizeError) -> Response<Body> {
    match error {
        AuthorizeError::Page(message) => error_page(StatusCode::BAD_REQUEST, &message),
        AuthorizeError::Redirect { location, error } => {
            tracing::info!(error, "authorization request refused");
            handler::redirect_no_store(&location)
        }
    }
}

/// The submitted form's fields, or the page for a body that is not one (not a form, too large, not UTF-8).
pub fn submitted_fields(request: &Request, max_body: usize) -> Result<Form, Box<Response<Body>>> {
    let page = |status, message| Box::new(error_page(status, message));
    if !handler::content_type_is(request, "application/x-www-form-urlencoded") {
        return Err(page(StatusCode::UNSUPPORTED_MEDIA_TYPE, "The sign-in form was not sent as a form."));
    }
    let Ok(body) = handler::body_within(request, max_body) else {
        return Err(page(StatusCode::PAYLOAD_TOO_LARGE, "The sign-in form is too large."));
    };
    Form::parse(body).map_err(|_| page(StatusCode::BAD_REQUEST, "The sign-in form is not valid UTF-8."))
}

/// The sign-in form of one authorization request as shown at `now`: its CSRF pair is signed with the `oauth`
/// secret's current key, and its cookie is `Secure` when we are served over HTTPS.
pub struct SignInForm<'a> {
    pub settings: &'a OAuthSettings,
    pub authorization: &'a AuthorizeRequest,
    pub secure: bool,
    pub now: i64,
}

impl SignInForm<'_> {
    /// The form, with a fresh CSRF pair (the token in the form, the nonce in the cookie).
    pub fn show(&self, status: StatusCode, username: &str, message: Option<&str>) -> Response<Body> {
        let pair = csrf::issue(self.settings.signing_key().secret.as_bytes(), self.now);
        let html = login_page::login_form(self.authorization, &pair.form_token, username, message);
        let page = web_page::response(status, html, Some(&self.authorization.redirect_uri));
        handler::with_cookie(page, &csrf::set_cookie(&pair.cookie_value, self.secure))
    }

    /// The CSRF cookie `request` carries back to this form.
    pub fn csrf_cookie<'r>(&self, request: &'r Request) -> Option<&'r str> {
        handler::header_str(request, "cookie").and_then(|header| csrf::cookie_value(header, self.secure))
    }

    /// The answer to the form's submission: back to the client with its code, or the form again saying why not.
    pub fn answer(&self, outcome: Result<String, SubmitError>, username: &str) -> Response<Body> {
        let error = match outcome {
            Ok(location) => return handler::redirect_no_store(&location),
            Err(error) => error,
        };
        let (status, message) = match error {
            SubmitError::Expired => {
                (StatusCode::FORBIDDEN, "This sign-in form has expired. Please sign in again.".to_owned())
            }
            SubmitError::MissingCredentials => (StatusCode::BAD_REQUEST, "Enter your login and password.".to_owned()),
            SubmitError::SignIn(SignInError::Busy) => {
                // The caller's doing (a burst of sign-ins), not an outage: 429, never a 5xx that pages the operator.
                let message = "Sign-in is busy right now. Please try again in a moment.";
                let mut response = self.show(StatusCode::TOO_MANY_REQUESTS, username, Some(message));
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return response;
            }
            SubmitError::SignIn(SignInError::Throttled { retry_after_s }) => {
                let minutes = (retry_after_s + 59) / 60;
                let message = format!("Too many failed sign-ins for this login. Try again in {minutes} minute(s).");
                (StatusCode::TOO_MANY_REQUESTS, message)
            }
            SubmitError::SignIn(SignInError::WrongCredentials) => {
                (StatusCode::OK, "The login or password is incorrect.".to_owned())
            }
            SubmitError::SignIn(SignInError::Unavailable) => return unavailable(),
        };
        self.show(status, username, Some(&message))
    }
}
