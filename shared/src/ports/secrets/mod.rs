//! The secrets port: named secrets (string or JSON text) from Secrets Manager, or from a local file.

pub mod file;
#[cfg(feature = "aws")]
pub mod manager;

pub use file::FileSecrets;
#[cfg(feature = "aws")]
pub use manager::{CachePolicy, SecretsManager};

/// A secret's text. `Debug` never shows it; callers reach the text only through [`SecretValue::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The secret text, for keying a MAC or comparing credentials.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret parsed as JSON into `T`; the error names the secret and the shape problem, never the value.
    pub fn json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, SecretError> {
        serde_json::from_str(&self.0).map_err(|e| SecretError::Malformed {
            name: name.to_owned(),
            // serde_json's messages name the position and expected type, not the content.
            reason: format!("{} at line {} column {}", classify(&e), e.line(), e.column()),
        })
    }
}

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "JSON of the wrong shape",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// Why a secret could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("secret `{0}` does not exist")]
    NotFound(String),
    /// The secret store cannot be reached and no cached value is fresh enough: fail closed.
    #[error("secret `{name}` is unavailable: {reason}")]
    Unavailable { name: String, reason: String },
    #[error("secret `{name}` is malformed: {reason}")]
    Malformed { name: String, reason: String },
}

/// Where secrets come from.
#[async_trait::async_trait]
pub trait Secrets: Send + Sync {
    /// The current value of secret `name` (a name such as `retailcrm` or `webhook/schurter`, without prefix).
    async fn get(&self, name: &str) -> Result<SecretValue, SecretError>;
}

impl dyn Secrets + '_ {
    /// Secret `name` parsed as JSON into `T`: the one way a secret is read (its problems are [`SecretError`]s
    /// that name the secret and the shape, never the value).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, SecretError> {
        self.get(name).await?.json(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_errors_never_show_the_value() {
        let value = SecretValue::new(r#"{"secret": "hunter2", "n": "x"}"#);
        assert!(!format!("{value:?}").contains("hunter2"));
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Shape {
            n: u32,
        }
        let err = value.json::<Shape>("retailcrm").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("retailcrm"), "{text}");
        assert!(!text.contains("hunter2") && !text.contains("\"x\""), "{text}");
    }
}
