//! Secrets from a local JSON file: `{"<name>": "<text>" | <JSON value>, ...}` (the local runner's default).

use super::{SecretError, SecretValue, Secrets};
use std::collections::HashMap;
use std::path::Path;

/// Secrets loaded once from a JSON object; a JSON value is kept as its JSON text, as Secrets Manager stores it.
#[derive(Clone, Default)]
pub struct FileSecrets {
    values: HashMap<String, SecretValue>,
}

impl std::fmt::Debug for FileSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSecrets").field("names", &self.values.keys().collect::<Vec<_>>()).finish()
    }
}

impl FileSecrets {
    /// Loads the file at `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read secrets file {}: {e}", path.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("secrets file {} is not valid JSON (line {})", path.display(), e.line()))?;
        Self::from_json(json).map_err(|e| format!("secrets file {}: {e}", path.display()))
    }

    /// The names of the secrets held, sorted (never their values).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.values.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// Secrets from a JSON object.
    pub fn from_json(json: serde_json::Value) -> Result<Self, String> {
        let serde_json::Value::Object(map) = json else {
            return Err("the top level must be an object of secret names".into());
        };
        let values = map
            .into_iter()
            .map(|(name, value)| {
                let text = match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (name, SecretValue::new(text))
            })
            .collect();
        Ok(Self { values })
    }
}

#[async_trait::async_trait]
impl Secrets for FileSecrets {
    async fn get(&self, name: &str) -> Result<SecretValue, SecretError> {
        self.values.get(name).cloned().ok_or_else(|| SecretError::NotFound(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn strings_and_json_values() {
        let secrets = FileSecrets::from_json(serde_json::json!({"a": "text", "b": {"secret": "s"}})).unwrap();
        assert_eq!(secrets.get("a").await.unwrap().expose(), "text");
        assert_eq!(secrets.get("b").await.unwrap().expose(), r#"{"secret":"s"}"#);
        assert_eq!(secrets.get("c").await.unwrap_err(), SecretError::NotFound("c".into()));
        assert!(!format!("{secrets:?}").contains("text"));
        assert!(FileSecrets::from_json(serde_json::json!([1])).is_err());
    }
}
