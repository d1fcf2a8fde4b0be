//! `switchyard secrets init`: every secret the stack reads, with strong random values where we choose them and
//! recognisable placeholders where a partner gives them; printed as a secrets file, or created in Secrets Manager.

use serde_json::{Value, json};
use shared::crypto::random_token;

#[derive(clap::Args)]
pub struct InitArgs {
    /// Create the secrets in Secrets Manager under `--prefix` (existing ones are kept) instead of printing them.
    #[arg(long)]
    create: bool,
    /// Secrets Manager name prefix of the stack (`<stack>/`).
    #[arg(long, env = "SWITCHYARD_SECRET_PREFIX", default_value = "")]
    prefix: String,
}

/// The Sber redirect URIs (production and testing) from Sber's documentation.
const SBER_REDIRECTS: [&str; 2] =
    ["https://gateway.iot.sberdevices.ru/gateway/v1/binder/backward", "https://gateway-ift-le.iot.pd.sberdevices.ru/"];

/// Every secret by name. 32 random bytes (256 bits) for each value we choose.
pub fn fresh_secrets(now: i64) -> Vec<(&'static str, Value)> {
    let kid = shared::time_text::rfc3339(now)[..10].to_owned();
    vec![
        ("retailcrm", json!({"secret": "replace-with-the-module-secret-from-the-retailcrm-partner-account"})),
        ("smartme", json!({"username": "switchyard", "password": random_token(32)})),
        ("sber", json!({"api_key": "replace-with-the-project-api-key-from-smartmarket-studio"})),
        (
            "smallcase",
            json!({"gateway_name": "replace-with-gateway-name", "secret": "replace-with-smallcase-secret",
                   "api_secret": "replace-with-smallcase-api-secret"}),
        ),
        (
            "oauth",
            json!({
                "issuer": "",
                "keys": [{"kid": kid, "secret": random_token(32)}],
                "clients": [{"client_id": "sber", "client_secret": random_token(32), "redirect_uris": SBER_REDIRECTS,
                             "scopes": ["smarthome"], "audience": "sber"}]
            }),
        ),
        ("webhook/schurter", json!({"scheme": "schurter", "secrets": [random_token(32)], "tolerance_s": 300})),
        (
            "smartme-oauth",
            json!({"client_id": "replace-with-the-smartme-oauth-client-id",
                   "client_secret": "replace-with-the-smartme-oauth-client-secret"}),
        ),
        (
            "oidc",
            json!({"client_id": "replace-with-the-oidc-client-id", "client_secret": "replace-with-the-oidc-client-secret"}),
        ),
        ("sealing", json!({"keys": [{"kid": kid, "secret": random_token(32)}]})),
    ]
}

pub async fn run(args: &InitArgs) -> Result<(), String> {
    let secrets = fresh_secrets(shared::ports::clock::now_epoch());
    if !args.create {
        let file: serde_json::Map<String, Value> = secrets.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        println!("{}", serde_json::to_string_pretty(&Value::Object(file)).unwrap_or_default());
        return Ok(());
    }
    let vars = shared::env::Vars::from_process();
    let config = shared::ports::aws::sdk_config(&vars).await.map_err(|e| e.to_string())?;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    for (name, value) in secrets {
        let id = format!("{}{name}", args.prefix);
        match client.create_secret().name(&id).secret_string(value.to_string()).send().await {
            Ok(_) => println!("created {id}"),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_exists_exception()) => {
                println!("kept {id} (it exists)")
            }
            Err(e) => {
                return Err(format!("cannot create {id}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)));
            }
        }
    }
    Ok(())
}
