//! The authorization request (RFC 6749 section 4.1.1, PKCE RFC 7636): which parameters are trusted when, and where
//! errors go. Until the client and its exact redirect URI are known, errors are shown to the user and never
//! redirected (section 4.1.2.1); after that, they go back to the client.

use super::pkce;
use super::settings::{Client, OAuthSettings};
use crate::codec::form::Form;

/// Longest `state` accepted (characters): enough for any client's anti-CSRF value, small enough to echo safely.
pub const MAX_STATE_LEN: usize = 1024;

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// Space-separated granted scopes (the client's registered scopes when the request named none).
    pub scope: String,
    pub state: String,
    /// The S256 code challenge, if any.
    pub code_challenge: Option<String>,
}

impl AuthorizeRequest {
    /// The OAuth parameters as name/value pairs: the hidden inputs of the login form carry exactly these.
    pub fn params(&self) -> Vec<(&'static str, &str)> {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("scope", self.scope.as_str()),
            ("state", self.state.as_str()),
        ];
        if let Some(challenge) = &self.code_challenge {
            params.push(("code_challenge", challenge));
            params.push(("code_challenge_method", "S256"));
        }
        params
    }
}

/// Where an invalid request's error goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or redirect URI is not trustworthy: an error page for the user, never a redirect.
    Page(String),
    /// The client is known: redirect to `location`, which carries `error`, `error_description` and `state`.
    Redirect { location: String, error: &'static str },
}

/// Validates the parameters in `form` (the query of a GET, the hidden fields of the POST).
pub fn validate<'s>(
    settings: &'s OAuthSettings,
    form: &Form,
) -> Result<(AuthorizeRequest, &'s Client), AuthorizeError> {
    let page = |message: &str| AuthorizeError::Page(message.to_owned());
    let client_id = match form.get("client_id") {
        Ok(Some(id)) if !id.is_empty() => id,
        Ok(_) => return Err(page("The request does not name an application (client_id is missing).")),
        Err(_) => return Err(page("The request names more than one application (client_id is repeated).")),
    };
    let Some(client) = settings.client(client_id) else {
        return Err(page("The application that sent you here is not registered with this service."));
    };
    let redirect_uri = match form.get("redirect_uri") {
        Ok(Some(uri)) if client.redirect_uris.iter().any(|r| r == uri) => uri,
        Ok(Some(_)) => return Err(page("The application asked to return you to an address it has not registered.")),
        Ok(None) => return Err(page("The request does not say where to return you (redirect_uri is missing).")),
        Err(_) => return Err(page("The request names more than one return address (redirect_uri is repeated).")),
    };
    // From here on the client is known and the redirect URI is its own: errors go back to it.
    let state = form.get("state").ok().flatten().unwrap_or_default();
    let fail = |error: &'static str, description: &str| {
        let mut params = vec![("error", error), ("error_description", description)];
        if !state.is_empty() && state.len() <= MAX_STATE_LEN {
            params.push(("state", state));
        }
        AuthorizeError::Redirect { location: redirect_with(redirect_uri, &params), error }
    };
    for name in ["response_type", "scope", "state", "code_challenge", "code_challenge_method"] {
        if form.get(name).is_err() {
            return Err(fail("invalid_request", &format!("parameter {name} is repeated")));
        }
    }
    match form.get("response_type").ok().flatten() {
        Some("code") => {}
        None | Some("") => return Err(fail("invalid_request", "response_type is missing")),
        Some(_) => return Err(fail("unsupported_response_type", "only response_type=code is supported")),
    }
    if state.is_empty() {
        return Err(fail("invalid_request", "state is required"));
    }
    if state.chars().count() > MAX_STATE_LEN {
        return Err(fail("invalid_request", "state is too long"));
    }
    let scope = match form.get("scope").ok().flatten().map(str::trim).filter(|s| !s.is_empty()) {
        None => client.scopes.join(" "),
        Some(requested) => {
            let mut scopes: Vec<&str> = Vec::new();
            for scope in requested.split(' ').filter(|s| !s.is_empty()) {
                if !client.scopes.iter().any(|s| s == scope) {
                    return Err(fail("invalid_scope", "the requested scope is not available to this application"));
                }
                if !scopes.contains(&scope) {
                    scopes.push(scope);
                }
            }
            scopes.join(" ")
        }
    };
    let challenge = form.get("code_challenge").ok().flatten().filter(|c| !c.is_empty());
    let method = form.get("code_challenge_method").ok().flatten().filter(|m| !m.is_empty());
    let code_challenge = match (challenge, method) {
        (None, None) if client.is_public() => {
            return Err(fail("invalid_request", "public clients must use PKCE (code_challenge with S256)"));
        }
        (None, None) => None,
        (None, Some(_)) => return Err(fail("invalid_request", "code_challenge_method without code_challenge")),
        (Some(_), Some(m)) if m != "S256" => {
            return Err(fail("invalid_request", "only code_challenge_method=S256 is supported"));
        }
        // RFC 7636 defaults a missing method to `plain`, which we do not support.
        (Some(_), None) => return Err(fail("invalid_request", "code_challenge_method=S256 is required")),
        (Some(c), Some(_)) if !pkce::valid_challenge(c) => {
            return Err(fail("invalid_request", "code_challenge is not a base64url SHA-256 digest"));
        }
        (Some(c), Some(_)) => Some(c.to_owned()),
    };
    let request = AuthorizeRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state: state.to_owned(),
        code_challenge,
    };
    Ok((request, client))
}

/// `redirect_uri` with `params` added to its query (keeping any query it already has, RFC 6749 section 3.1.2).
pub fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            url.to_string()
        }
        // Registered redirect URIs are checked to be absolute URLs when the secret is read.
        Err(_) => redirect_uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::oauth::settings::fixtures::{client, settings as with_clients};

    fn settings() -> OAuthSettings {
        let redirect = ["https://client.example.com/cb?x=1"];
        with_clients(vec![
            client("web", Some("secret"), &redirect, &["read", "write"]),
            client("app", None, &redirect, &["read", "write"]),
        ])
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn check(query: &str) -> Result<AuthorizeRequest, AuthorizeError> {
        let settings = settings();
        validate(&settings, &Form::parse(query.as_bytes()).unwrap()).map(|(r, _)| r)
    }

    const BASE: &str = "client_id=web&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb%3Fx%3D1";

    #[test]
    fn a_valid_request_keeps_every_parameter() {
        let request = check(&format!("{BASE}&response_type=code&state=s1&scope=write&unknown=ignored")).unwrap();
        assert_eq!(request.scope, "write");
        assert_eq!(request.state, "s1");
        assert_eq!(request.code_challenge, None);
        let request =
            check(&format!("{BASE}&response_type=code&state=s1&code_challenge={CHALLENGE}&code_challenge_method=S256"))
                .unwrap();
        assert_eq!(request.scope, "read write", "no scope asked: the client's registered scopes");
        assert_eq!(request.code_challenge.as_deref(), Some(CHALLENGE));
    }

    #[test]
    fn untrusted_client_or_redirect_gets_a_page_never_a_redirect() {
        for query in [
            "redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb%3Fx%3D1&response_type=code&state=s",
            "client_id=nobody&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb%3Fx%3D1&response_type=code&state=s",
            "client_id=web&client_id=web&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb%3Fx%3D1",
            "client_id=web&response_type=code&state=s",
            "client_id=web&redirect_uri=https%3A%2F%2Fevil.example.com%2Fcb&response_type=code&state=s",
            "client_id=web&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb%3Fx%3D1%26y%3D2&response_type=code",
            "client_id=web&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&response_type=code&state=s",
        ] {
            assert!(matches!(check(query), Err(AuthorizeError::Page(_))), "{query}");
        }
    }

    #[test]
    fn other_errors_go_back_to_the_client_with_state() {
        let cases = [
            ("&state=s", "invalid_request"),
            ("&response_type=token&state=s", "unsupported_response_type"),
            ("&response_type=code", "invalid_request"),
            ("&response_type=code&response_type=code&state=s", "invalid_request"),
            ("&response_type=code&state=s&scope=admin", "invalid_scope"),
            ("&response_type=code&state=s&code_challenge_method=S256", "invalid_request"),
            ("&response_type=code&state=s&code_challenge=abc&code_challenge_method=S256", "invalid_request"),
            (&format!("&response_type=code&state=s&code_challenge={CHALLENGE}"), "invalid_request"),
            (
                &format!("&response_type=code&state=s&code_challenge={CHALLENGE}&code_challenge_method=plain"),
                "invalid_request",
            ),
            (&format!("&response_type=code&state={}", "s".repeat(MAX_STATE_LEN + 1)), "invalid_request"),
        ];
        for (extra, expected) in cases {
            match check(&format!("{BASE}{extra}")) {
                Err(AuthorizeError::Redirect { location, error }) => {
                    assert_eq!(error, expected, "{extra}");
                    let url = url::Url::parse(&location).unwrap();
                    assert_eq!(url.host_str(), Some("client.example.com"));
                    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
                    assert!(pairs.contains(&("x".into(), "1".into())), "the registered query is kept");
                    assert!(pairs.contains(&("error".into(), expected.into())));
                    let has_state = pairs.iter().any(|(k, v)| k == "state" && v == "s");
                    assert_eq!(has_state, extra.contains("state=s&") || extra.ends_with("state=s"), "{extra}");
                }
                other => panic!("{extra}: {other:?}"),
            }
        }
    }

    #[test]
    fn public_clients_must_use_pkce() {
        let base =
            "client_id=app&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb%3Fx%3D1&response_type=code&state=s";
        assert!(matches!(check(base), Err(AuthorizeError::Redirect { error: "invalid_request", .. })));
        assert!(check(&format!("{base}&code_challenge={CHALLENGE}&code_challenge_method=S256")).is_ok());
    }
}
