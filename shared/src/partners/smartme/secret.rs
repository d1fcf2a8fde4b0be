//! The `smartme` secret, read one way: the Basic credentials smart-me's realtime posts carry (`username`,
//! `password`), and our credentials for smart-me's REST API (`api_key`, or `api_username` and `api_password`).

use crate::codec::BasicCredentials;
use crate::ports::secrets::{SecretError, Secrets};

/// The secret's name.
pub const NAME: &str = "smartme";

#[derive(Clone, serde::Deserialize)]
pub struct SmartMeSecret {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    api_key: Option<String>,
    api_username: Option<String>,
    api_password: Option<String>,
}

impl std::fmt::Debug for SmartMeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmartMeSecret(<redacted>)")
    }
}

/// How we authenticate to smart-me's REST API.
#[derive(Clone, PartialEq, Eq)]
pub enum SmartMeAuth {
    ApiKey(String),
    Basic { username: String, password: String },
}

impl std::fmt::Debug for SmartMeAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ApiKey(_) => "SmartMeAuth::ApiKey(<redacted>)",
            Self::Basic { .. } => "SmartMeAuth::Basic(<redacted>)",
        })
    }
}

impl SmartMeAuth {
    /// The `Authorization` header value.
    pub fn header(&self) -> String {
        match self {
            Self::ApiKey(key) => format!("ApiKey {key}"),
            Self::Basic { username, password } => BasicCredentials::header_value(username, password),
        }
    }
}

impl SmartMeSecret {
    pub async fn load(secrets: &dyn Secrets) -> Result<Self, SecretError> {
        secrets.get_json(NAME).await
    }

    /// The realtime posts' Basic credentials, when both are set.
    pub fn realtime_credentials(&self) -> Option<(&str, &str)> {
        (!self.username.is_empty() && !self.password.is_empty()).then_some((&self.username, &self.password))
    }

    /// Whether an `Authorization` header carries the realtime credentials (compared in constant time).
    pub fn admits(&self, authorization: Option<&str>) -> bool {
        let Some((username, password)) = self.realtime_credentials() else { return false };
        authorization.and_then(BasicCredentials::parse).is_some_and(|c| c.matches(username, password))
    }

    /// Our REST API credentials: the API key when set, else `api_username` and `api_password`.
    pub fn rest_auth(&self) -> Option<SmartMeAuth> {
        let field = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        match (field(&self.api_key), field(&self.api_username), field(&self.api_password)) {
            (Some(key), _, _) => Some(SmartMeAuth::ApiKey(key)),
            (None, Some(username), Some(password)) => Some(SmartMeAuth::Basic { username, password }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(json: serde_json::Value) -> SmartMeSecret {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn realtime_and_rest_credentials() {
        let s = secret(serde_json::json!({"username": "u", "password": "p", "api_key": "k", "api_username": "a"}));
        assert!(s.admits(Some(&BasicCredentials::header_value("u", "p"))));
        assert!(!s.admits(Some(&BasicCredentials::header_value("u", "wrong"))) && !s.admits(None));
        assert_eq!(s.rest_auth().unwrap().header(), "ApiKey k");
        let basic = secret(serde_json::json!({"api_username": "a", "api_password": "b"}));
        assert!(basic.realtime_credentials().is_none() && !basic.admits(Some(&BasicCredentials::header_value("", ""))));
        assert_eq!(basic.rest_auth().unwrap().header(), BasicCredentials::header_value("a", "b"));
        assert!(secret(serde_json::json!({"api_key": ""})).rest_auth().is_none());
        let shown = format!("{s:?} {:?}", s.rest_auth());
        assert!(shown.contains("redacted") && !shown.contains("\"k\"") && !shown.contains("(\"k"), "{shown}");
    }
}
