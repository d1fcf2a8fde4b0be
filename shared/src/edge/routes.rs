//! The API's route table: which function serves which method and path. The local runner serves exactly these,
//! and a test checks `template.yaml` declares the same set.

use crate::edge::error::{ApiError, ErrorEnvelope};
use crate::edge::handler::{self, Body, Request, Response};
use ::http::{HeaderValue, header};

/// One route of the HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    /// The function (binary) name.
    pub function: &'static str,
    pub method: &'static str,
    /// The path, with `{name}` for a path parameter spanning one segment.
    pub path: &'static str,
    /// What the route does. Each function matches its partner's endpoints exhaustively, so a route added here and
    /// not handled does not compile (no request falls through into another route's action).
    pub endpoint: Endpoint,
}

/// What a route does, by partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    RetailCrm(RetailCrmEndpoint),
    Sber(SberEndpoint),
    SmartMeRealtime,
    Webhook,
    OAuth(OAuthEndpoint),
    Smallcase(SmallcaseEndpoint),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RetailCrmEndpoint {
    Config,
    Register,
    Activity,
    Settings,
    AccountPage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SberEndpoint {
    Ping,
    User,
    Devices,
    Query,
    Command,
    Unlink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OAuthEndpoint {
    /// `GET /oauth/authorize`: the sign-in page (or the trip to the upstream identity provider).
    ShowSignIn,
    /// `POST /oauth/authorize`: the sign-in form's submission.
    SubmitSignIn,
    /// The upstream identity provider's redirect back.
    Callback,
    Token,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SmallcaseEndpoint {
    AuthToken,
    CreateTransaction,
    ReadTransaction,
    /// A browser's CORS preflight of one of the others.
    Preflight,
}

impl Endpoint {
    /// The function (binary) that serves the endpoint.
    pub const fn function(self) -> &'static str {
        match self {
            Endpoint::RetailCrm(RetailCrmEndpoint::Config) => "config",
            Endpoint::RetailCrm(_) => "register",
            Endpoint::Sber(_) => "user",
            Endpoint::SmartMeRealtime => "ingest",
            Endpoint::Webhook => "webhook",
            Endpoint::OAuth(_) | Endpoint::Smallcase(_) => "token",
        }
    }
}

const fn route(method: &'static str, path: &'static str, endpoint: Endpoint) -> Route {
    Route { function: endpoint.function(), method, path, endpoint }
}

use Endpoint::{OAuth, RetailCrm, Sber, Smallcase};

/// Every function with routes, in the order the README lists them.
pub const FUNCTIONS: [&str; 6] = ["config", "register", "user", "ingest", "webhook", "token"];

/// Functions without a route: the table's stream invokes them.
pub const STREAM_FUNCTIONS: [&str; 2] = ["notify", "events"];

/// Every route.
pub const ROUTES: &[Route] = &[
    route("GET", "/retailcrm/config", RetailCrm(RetailCrmEndpoint::Config)),
    route("POST", "/retailcrm/register", RetailCrm(RetailCrmEndpoint::Register)),
    route("POST", "/retailcrm/activity", RetailCrm(RetailCrmEndpoint::Activity)),
    route("POST", "/retailcrm/settings", RetailCrm(RetailCrmEndpoint::Settings)),
    route("GET", "/retailcrm/account", RetailCrm(RetailCrmEndpoint::AccountPage)),
    route("POST", "/retailcrm/account", RetailCrm(RetailCrmEndpoint::AccountPage)),
    route("GET", "/sber/v1/ping", Sber(SberEndpoint::Ping)),
    route("GET", "/sber/v1/user", Sber(SberEndpoint::User)),
    route("GET", "/sber/v1/devices", Sber(SberEndpoint::Devices)),
    route("POST", "/sber/v1/query", Sber(SberEndpoint::Query)),
    route("POST", "/sber/v1/command", Sber(SberEndpoint::Command)),
    route("POST", "/sber/v1/unlink", Sber(SberEndpoint::Unlink)),
    route("POST", "/smartme/realtime", Endpoint::SmartMeRealtime),
    route("POST", "/webhooks/{source}", Endpoint::Webhook),
    route("GET", "/oauth/authorize", OAuth(OAuthEndpoint::ShowSignIn)),
    route("POST", "/oauth/authorize", OAuth(OAuthEndpoint::SubmitSignIn)),
    route("GET", "/oauth/callback", OAuth(OAuthEndpoint::Callback)),
    route("POST", "/oauth/token", OAuth(OAuthEndpoint::Token)),
    route("POST", "/smallcase/token", Smallcase(SmallcaseEndpoint::AuthToken)),
    route("POST", "/smallcase/transaction", Smallcase(SmallcaseEndpoint::CreateTransaction)),
    route("GET", "/smallcase/transaction/{transactionId}", Smallcase(SmallcaseEndpoint::ReadTransaction)),
    // CORS preflights of the browser routes (smallcase's web integration).
    route("OPTIONS", "/smallcase/token", Smallcase(SmallcaseEndpoint::Preflight)),
    route("OPTIONS", "/smallcase/transaction", Smallcase(SmallcaseEndpoint::Preflight)),
    route("OPTIONS", "/smallcase/transaction/{transactionId}", Smallcase(SmallcaseEndpoint::Preflight)),
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
/// The answer when the table sends a function an endpoint of another's (the table derives each route's function
/// from its endpoint, so this cannot happen; refused, never dispatched elsewhere).
pub fn misrouted(route: &Route) -> Response<Body> {
    tracing::error!(
        function = route.function,
        path = route.path,
        "the route table sent this function another's endpoint"
    );
    handler::error(envelope_for(route.path, false), &ApiError::internal())
}

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
        return Err(Box::new(handler::error(envelope_for(path, false), &ApiError::not_found("no such path"))));
    }
    let mut response = handler::error(envelope_for(path, true), &ApiError::method_not_allowed(request.method()));
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
