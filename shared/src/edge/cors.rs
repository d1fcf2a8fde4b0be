//! CORS for routes a partner's web client calls from the browser (smallcase's web integration: the page whose
//! domain smallcase whitelisted calls our `/smallcase/*` routes). Exact origins only: no wildcard and no
//! credentials (the routes take a bearer token, never a cookie), and no CORS header at all for any other origin,
//! so the browser refuses to hand our answers to other pages.

use crate::edge::handler::{Body, Request, Response};
use crate::env::ConfigError;
use http::{HeaderValue, StatusCode, header};

/// What a preflight allows.
const METHODS: &str = "GET, POST";
const HEADERS: &str = "authorization, content-type";
/// How long a browser may reuse a preflight's answer (seconds).
const MAX_AGE_S: &str = "600";

/// The origins allowed to call from a browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// The origins of `list` (comma-separated, each `scheme://host[:port]`, as a browser sends `Origin`); empty
    /// for none. `name` is the setting's name, for errors.
    pub fn from_list(name: &str, list: &str) -> Result<Self, ConfigError> {
        let mut origins = Vec::new();
        for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let parsed = url::Url::parse(origin)
                .map_err(|_| ConfigError::new(name, format!("{origin} is not an origin (scheme://host[:port])")))?;
            let exact = parsed.origin().ascii_serialization();
            if !matches!(parsed.scheme(), "http" | "https") || exact != origin {
                return Err(ConfigError::new(name, format!("{origin} is not an origin (scheme://host[:port])")));
            }
            origins.push(exact);
        }
        Ok(Self { origins })
    }

    /// The request's `Origin` when it is allowed.
    pub fn allowed_origin<'r>(&self, request: &'r Request) -> Option<&'r str> {
        let origin = crate::edge::handler::header_str(request, "origin")?;
        self.origins.iter().any(|o| o == origin).then_some(origin)
    }

    /// The answer to a preflight `OPTIONS`: 204, with the CORS headers only for an allowed origin.
    pub fn preflight(&self, request: &Request) -> Response<Body> {
        let mut response = crate::edge::handler::empty(StatusCode::NO_CONTENT);
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = self.allowed_origin(request).and_then(|o| HeaderValue::from_str(o).ok()) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(METHODS));
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(HEADERS));
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE_S));
        }
        response
    }

    /// `response` to `request`, readable by an allowed origin's page.
    pub fn decorate(&self, request: &Request, mut response: Response<Body>) -> Response<Body> {
        let origin = self.allowed_origin(request).and_then(|o| HeaderValue::from_str(o).ok());
        let headers = response.headers_mut();
        // The answer differs by Origin: caches must key on it.
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = origin {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(origin: Option<&str>) -> Request {
        let mut request = Request::new(Body::Empty);
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", origin.parse().unwrap());
        }
        request
    }

    #[test]
    fn only_exact_origins_are_taken() {
        let cors = Cors::from_list("X", " https://app.example.com, http://127.0.0.1:8080 ,").unwrap();
        assert_eq!(cors.origins, ["https://app.example.com", "http://127.0.0.1:8080"]);
        for bad in ["*", "https://app.example.com/", "https://app.example.com/path", "app.example.com", "ftp://x"] {
            assert!(Cors::from_list("X", bad).is_err(), "{bad}");
        }
        assert_eq!(Cors::from_list("X", "").unwrap(), Cors::default());
    }

    #[test]
    fn allowed_origins_get_the_headers_and_others_none() {
        let cors = Cors::from_list("X", "https://app.example.com").unwrap();
        let allowed = cors.preflight(&request(Some("https://app.example.com")));
        assert_eq!(allowed.status(), 204);
        assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example.com");
        assert_eq!(allowed.headers()["access-control-allow-headers"], "authorization, content-type");
        assert_eq!(allowed.headers()["vary"], "Origin");
        assert!(allowed.headers().get("access-control-allow-credentials").is_none());
        for other in [Some("https://evil.example.com"), Some("https://app.example.com.evil.com"), Some("null"), None] {
            let refused = cors.preflight(&request(other));
            assert_eq!(refused.status(), 204);
            assert!(refused.headers().keys().all(|k| !k.as_str().starts_with("access-control-")), "{other:?}");
            let answer = cors.decorate(&request(other), crate::edge::handler::empty(StatusCode::OK));
            assert!(answer.headers().get("access-control-allow-origin").is_none());
        }
        let answer =
            cors.decorate(&request(Some("https://app.example.com")), crate::edge::handler::empty(StatusCode::OK));
        assert_eq!(answer.headers()["access-control-allow-origin"], "https://app.example.com");
    }
}
