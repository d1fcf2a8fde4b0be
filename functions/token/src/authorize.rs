//! `GET /oauth/authorize` renders the sign-in form (or, signing in upstream, sends the browser to the identity
//! provider); `POST /oauth/authorize` submits it and sends the browser back to the client with a one-time code
//! (RFC 6749 section 4.1).

use crate::{MAX_FORM_BODY, TokenFunction};
use lambda_http::http::StatusCode;
use shared::edge::handler::{self, Body, Request, Response};
use shared::edge::sign_in_page::{self, SignInForm};
use shared::identity::oauth::OAuthSettings;
use shared::identity::oauth::authorize::{self, AuthorizeRequest};

fn sign_in_form<'a>(
    function: &TokenFunction,
    request: &Request,
    settings: &'a OAuthSettings,
    authorization: &'a AuthorizeRequest,
) -> SignInForm<'a> {
    let secure = handler::public_base(request, function.public_url.as_deref()).starts_with("https://");
    SignInForm { settings, authorization, secure, now: function.now() }
}

pub async fn show(function: &TokenFunction, request: &Request) -> Response<Body> {
    let Ok(query) = handler::query_form(request) else {
        return sign_in_page::error_page(StatusCode::BAD_REQUEST, "The request's parameters are not valid UTF-8.");
    };
    let Ok(settings) = function.oauth_settings().await else { return sign_in_page::unavailable() };
    match (authorize::validate(&settings, &query), &function.upstream) {
        (Ok((authorization, _)), None) => {
            sign_in_form(function, request, &settings, &authorization).show(StatusCode::OK, "", None)
        }
        (Ok((authorization, _)), Some(upstream)) => {
            crate::upstream::depart(function, upstream.as_ref(), request, &authorization).await
        }
        (Err(error), _) => sign_in_page::refused(error),
    }
}

pub async fn submit(function: &TokenFunction, request: &Request) -> Response<Body> {
    let fields = match sign_in_page::submitted_fields(request, MAX_FORM_BODY) {
        Ok(fields) => fields,
        Err(page) => return *page,
    };
    let Ok(settings) = function.oauth_settings().await else { return sign_in_page::unavailable() };
    let authorization = match authorize::validate(&settings, &fields) {
        Ok((authorization, _)) => authorization,
        Err(error) => return sign_in_page::refused(error),
    };
    let form = sign_in_form(function, request, &settings, &authorization);
    let submission = (&fields, form.csrf_cookie(request));
    let store = function.deps.store.as_ref();
    let outcome = function.sign_in.submit(store, &settings, &authorization, submission, form.now).await;
    form.answer(outcome, fields.get("username").ok().flatten().unwrap_or_default())
}
