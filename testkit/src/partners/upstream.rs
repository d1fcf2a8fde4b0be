//! A browser's part of signing in upstream (`SIGN_IN=smartme`, `oidc`), driven against the token function's
//! handler: our `GET /oauth/authorize` sends it to the identity provider with a cookie, the provider sends it back
//! to our `GET /oauth/callback`, which answers the client's redirect.

use shared::edge::handler::{Body, Handler, Request, Response};

/// Where our authorize step sent the browser, and the cookie it set.
#[derive(Debug, Clone)]
pub struct Departure {
    pub location: String,
    pub cookie: String,
}

fn get(path_and_query: &str, cookie: Option<&str>) -> Request {
    let mut request = Request::new(Body::Empty);
    *request.uri_mut() = path_and_query.parse().expect("a path and query");
    if let Some(cookie) = cookie.filter(|c| !c.is_empty()) {
        request.headers_mut().insert("cookie", cookie.parse().expect("a cookie"));
    }
    request
}

/// `GET /oauth/authorize?<query>`: must be a 302 upstream with a cookie.
pub async fn depart(token: &dyn Handler, query: &str) -> Departure {
    let response = token.handle(get(&format!("/oauth/authorize?{query}"), None)).await;
    assert_eq!(response.status(), 302, "{}", String::from_utf8_lossy(response.body().as_ref()));
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    Departure { location, cookie: cookie_set_by(&response) }
}

/// The `name=value` of the cookie `response` sets (empty when it sets none), as the browser sends it back.
pub fn cookie_set_by(response: &Response<Body>) -> String {
    let set_cookie = response.headers().get("set-cookie").and_then(|v| v.to_str().ok());
    set_cookie.and_then(|v| v.split(';').next()).unwrap_or_default().to_owned()
}

/// The browser arriving at our callback URL `url` (absolute, as the provider redirects) with `cookie`.
pub async fn arrive(token: &dyn Handler, url: &str, cookie: Option<&str>) -> Response<Body> {
    let parsed = url::Url::parse(url).expect("the callback URL");
    assert_eq!(parsed.path(), "/oauth/callback", "the provider sent the browser elsewhere: {url}");
    let path = format!("{}?{}", parsed.path(), parsed.query().unwrap_or_default());
    token.handle(get(&path, cookie)).await
}

/// The query of a redirect `response` to `redirect_uri`, as name-value pairs.
pub fn redirect_query(response: &Response<Body>, redirect_uri: &str) -> std::collections::BTreeMap<String, String> {
    assert_eq!(response.status(), 302, "{}", String::from_utf8_lossy(response.body().as_ref()));
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(redirect_uri), "redirected to {location}");
    url::Url::parse(location).unwrap().query_pairs().into_owned().collect()
}

/// The whole sign-in with smart-me of `username` (who allows or declines), for the authorization request
/// `query`: our callback's answer.
pub async fn with_smartme(
    token: &dyn Handler,
    smartme: &sandbox::smartme::FakeSmartMe,
    query: &str,
    (username, password): (&str, &str),
    allow: bool,
) -> Response<Body> {
    let departure = depart(token, query).await;
    assert!(departure.location.starts_with(&smartme.url), "sent to {}", departure.location);
    let back = smartme.sign_in(&departure.location, username, password, allow);
    let arrived = arrive(token, &back, Some(&departure.cookie)).await;
    // What smart-me issued must never reach a log line.
    crate::assertions::leaks::fixture_secrets(smartme.issued_secrets());
    arrived
}
