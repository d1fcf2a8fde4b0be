//! The connection configuration the CRM requests when a user opens the module's card (`configUrl`).

use crate::env::{ConfigError, Vars};
use serde_json::{Value, json};

/// Scopes requested by default: the module manages its own integration settings and nothing else.
pub const DEFAULT_SCOPES: &str = "integration_read,integration_write";

/// What the module asks for when it is connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    pub scopes: Vec<String>,
    /// `SWITCHYARD_PUBLIC_URL`, when set.
    pub public_url: Option<String>,
}

impl ConnectionConfig {
    /// From `RETAILCRM_SCOPES` (comma-separated) and `SWITCHYARD_PUBLIC_URL`.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let scopes = vars.list_or("RETAILCRM_SCOPES", DEFAULT_SCOPES);
        if scopes.is_empty() {
            return Err(ConfigError { name: "RETAILCRM_SCOPES".into(), reason: "no scope is listed".into() });
        }
        if let Some(bad) = scopes.iter().find(|s| !s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')) {
            return Err(ConfigError {
                name: "RETAILCRM_SCOPES".into(),
                reason: format!("`{bad}` is not a scope name (lowercase letters and `_`)"),
            });
        }
        Ok(Self { scopes, public_url: vars.public_url()? })
    }

    /// The answer to the CRM's configuration request, for an API reached at `base_url`.
    pub fn response_body(&self, base_url: &str) -> Value {
        json!({"success": true, "scopes": self.scopes, "registerUrl": format!("{base_url}/retailcrm/register")})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env;

    #[test]
    fn defaults_and_configured_scopes() {
        let vars = Vars::from_pairs([(env::PUBLIC_URL, "https://api.example.com/")]);
        let config = ConnectionConfig::from_vars(&vars).unwrap();
        assert_eq!(config.public_url.as_deref(), Some("https://api.example.com"));
        assert_eq!(
            config.response_body("https://api.example.com"),
            json!({"success": true, "scopes": ["integration_read", "integration_write"],
                   "registerUrl": "https://api.example.com/retailcrm/register"})
        );
        let vars = vars.with("RETAILCRM_SCOPES", "order_read, customer_read");
        assert_eq!(ConnectionConfig::from_vars(&vars).unwrap().scopes, ["order_read", "customer_read"]);
    }

    #[test]
    fn refuses_bad_scopes_and_missing_url() {
        let vars = Vars::from_pairs([(env::PUBLIC_URL, "https://x"), ("RETAILCRM_SCOPES", "order read")]);
        assert_eq!(ConnectionConfig::from_vars(&vars).unwrap_err().name, "RETAILCRM_SCOPES");
        let bad_url = Vars::from_pairs([(env::PUBLIC_URL, "ftp://x")]);
        assert_eq!(ConnectionConfig::from_vars(&bad_url).unwrap_err().name, env::PUBLIC_URL);
        assert_eq!(ConnectionConfig::from_vars(&Vars::default()).unwrap().public_url, None);
    }
}
