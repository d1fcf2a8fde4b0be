//! The API's route table: which function serves which method and path. The local runner serves exactly these,
//! and a test checks `template.yaml` declares the same set.

use crate::codec::{ApiError, ErrorEnvelope};
use crate::edge::http::{self, Body, Request, Response};
use ::http::{HeaderValue, header};

/// One route of the HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    /// The function (binary) name.
    pub function: &'static str,
    pub method: &'static str,
    /// The path, with `{name}` for a path parameter spanning one segment.
    pub path: &'static str,
}

const fn route(function: &'static str, method: &'static str, path: &'static str) -> Route {
    Route { function, method, path }
}

/// Every function with routes, in the order the README lists them.
pub const FUNCTIONS: [&str; 6] = ["config", "register", "user", "ingest", "webhook", "token"];

/// Functions without a route: the table's stream invokes them.
pub const STREAM_FUNCTIONS: [&str; 2] = ["notify", "events"];

/// Every route.
pub const ROUTES: &[Route] = &[
    route("config", "GET", "/retailcrm/config"),
    route("register", "POST", "/retailcrm/register"),
    route("register", "POST", "/retailcrm/activity"),
    route("register", "POST", "/retailcrm/settings"),
    route("register", "GET", "/retailcrm/account"),
    route("register", "POST", "/retailcrm/account"),
    route("user", "GET", "/sber/v1/ping"),
    route("user", "GET", "/sber/v1/user"),
    route("user", "GET", "/sber/v1/devices"),
    route("user", "POST", "/sber/v1/query"),
    route("user", "POST", "/sber/v1/command"),
    route("user", "POST", "/sber/v1/unlink"),
    route("ingest", "POST", "/smartme/realtime"),
    route("webhook", "POST", "/webhooks/{source}"),
    route("token", "GET", "/oauth/authorize"),
    route("token", "POST", "/oauth/authorize"),
    route("token", "GET", "/oauth/callback"),
    route("token", "POST", "/oauth/token"),
    route("token", "POST", "/smallcase/token"),
    route("token", "POST", "/smallcase/transaction"),
    route("token", "GET", "/smallcase/transaction/{transactionId}"),
    // CORS preflights of the browser routes (smallcase's web integration).
    route("token", "OPTIONS", "/smallcase/token"),
    route("token", "OPTIONS", "/smallcase/transaction"),
    route("token", "OPTIONS", "/smallcase/transaction/{transactionId}"),
];

/// A route's path parameters for a concrete `path`, or `None` when the path does not match its template.
pub fn match_path(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut template_parts = template.split('/');
    let mut path_parts = path.split('/');
    loop {
        match (template_parts.next(), path_parts.next()) {
            (None, None) => return Some(params),
            (Some(t), Some(p)) => match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(_) if p.is_empty() => return None,
                Some(name) => params.push((name.to_owned(), p.to_owned())),
                None if t != p => return None,
                None => {}
            },
            _ => return None,
        }
    }
}

/// The route serving `method` and `path`, with its path parameters.
pub fn find(method: &str, path: &str) -> Option<(Route, Vec<(String, String)>)> {
    ROUTES.iter().find_map(|r| (r.method == method).then(|| match_path(r.path, path)).flatten().map(|p| (*r, p)))
}

/// Whether any route has this path (under another method): the difference between 405 and 404.
pub fn path_exists(path: &str) -> bool {
    !methods_for(path).is_empty()
}

/// The methods served at `path`, for a 405's `Allow` header (RFC 9110 section 15.5.6).
pub fn methods_for(path: &str) -> Vec<&'static str> {
    ROUTES.iter().filter(|r| match_path(r.path, path).is_some()).map(|r| r.method).collect()
}

/// The envelope of a path's partner, for an answer to a request no route takes: RetailCRM's and Sber's formats
/// for their paths (the account page is ours, as are the OAuth server's unknown paths), OAuth's for a wrong
/// method on its endpoints.
fn envelope_for(path: &str, wrong_method: bool) -> ErrorEnvelope {
    if path == "/retailcrm/account" {
        ErrorEnvelope::Plain
    } else if path.starts_with("/retailcrm/") {
        ErrorEnvelope::RetailCrm
    } else if path.starts_with("/sber/") {
        ErrorEnvelope::Sber
    } else if wrong_method && path.starts_with("/oauth/") {
        ErrorEnvelope::OAuth
    } else {
        ErrorEnvelope::Plain
    }
}

/// The route of `function` that serves `request`, or the answer when none does: 404 for a path the function does
/// not serve, 405 with `Allow` for one it serves under other methods (RFC 9110 section 15.5.6). Every handler
/// admits its requests here first, as API Gateway and the local runner route them.
pub fn admit(function: &str, request: &Request) -> Result<Route, Box<Response<Body>>> {
    let (method, path) = (request.method().as_str(), request.uri().path());
    let serves = |r: &&Route| r.function == function && match_path(r.path, path).is_some();
    // A GET route serves HEAD too (uptime probes), as RFC 9110 section 9.3.2 has it.
    let serves_method = |r: &&Route| r.method == method || (method == "HEAD" && r.method == "GET");
    if let Some(route) = ROUTES.iter().filter(serves).find(serves_method) {
        return Ok(*route);
    }
    let allowed: Vec<&str> = ROUTES.iter().filter(serves).map(|r| r.method).collect();
    if allowed.is_empty() {
        return Err(Box::new(http::error(envelope_for(path, false), &ApiError::not_found("no such path"))));
    }
    let mut response = http::error(envelope_for(path, true), &ApiError::method_not_allowed(request.method()));
    if let Ok(allow) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    Err(Box::new(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_routes_and_parameters() {
        let (route, params) = find("POST", "/webhooks/schurter").unwrap();
        assert_eq!(route.function, "webhook");
        assert_eq!(params, vec![("source".to_owned(), "schurter".to_owned())]);
        assert!(find("GET", "/webhooks/schurter").is_none());
        assert!(path_exists("/webhooks/schurter"));
        assert_eq!(methods_for("/oauth/authorize"), ["GET", "POST"]);
        assert!(methods_for("/nowhere").is_empty());
        assert!(find("POST", "/webhooks/").is_none());
        assert!(find("POST", "/webhooks/a/b").is_none());
        assert_eq!(find("GET", "/retailcrm/config").unwrap().0.function, "config");
        assert!(find("GET", "/retailcrm/config/").is_none());
    }

    #[test]
    fn every_route_names_a_known_function_and_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(FUNCTIONS.contains(&r.function), "{r:?}");
            assert!(seen.insert((r.method, r.path)), "duplicate {r:?}");
        }
        for f in FUNCTIONS {
            assert!(ROUTES.iter().any(|r| r.function == f), "{f} has no route");
        }
    }
}
