//! The HTTP edge every function shares: the handler contract, response builders and body limits.

use crate::codec::form::{Form, FormError};
use crate::edge::error::{ApiError, ErrorEnvelope};
use crate::telemetry::Reason;
use http::{HeaderValue, StatusCode, header};
pub use lambda_http::{Body, Request, Response};

/// One Lambda function's request handler, shared by its Lambda `main`, the local runner and the tests.
///
/// A handler answers every request, including bad ones, with a response in its partner's format: errors never
/// escape as `Err`, so the runtime never turns them into a bare 500.
#[async_trait::async_trait]
pub trait Handler: Send + Sync {
    async fn handle(&self, request: Request) -> Response<Body>;
}

/// A JSON response.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An error response in the partner's envelope, carrying its code for the request's log line and metrics.
pub fn error(envelope: ErrorEnvelope, error: &ApiError) -> Response<Body> {
    let mut response = json(error.status, &envelope.body(error));
    if envelope == ErrorEnvelope::OAuth && error.status == StatusCode::UNAUTHORIZED {
        // RFC 6749 section 5.2: a client that failed to authenticate is told the scheme to authenticate with.
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"switchyard\""));
    }
    let reason = if error.status.is_server_error() { Reason::ours(error.code) } else { Reason::caller(error.code) };
    response.extensions_mut().insert(reason);
    response
}

/// An HTML page that must never be cached (login forms, error pages).
pub fn html(status: StatusCode, page: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(page));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// An empty response with `status`.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

/// A 302 to `location`, never cached (it carries one-time codes and states).
pub fn redirect_no_store(location: &str) -> Response<Body> {
    let mut response = empty(StatusCode::FOUND);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The raw request body (lambda_http has already decoded API Gateway's base64), refused when over `limit` bytes.
pub fn body_within(request: &Request, limit: usize) -> Result<&[u8], ApiError> {
    let body = request.body().as_ref();
    if body.len() > limit { Err(ApiError::payload_too_large(limit)) } else { Ok(body) }
}

/// The public base URL the caller reached us at: the configured `SWITCHYARD_PUBLIC_URL` when set, otherwise
/// `https://` and the API Gateway domain of the request (the `$default` stage adds no path prefix).
///
/// The template cannot pass the API's own URL to its functions (the API depends on the functions), so deployed
/// functions without a custom domain learn it from each request; API Gateway sets `domainName` itself.
pub fn public_base(request: &Request, configured: Option<&str>) -> String {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    if let Some(url) = configured {
        return url.to_owned();
    }
    let domain = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.domain_name.clone(),
        _ => None,
    };
    let host = domain.or_else(|| header_str(request, "host").map(str::to_owned)).unwrap_or_default();
    format!("https://{host}")
}

/// `response` setting the cookie `set_cookie` (a `Set-Cookie` value; one that is not a valid header is left out).
pub fn with_cookie(mut response: Response<Body>, set_cookie: &str) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(set_cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The request's query string as form fields (an absent query is an empty form).
pub fn query_form(request: &Request) -> Result<Form, FormError> {
    Form::parse(request.uri().query().unwrap_or_default().as_bytes())
}

/// A request header's value as text; `None` when absent or not visible ASCII.
pub fn header_str<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Whether the request's content type is `expected` (parameters such as `charset` allowed).
pub fn content_type_is(request: &Request, expected: &str) -> bool {
    header_str(request, "content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// `response`, marked never to be cached: token responses and anything carrying credentials (RFC 6749 section 5.1).
pub fn no_store(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_limit_is_inclusive() {
        let request = Request::new(Body::Binary(vec![0; 10]));
        assert_eq!(body_within(&request, 10).unwrap().len(), 10);
        assert_eq!(body_within(&request, 9).unwrap_err().status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn html_is_never_cached() {
        let response = html(StatusCode::OK, "<p>x</p>".into());
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
    }
}
