//! Where an operator command reads secrets: the local secrets file, or a deployed stack's Secrets Manager secrets
//! (by `--secret-prefix`, or by `--stack` from the stack's outputs).

use crate::deployed::DeployedStack;
use shared::ports::secrets::{CachePolicy, FileSecrets, Secrets, SecretsManager};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct SecretArgs {
    /// Secrets file (the one `serve --secrets` uses).
    #[arg(long, default_value = "local/secrets.json")]
    secrets: PathBuf,
    /// A deployed stack's Secrets Manager instead: its name prefix (`<stack>/`, the `SecretPrefix` output).
    #[arg(long, env = "SWITCHYARD_SECRET_PREFIX")]
    secret_prefix: Option<String>,
    /// A deployed stack by name: its secret prefix (and URLs) from its CloudFormation outputs.
    #[arg(long, env = "SWITCHYARD_STACK", conflicts_with = "secret_prefix")]
    stack: Option<String>,
}

impl SecretArgs {
    /// Whether the secrets are a deployed stack's (Secrets Manager), not a file.
    pub fn is_deployed(&self) -> bool {
        self.stack.is_some() || self.secret_prefix.is_some()
    }

    /// The secrets, and the deployed stack when `--stack` named one.
    pub async fn open(&self) -> Result<(Arc<dyn Secrets>, Option<DeployedStack>), String> {
        match &self.stack {
            Some(name) => {
                let stack = DeployedStack::describe(name).await?;
                Ok((open(&self.secrets, Some(stack.secret_prefix()?)).await?, Some(stack)))
            }
            None => Ok((open(&self.secrets, self.secret_prefix.as_deref()).await?, None)),
        }
    }
}

/// Secrets Manager under `prefix` when one is given (region and credentials from the usual AWS environment),
/// else the secrets file.
pub async fn open(file: &Path, prefix: Option<&str>) -> Result<Arc<dyn Secrets>, String> {
    match prefix {
        Some(prefix) => {
            let vars = shared::env::Vars::from_process();
            let config = shared::ports::aws::sdk_config(&vars).await.map_err(|e| e.to_string())?;
            let client = aws_sdk_secretsmanager::Client::new(&config);
            Ok(Arc::new(SecretsManager::new(client, prefix.to_owned(), CachePolicy::default())))
        }
        None => Ok(Arc::new(FileSecrets::load(file)?)),
    }
}
