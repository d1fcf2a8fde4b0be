//! What must never leak: the secret values of the fixtures, to look for in answers and logs.

/// Keys whose string values (or lists of strings) are secret in a secrets document.
const SECRET_KEYS: [&str; 8] =
    ["secret", "secrets", "password", "api_key", "api_secret", "api_password", "client_secret", "signing_key"];

/// Every secret value in a secrets document (any depth): strings under [`SECRET_KEYS`], and each OAuth signing
/// key's `secret`.
pub fn secret_values(document: &serde_json::Value) -> Vec<String> {
    fn walk(value: &serde_json::Value, secret: bool, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) if secret && !s.is_empty() => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, secret, out)),
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    walk(value, SECRET_KEYS.contains(&key.as_str()), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(document, false, &mut out);
    out.sort();
    out.dedup();
    out
}

/// The secret values of the development secrets file, `local/secrets.json`.
pub fn dev_secret_values() -> Vec<String> {
    let path = crate::workspace_root().join("local/secrets.json");
    let document = serde_json::from_str(&std::fs::read_to_string(&path).expect("read local/secrets.json"))
        .expect("local/secrets.json is JSON");
    secret_values(&document)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_every_secret_of_the_dev_file() {
        let values = super::dev_secret_values();
        for expected in ["dev-retailcrm-module-secret-not-for-production", "dev-sber-client-secret-not-for-production"]
        {
            assert!(values.iter().any(|v| v == expected), "{expected} in {values:?}");
        }
        assert!(!values.iter().any(|v| v == "smartme-dev" || v == "schurter"), "names are not secrets");
        assert!(values.len() >= 8, "{values:?}");
    }
}
