//! The `oauth` secret: issuer, signing keys (the first signs, all verify, so keys rotate) and registered clients.

use crate::ports::secrets::{SecretError, Secrets};
use serde::Deserialize;

/// The secret's name.
pub const SECRET_NAME: &str = "oauth";

/// Shortest signing key accepted (bytes): HS256 keys must be at least the hash length (RFC 7518 section 3.2).
pub const MIN_KEY_LEN: usize = 32;

/// The issuer used when neither the secret nor `SWITCHYARD_PUBLIC_URL` names one.
pub const DEFAULT_ISSUER: &str = "switchyard";

/// Everything the authorization server and the token verifiers need, parsed from the secret.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    pub issuer: String,
    /// Never empty; `keys[0]` signs.
    pub keys: Vec<SigningKey>,
    pub clients: Vec<Client>,
}

/// One HS256 key with its `kid`.
#[derive(Clone, Deserialize)]
pub struct SigningKey {
    pub kid: String,
    pub secret: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// A registered OAuth client (Sber Smart Home, our own apps).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub client_id: String,
    /// Absent for public clients (apps that cannot keep a secret; they must use PKCE).
    #[serde(default)]
    pub client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// The `aud` of the access tokens this client receives: the API that accepts them (`sber`, `smallcase`).
    pub audience: String,
    /// The grants the client may use; both by default.
    #[serde(default = "default_grants")]
    pub grant_types: Vec<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("public", &self.client_secret.is_none())
            .field("redirect_uris", &self.redirect_uris)
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.client_secret.is_none()
    }

    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
}

fn default_grants() -> Vec<String> {
    vec!["authorization_code".into(), "refresh_token".into()]
}

#[derive(Deserialize)]
struct SecretShape {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    keys: Vec<SigningKey>,
    /// The shape the SAM template generates (one random key); `keys` wins when both are present.
    #[serde(default)]
    signing_key: Option<String>,
    #[serde(default)]
    clients: Vec<Client>,
}

impl OAuthSettings {
    /// Reads and checks the `oauth` secret; `fallback_issuer` (the public URL) names the issuer when the secret
    /// does not.
    pub async fn load(secrets: &dyn Secrets, fallback_issuer: Option<&str>) -> Result<Self, SecretError> {
        let value = secrets.get(SECRET_NAME).await?;
        Self::parse(value.json(SECRET_NAME)?, fallback_issuer)
    }

    /// [`Self::load`] for answering a request: a secret that cannot be read or used is logged (never its value)
    /// and answered as `temporarily_unavailable`.
    pub async fn load_for_request(
        secrets: &dyn Secrets,
        fallback_issuer: Option<&str>,
    ) -> Result<Self, super::error::OAuthError> {
        Self::load(secrets, fallback_issuer).await.map_err(|error| {
            tracing::error!(%error, "oauth secret unavailable");
            super::error::OAuthError::unavailable()
        })
    }

    fn parse(shape: SecretShape, fallback_issuer: Option<&str>) -> Result<Self, SecretError> {
        let malformed = |reason: &str| SecretError::Malformed { name: SECRET_NAME.into(), reason: reason.into() };
        let mut keys = shape.keys;
        if keys.is_empty()
            && let Some(secret) = shape.signing_key
        {
            keys.push(SigningKey { kid: "primary".into(), secret });
        }
        if keys.is_empty() {
            return Err(malformed("`keys` must hold at least one signing key"));
        }
        if keys.iter().any(|k| k.secret.len() < MIN_KEY_LEN) {
            return Err(malformed("every signing key must have at least 32 bytes"));
        }
        if keys.iter().any(|k| k.kid.is_empty()) || has_duplicates(keys.iter().map(|k| k.kid.as_str())) {
            return Err(malformed("every key needs a distinct, non-empty `kid`"));
        }
        if has_duplicates(shape.clients.iter().map(|c| c.client_id.as_str())) {
            return Err(malformed("client ids must be distinct"));
        }
        for client in &shape.clients {
            if client.client_id.is_empty() || client.audience.is_empty() {
                return Err(malformed("every client needs a `client_id` and an `audience`"));
            }
            if client.redirect_uris.iter().any(|u| url::Url::parse(u).is_err()) {
                return Err(malformed("every redirect URI must be an absolute URL"));
            }
        }
        let issuer = match shape.issuer.as_str() {
            "" => fallback_issuer.unwrap_or(DEFAULT_ISSUER).to_owned(),
            issuer => issuer.to_owned(),
        };
        Ok(Self { issuer, keys, clients: shape.clients })
    }

    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// The key that signs new tokens.
    pub fn signing_key(&self) -> &SigningKey {
        &self.keys[0]
    }

    pub fn key(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

fn has_duplicates<'a>(items: impl Iterator<Item = &'a str>) -> bool {
    let mut seen = std::collections::HashSet::new();
    items.into_iter().any(|i| !seen.insert(i))
}

/// Settings and clients for the oauth modules' unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    pub fn client(id: &str, secret: Option<&str>, redirect_uris: &[&str], scopes: &[&str]) -> Client {
        Client {
            client_id: id.into(),
            client_secret: secret.map(Into::into),
            redirect_uris: redirect_uris.iter().map(|u| u.to_string()).collect(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            audience: "api".into(),
            grant_types: default_grants(),
        }
    }

    pub fn settings(clients: Vec<Client>) -> OAuthSettings {
        OAuthSettings {
            issuer: "iss".into(),
            keys: vec![SigningKey { kid: "k".into(), secret: "k".repeat(32) }],
            clients,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<OAuthSettings, SecretError> {
        OAuthSettings::parse(serde_json::from_value(value).unwrap(), Some("https://api.example.com"))
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn reads_the_documented_shape() {
        let settings = parse(json!({
            "issuer": "https://id.example.com",
            "keys": [{"kid": "k2", "secret": KEY}, {"kid": "k1", "secret": KEY}],
            "clients": [{"client_id": "sber", "client_secret": "s", "redirect_uris": ["https://x/cb"],
                         "scopes": ["smarthome"], "audience": "sber"},
                        {"client_id": "app", "redirect_uris": ["app://cb"], "scopes": [], "audience": "smallcase",
                         "grant_types": ["authorization_code"]}]
        }))
        .unwrap();
        assert_eq!(settings.issuer, "https://id.example.com");
        assert_eq!(settings.signing_key().kid, "k2");
        assert!(settings.key("k1").is_some());
        assert!(!settings.client("sber").unwrap().is_public());
        let app = settings.client("app").unwrap();
        assert!(app.is_public() && !app.allows_grant("refresh_token"));
        assert!(settings.client("sber").unwrap().allows_grant("refresh_token"));
        assert!(!format!("{settings:?}").contains(KEY));
        assert!(!format!("{:?}", settings.client("sber").unwrap()).contains("\"s\""));
    }

    #[test]
    fn accepts_the_generated_template_shape_and_defaults_the_issuer() {
        let settings = parse(json!({"clients": [], "signing_key": KEY})).unwrap();
        assert_eq!(settings.signing_key().kid, "primary");
        assert_eq!(settings.issuer, "https://api.example.com");
    }

    #[test]
    fn refuses_weak_or_ambiguous_secrets() {
        for bad in [
            json!({"clients": []}),
            json!({"keys": [{"kid": "a", "secret": "short"}]}),
            json!({"keys": [{"kid": "a", "secret": KEY}, {"kid": "a", "secret": KEY}]}),
            json!({"keys": [{"kid": "", "secret": KEY}]}),
            json!({"keys": [{"kid": "a", "secret": KEY}], "clients": [
                {"client_id": "c", "redirect_uris": ["not a url"], "scopes": [], "audience": "x"}]}),
            json!({"keys": [{"kid": "a", "secret": KEY}], "clients": [
                {"client_id": "c", "redirect_uris": [], "scopes": [], "audience": "x"},
                {"client_id": "c", "redirect_uris": [], "scopes": [], "audience": "x"}]}),
        ] {
            let error = parse(bad.clone()).unwrap_err();
            assert!(matches!(error, SecretError::Malformed { .. }), "{bad}");
            assert!(!error.to_string().contains(KEY));
        }
    }
}
