//! The runner's secrets file, read again when it changes: a secret added or rotated in `local/secrets.json` takes
//! effect at the next request that reads it, as a rotated Secrets Manager secret does once the cache lets go of it.
//!
//! Each read compares the file's modification time and length with the loaded copy's (one `stat`); a file that
//! changed is loaded again, and one that no longer parses keeps the last good copy, with a warning naming the
//! problem once (an editor's half-saved file must not take every secret away).

use shared::ports::secrets::{FileSecrets, SecretError, SecretValue, Secrets};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

/// What identifies one version of the file.
type Stamp = Option<(SystemTime, u64)>;

pub struct ReloadingSecrets {
    path: PathBuf,
    loaded: Mutex<(Stamp, FileSecrets)>,
}

impl std::fmt::Debug for ReloadingSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingSecrets").field("path", &self.path).finish()
    }
}

fn stamp(path: &std::path::Path) -> Stamp {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

impl ReloadingSecrets {
    /// The file at `path`, which must load now.
    pub fn load(path: PathBuf) -> Result<Self, String> {
        let stamped = stamp(&path);
        let secrets = FileSecrets::load(&path)?;
        Ok(Self { path, loaded: Mutex::new((stamped, secrets)) })
    }

    /// The names of the secrets the file holds now.
    pub fn names(&self) -> Vec<String> {
        self.current().names().into_iter().map(str::to_owned).collect()
    }

    /// The secrets as the file holds them now (or the last good copy).
    fn current(&self) -> FileSecrets {
        let now = stamp(&self.path);
        let mut loaded = self.loaded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if now != loaded.0 {
            match FileSecrets::load(&self.path) {
                Ok(secrets) => {
                    tracing::info!(file = %self.path.display(), "secrets file changed: loaded again");
                    loaded.1 = secrets;
                }
                Err(problem) => {
                    tracing::warn!(%problem, "secrets file changed but cannot be read: the last good copy stays")
                }
            }
            loaded.0 = now;
        }
        loaded.1.clone()
    }
}

#[async_trait::async_trait]
impl Secrets for ReloadingSecrets {
    async fn get(&self, name: &str) -> Result<SecretValue, SecretError> {
        self.current().get(name).await
    }
}
