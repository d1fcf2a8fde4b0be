//! smart-me's OAuth 2.0 authorization server, with the vendor's smart-me OAuth client (secret `smartme-oauth`:
//! `{"client_id", "client_secret"}`): the authorization code grant with PKCE, and refreshing.
//!
//! From smart-me's documentation (doc.smart-me.com, "OAuth") and its official samples
//! (github.com/eCarUp/smart-me-api-oauth-examples): base `https://api.smart-me.com`, `/oauth/authorize` and
//! `/oauth/token`, the code exchanged with `grant_type`, `code`, `redirect_uri`, `client_id` and `code_verifier`
//! in the form body (a confidential client adds `client_secret` there), scopes such as `device.read` and
//! `offline_access` (which brings the refresh token). Which scope allows switching is not published: the scopes
//! are `SMARTME_OAUTH_SCOPES`, `device.read offline_access` by default.

use crate::env::{ConfigError, Vars};
use crate::ports::partner_http::{CallFailure, PartnerClient};
use crate::ports::secrets::Secrets;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// The secret holding the vendor's smart-me OAuth client.
pub const SECRET_NAME: &str = "smartme-oauth";

/// smart-me's authorization server in production.
pub const DEFAULT_URL: &str = "https://api.smart-me.com";

/// Tokens smart-me issued for a user.
#[derive(Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds the access token lives, when smart-me says.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// Why smart-me issued no tokens. Messages never carry a token, code or client secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// smart-me says the code or the refresh token is no good (`invalid_grant`): the grant is gone.
    #[error("smart-me refused the grant ({0})")]
    GrantGone(String),
    /// smart-me refused our client or request (`invalid_client`, `unauthorized_client`, ...): a configuration fault.
    #[error("smart-me refused our OAuth client ({0})")]
    Refused(String),
    /// No usable answer now: try again later.
    #[error("smart-me's authorization server is unavailable: {0}")]
    Unavailable(String),
}

#[derive(Deserialize)]
struct Client {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
}

/// smart-me's authorization server as our client uses it.
pub struct SmartMeOAuthClient {
    base: String,
    /// Space-separated.
    pub scopes: String,
    http: PartnerClient,
}

impl SmartMeOAuthClient {
    pub fn new(base: &str, scopes: &str, timeout: Duration) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            scopes: scopes.to_owned(),
            http: PartnerClient::new("smartme", timeout),
        }
    }

    /// `SMARTME_OAUTH_URL`, `SMARTME_OAUTH_SCOPES`, `SMARTME_TIMEOUT_MS`.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let base = vars.get_or("SMARTME_OAUTH_URL", DEFAULT_URL);
        if url::Url::parse(base).is_err() {
            return Err(ConfigError::new("SMARTME_OAUTH_URL", "must be an absolute URL"));
        }
        let scopes: Vec<&str> = vars
            .get_or("SMARTME_OAUTH_SCOPES", "device.read offline_access")
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Self::new(base, &scopes.join(" "), Duration::from_millis(vars.parse_or("SMARTME_TIMEOUT_MS", 5_000)?)))
    }

    async fn client(&self, secrets: &dyn Secrets) -> Result<Client, OAuthError> {
        secrets.get_json::<Client>(SECRET_NAME).await.map_err(|error| {
            tracing::error!(%error, "smartme-oauth secret unusable");
            OAuthError::Unavailable("our smart-me OAuth client is not configured".into())
        })
    }

    /// Where to send the browser: smart-me's authorization endpoint with our client, `state` and PKCE `challenge`.
    pub async fn authorization_url(
        &self,
        secrets: &dyn Secrets,
        state: &str,
        challenge: &str,
        redirect_uri: &str,
    ) -> Result<String, OAuthError> {
        let client = self.client(secrets).await?;
        let mut url = url::Url::parse(&format!("{}/oauth/authorize", self.base))
            .map_err(|_| OAuthError::Refused("SMARTME_OAUTH_URL".into()))?;
        url.query_pairs_mut().extend_pairs([
            ("client_id", client.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("scope", self.scopes.as_str()),
            ("state", state),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]);
        Ok(url.to_string())
    }

    /// The authorization code grant.
    pub async fn exchange_code(
        &self,
        secrets: &dyn Secrets,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<Tokens, OAuthError> {
        let fields = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        self.token(secrets, &fields).await
    }

    /// The refresh token grant.
    pub async fn refresh(&self, secrets: &dyn Secrets, refresh_token: &str) -> Result<Tokens, OAuthError> {
        self.token(secrets, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    async fn token(&self, secrets: &dyn Secrets, fields: &[(&str, &str)]) -> Result<Tokens, OAuthError> {
        let client = self.client(secrets).await?;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("client_id", &client.client_id));
        if let Some(secret) = client.client_secret.as_deref().filter(|s| !s.is_empty()) {
            form.push(("client_secret", secret));
        }
        let body = crate::codec::form::encode(form);
        let url = format!("{}/oauth/token", self.base);
        let (status, answer) = self
            .http
            .exchange(|http| {
                http.post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("accept", "application/json")
                    .body(body)
            })
            .await
            .map_err(|failure| {
                OAuthError::Unavailable(match failure {
                    CallFailure::Timeout(ms) => format!("no answer within {ms} ms"),
                    _ => "unreachable".into(),
                })
            })?;
        let answer = parse_token_answer(status, &answer);
        if let Err(OAuthError::Refused(error)) = &answer {
            tracing::error!(status, error, "smart-me refused our OAuth client");
        }
        answer
    }
}

/// What the token endpoint's answer (`status`, `body`) says: the tokens, or why there are none (RFC 6749 sections
/// 5.1 and 5.2; of an error body only its short ASCII `error` code is kept).
pub fn parse_token_answer(status: u16, body: &[u8]) -> Result<Tokens, OAuthError> {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return serde_json::from_value::<Tokens>(value)
            .ok()
            .filter(|t| !t.access_token.is_empty())
            .ok_or_else(|| OAuthError::Unavailable("the token answer holds no access token".into()));
    }
    let error: String =
        value["error"].as_str().unwrap_or("unknown").chars().filter(char::is_ascii_graphic).take(64).collect();
    match (status, error.as_str()) {
        (500.., _) | (429, _) => Err(OAuthError::Unavailable(format!("HTTP {status}"))),
        (_, "invalid_grant") => Err(OAuthError::GrantGone(error)),
        _ => Err(OAuthError::Refused(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_as_rfc_6749_has_them() {
        let ok = br#"{"access_token": "a", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "r"}"#;
        let tokens = parse_token_answer(200, ok).unwrap();
        assert_eq!((tokens.refresh_token.as_deref(), tokens.expires_in), (Some("r"), Some(3600)));
        assert!(!format!("{tokens:?}").contains('"'), "no token in Debug");
        let gone = parse_token_answer(400, br#"{"error": "invalid_grant"}"#);
        assert_eq!(gone, Err(OAuthError::GrantGone("invalid_grant".into())));
        let refused = parse_token_answer(401, br#"{"error": "invalid_client"}"#);
        assert_eq!(refused, Err(OAuthError::Refused("invalid_client".into())));
        assert!(matches!(parse_token_answer(503, b"down"), Err(OAuthError::Unavailable(_))));
        assert!(matches!(parse_token_answer(200, br#"{"access_token": ""}"#), Err(OAuthError::Unavailable(_))));
        let long = format!(r#"{{"error": "{}\u0007"}}"#, "x".repeat(500));
        assert_eq!(parse_token_answer(400, long.as_bytes()), Err(OAuthError::Refused("x".repeat(64))));
    }
}
