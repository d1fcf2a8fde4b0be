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

/// Where the whole suite's logs and fixture secrets are collected: `SWITCHYARD_TEST_LOGS` (set by `scripts/test`,
/// checked by `testkit/tests/log_leaks.rs` once every test has run). Without it nothing is kept.
pub fn capture_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("SWITCHYARD_TEST_LOGS").filter(|d| !d.is_empty()).map(std::path::PathBuf::from)
}

fn append(subdir: &str, name: &str, text: &str) {
    use std::io::Write;
    let Some(dir) = capture_dir() else { return };
    let dir = dir.join(subdir);
    std::fs::create_dir_all(&dir).expect("create the log capture directory");
    let mut file =
        std::fs::OpenOptions::new().create(true).append(true).open(dir.join(name)).expect("open the log capture file");
    file.write_all(text.as_bytes()).expect("keep logs");
}

/// Keeps what a process logged (a function under the runtime emulator, the local runner, a CLI command).
pub fn keep_logs(source: &str, logs: &str) {
    append("logs", &format!("{source}-{}.log", std::process::id()), logs);
}

/// Records values no log may contain: passwords, tokens, MACs a test made or saw.
pub fn fixture_secrets<S: AsRef<str>>(values: impl IntoIterator<Item = S>) {
    let lines: String = values
        .into_iter()
        .map(|v| v.as_ref().to_owned())
        .filter(|v| v.len() >= 8 && !v.contains('\n'))
        .map(|v| v + "\n")
        .collect();
    if !lines.is_empty() {
        append("fixtures", &format!("{}.txt", std::process::id()), &lines);
    }
}

/// Sends the tracing events of this test process as JSON lines to the capture directory, so logs written by
/// handlers running inside tests are checked too: ours at every level, the libraries' (AWS SDK, hyper) from DEBUG,
/// beyond any level a deployment would use. Once per process; a no-op without the directory.
pub fn capture_tracing() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let Some(dir) = capture_dir() else { return };
        let dir = dir.join("logs");
        std::fs::create_dir_all(&dir).expect("create the log capture directory");
        let exe = std::env::current_exe().ok().and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()));
        let path = dir.join(format!("{}-{}.log", exe.unwrap_or_default(), std::process::id()));
        let file = std::fs::File::create(path).expect("create the tracing capture file");
        let ours = ["shared", "switchyard", "switchyard_config", "switchyard_register", "switchyard_user"]
            .into_iter()
            .chain(["switchyard_ingest", "switchyard_webhook", "switchyard_token", "testkit"])
            .map(|c| format!(",{c}=trace"))
            .collect::<String>();
        let filter = tracing_subscriber::EnvFilter::new(format!("debug{ours}"));
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    });
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
