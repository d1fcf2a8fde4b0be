//! Where an operator command reads secrets: the local secrets file, or a deployed stack's Secrets Manager secrets.

use shared::ports::secrets::{CachePolicy, FileSecrets, Secrets, SecretsManager};
use std::path::Path;
use std::sync::Arc;

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
