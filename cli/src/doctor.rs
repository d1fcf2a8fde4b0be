//! `switchyard doctor`: every secret the stack reads, checked the way the functions will read it (their own
//! loaders), in a secrets file or a deployed stack's Secrets Manager: missing, unreadable, placeholders left from
//! `secrets init` or the template, development values in a deployed stack. Values are never printed.

use crate::secret_source::SecretArgs;
use serde_json::Value;
use shared::ports::secrets::{SecretError, Secrets};

#[derive(clap::Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    secrets: SecretArgs,
}

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Ok,
    Warning,
    Error,
}

struct Finding {
    secret: &'static str,
    level: Level,
    message: String,
}

/// Which secrets the stack reads, and whether one must exist.
const SECRETS: [(&str, bool); 10] = [
    ("retailcrm", true),
    ("smartme", true),
    ("sber", true),
    ("oauth", true),
    ("smallcase", true),
    ("webhook/schurter", true),
    ("sealing", false),
    ("smartme-oauth", false),
    ("oidc", false),
    ("webhook/github", false),
];

/// Values that say someone still has to fill them in.
fn placeholder(text: &str) -> bool {
    let lower = text.trim().to_ascii_lowercase();
    lower.is_empty()
        || ["replace", "changeme", "change-me", "placeholder", "todo", "xxx"].iter().any(|p| lower.contains(p))
        || (lower.starts_with('<') && lower.ends_with('>'))
}

/// Every string value of `document` at any depth, with its path (`clients[0].client_secret`).
fn strings(document: &Value, path: String, out: &mut Vec<(String, String)>) {
    match document {
        Value::String(text) => out.push((path, text.clone())),
        Value::Array(items) => {
            for (n, item) in items.iter().enumerate() {
                strings(item, format!("{path}[{n}]"), out);
            }
        }
        Value::Object(map) => {
            for (key, value) in map {
                let path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                strings(value, path, out);
            }
        }
        _ => {}
    }
}

/// The code's own reading of `name` (the loader a function uses), as a problem if it fails.
async fn loads(name: &str, secrets: &dyn Secrets) -> Result<(), String> {
    let describe = |e: SecretError| e.to_string();
    match name {
        "oauth" => shared::identity::oauth::OAuthSettings::load(secrets, Some("https://doctor.invalid"))
            .await
            .map(drop)
            .map_err(describe),
        "smartme" => shared::partners::smartme::secret::SmartMeSecret::load(secrets).await.map(drop).map_err(describe),
        "smallcase" => shared::partners::smallcase::SmallcaseSecret::load(secrets).await.map(drop).map_err(describe),
        _ => Ok(()),
    }
}

async fn check(name: &'static str, required: bool, secrets: &dyn Secrets, deployed: bool) -> Vec<Finding> {
    let finding = |level, message: String| Finding { secret: name, level, message };
    let document: Value = match secrets.get(name).await {
        Ok(value) => match value.json(name) {
            Ok(document) => document,
            Err(error) => return vec![finding(Level::Error, error.to_string())],
        },
        Err(SecretError::NotFound(_)) if !required => {
            return vec![finding(Level::Ok, "absent (needed only when its feature is used)".into())];
        }
        Err(error) => return vec![finding(Level::Error, error.to_string())],
    };
    let mut findings = Vec::new();
    if let Err(problem) = loads(name, secrets).await {
        findings.push(finding(Level::Error, format!("the functions cannot read it: {problem}")));
    }
    let mut values = Vec::new();
    strings(&document, String::new(), &mut values);
    for (path, text) in &values {
        if placeholder(text) {
            findings.push(finding(Level::Error, format!("`{path}` is still a placeholder")));
        } else if text.contains("not-for-production") || text.starts_with("dev-") {
            let level = if deployed { Level::Error } else { Level::Warning };
            findings.push(finding(level, format!("`{path}` holds a development value")));
        }
    }
    if name == "oauth" && document["clients"].as_array().is_none_or(Vec::is_empty) {
        findings.push(finding(Level::Error, "no client: nothing can link an account (add Sber's)".into()));
    }
    if name == "smartme" && document.get("api_key").is_none() && document.get("api_username").is_none() {
        findings.push(finding(
            Level::Warning,
            "no REST credentials (api_key): operator-linked meters cannot be switched or asked what switches them"
                .into(),
        ));
    }
    if findings.is_empty() {
        findings.push(finding(Level::Ok, "readable, nothing left to fill in".into()));
    }
    findings
}

pub async fn run(args: &DoctorArgs) -> Result<(), String> {
    let (secrets, stack) = args.secrets.open().await?;
    let deployed = stack.is_some() || args.secrets.is_deployed();
    let mut worst = Level::Ok;
    for (name, required) in SECRETS {
        for Finding { secret, level, message } in check(name, required, secrets.as_ref(), deployed).await {
            let tag = match level {
                Level::Ok => "ok",
                Level::Warning => "warning",
                Level::Error => "ERROR",
            };
            println!("{tag}\t{secret}\t{message}");
            worst = worst.max(level);
        }
    }
    if worst == Level::Error { Err("some secrets would not work; see the ERROR lines".into()) } else { Ok(()) }
}
