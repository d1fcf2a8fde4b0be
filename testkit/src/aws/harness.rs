//! The ports a function is built on in tests: the embedded store with a secrets file, or a test stack on moto
//! (a DynamoDB table and Secrets Manager secrets under `<stack>/`, as `template.yaml` lays them out).
//!
//! On moto the function's clients sign as the function's role (see [`crate::aws::calls`]), and the test's own
//! reads and writes (seeding, inspecting) go through [`Ports::admin`], signed as the harness: only what the
//! function itself does is judged against its IAM policy.

use crate::aws::template::{Binding, FunctionSpec, Resolver, Translated};
use shared::Deps;
use shared::ports::secrets::{CachePolicy, FileSecrets, SecretsManager};
use shared::ports::store::Store;
use shared::ports::store::dynamo::DynamoStore;
use std::sync::Arc;

/// Which implementation of the ports a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store in a fresh temporary file, secrets from memory.
    Embedded,
    /// A fresh test stack on moto_server.
    Aws,
}

/// The function's ports and the harness's view of the same store.
#[derive(Clone)]
pub struct Ports {
    /// What the function under test is built on.
    pub deps: Deps,
    /// The same store for the test itself: seeding what other functions or operators would write, inspecting.
    pub admin: Arc<dyn Store>,
    /// The moto stack, when on moto.
    binding: Option<Binding>,
}

impl Ports {
    /// The same stack's ports as another function (its binary name) sees them, for tests that run several.
    pub async fn as_function(&self, function: &str) -> Deps {
        match &self.binding {
            None => self.deps.clone(),
            Some(binding) => function_deps(binding, function).await,
        }
    }
}

/// The ports of `function` on the moto stack `binding`, its clients signing as the function's role.
async fn function_deps(binding: &Binding, function: &str) -> Deps {
    let config = crate::aws::moto::sdk_config_as(&crate::aws::calls::role_key(function)).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), binding.table.clone());
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let secrets = SecretsManager::new(client, format!("{}/", binding.stack), CachePolicy::default());
    Deps::new(Arc::new(store), Arc::new(secrets))
}

fn keep_fixture_secrets(secrets: &[(&str, serde_json::Value)]) {
    for (_, value) in secrets {
        crate::assertions::leaks::fixture_secrets(crate::assertions::leaks::secret_values(value));
    }
}

/// A fresh stack on moto: its table and `secrets` (name to JSON value) under `<stack>/`, created by the harness.
pub async fn create_stack(secrets: &[(&str, serde_json::Value)]) -> (Binding, DynamoStore) {
    keep_fixture_secrets(secrets);
    let binding = Binding::new(&crate::unique_name("stack"));
    let config = crate::aws::moto::sdk_config().await;
    crate::aws::moto::create_table(&config, &binding.table).await;
    for (name, value) in secrets {
        crate::aws::moto::put_secret(&config, &format!("{}/{name}", binding.stack), &value.to_string()).await;
    }
    (binding.clone(), DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), binding.table))
}

/// Fresh ports holding `secrets`, for the function whose crate's tests are running.
pub async fn ports(backend: Backend, secrets: &[(&str, serde_json::Value)]) -> Ports {
    crate::assertions::leaks::capture_tracing();
    match backend {
        Backend::Embedded => {
            keep_fixture_secrets(secrets);
            let dir = std::env::temp_dir().join(crate::unique_name("store"));
            let store: Arc<dyn Store> = Arc::new(
                shared::ports::store::embedded::EmbeddedStore::open(&dir.join("store.redb")).expect("open store"),
            );
            let json = secrets.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
            let secrets = FileSecrets::from_json(serde_json::Value::Object(json)).expect("secrets");
            Ports { deps: Deps::new(store.clone(), Arc::new(secrets)), admin: store, binding: None }
        }
        Backend::Aws => {
            let (binding, admin) = create_stack(secrets).await;
            let deps = function_deps(&binding, &crate::aws::moto::function_under_test()).await;
            Ports { deps, admin: Arc::new(admin), binding: Some(binding) }
        }
    }
}

/// A function deployed on a test stack as the translated template configures it.
pub struct Deployment {
    pub binding: Binding,
    pub spec: FunctionSpec,
    /// The stack's table, as the harness.
    pub store: DynamoStore,
}

impl Deployment {
    /// `function` (its binary name) of environment `translated` on a fresh stack holding `secrets`, with
    /// `parameters` overriding the environment's.
    pub async fn create(
        translated: &Translated,
        function: &str,
        secrets: &[(&str, serde_json::Value)],
        parameters: &[(&str, &str)],
    ) -> Self {
        let (mut binding, store) = create_stack(secrets).await;
        for (name, value) in parameters {
            binding = binding.with_parameter(name, value);
        }
        let spec = Resolver::new(translated, &binding).function_named(function);
        Self { binding, spec, store }
    }

    /// Everything the function's process sees: what Lambda sets from the function's configuration
    /// (`AWS_LAMBDA_LOG_FORMAT` and `AWS_LAMBDA_LOG_LEVEL` from `LoggingConfig`, the memory size), the template's
    /// variables, and moto's endpoint with the function role's credentials.
    pub fn process_env(&self) -> Vec<(String, String)> {
        let mut env = vec![("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(), self.spec.memory_mb.to_string())];
        if let Some(format) = &self.spec.log_format {
            env.push(("AWS_LAMBDA_LOG_FORMAT".to_owned(), format.clone()));
        }
        if let Some(level) = &self.spec.application_log_level {
            env.push(("AWS_LAMBDA_LOG_LEVEL".to_owned(), level.clone()));
        }
        env.extend(self.spec.env_pairs());
        env.extend(crate::aws::moto::aws_env_as(&crate::aws::calls::role_key(&self.spec.binary)));
        env
    }
}

/// The development secrets of `local/secrets.json` (the values `events/` are signed with).
pub fn local_secrets() -> serde_json::Value {
    let path = crate::workspace_root().join("local/secrets.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("local/secrets.json")).expect("secrets JSON")
}
