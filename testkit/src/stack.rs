//! The ports a function is built on in tests: the embedded store with a secrets file, or DynamoDB and Secrets
//! Manager on moto, holding the same secrets.

use shared::Deps;
use shared::secrets::{CachePolicy, FileSecrets, SecretsManager};
use shared::store::dynamo::DynamoStore;
use std::sync::Arc;

/// Which implementation of the ports a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store in a fresh temporary file, secrets from memory.
    Embedded,
    /// A fresh DynamoDB table and a fresh Secrets Manager prefix on moto_server.
    Aws,
}

/// Fresh ports holding `secrets` (name to JSON value).
pub async fn deps(backend: Backend, secrets: &[(&str, serde_json::Value)]) -> Deps {
    crate::leaks::capture_tracing();
    for (_, value) in secrets {
        crate::leaks::fixture_secrets(crate::leaks::secret_values(value));
    }
    match backend {
        Backend::Embedded => {
            let dir = std::env::temp_dir().join(crate::unique_name("store"));
            let store = shared::store::embedded::EmbeddedStore::open(&dir.join("store.redb")).expect("open store");
            let json = secrets.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
            let secrets = FileSecrets::from_json(serde_json::Value::Object(json)).expect("secrets");
            Deps { store: Arc::new(store), secrets: Arc::new(secrets) }
        }
        Backend::Aws => {
            let (store, config) = crate::moto::fresh_store().await;
            let prefix = format!("{}/", crate::unique_name("stack"));
            for (name, value) in secrets {
                crate::moto::put_secret(&config, &format!("{prefix}{name}"), &value.to_string()).await;
            }
            let client = aws_sdk_secretsmanager::Client::new(&config);
            Deps {
                store: Arc::new(store),
                secrets: Arc::new(SecretsManager::new(client, prefix, CachePolicy::default())),
            }
        }
    }
}

/// The environment of a deployed function on moto: a fresh table and secret prefix holding `secrets`, as
/// `template.yaml` sets them up. Returns the table's store (to inspect) and the variables.
pub async fn deployed_env(secrets: &[(&str, serde_json::Value)]) -> (DynamoStore, Vec<(String, String)>) {
    for (_, value) in secrets {
        crate::leaks::fixture_secrets(crate::leaks::secret_values(value));
    }
    let (store, config) = crate::moto::fresh_store().await;
    let prefix = format!("{}/", crate::unique_name("stack"));
    for (name, value) in secrets {
        crate::moto::put_secret(&config, &format!("{prefix}{name}"), &value.to_string()).await;
    }
    let mut env = crate::moto::aws_env();
    env.push(("SWITCHYARD_TABLE".into(), store.table().into()));
    env.push(("SWITCHYARD_SECRET_PREFIX".into(), prefix));
    (store, env)
}

/// The development secrets of `local/secrets.json` (the values `events/` are signed with).
pub fn local_secrets() -> serde_json::Value {
    let path = crate::workspace_root().join("local/secrets.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("local/secrets.json")).expect("secrets JSON")
}
