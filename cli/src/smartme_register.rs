//! `switchyard smartme register`: registers our realtime receiver with smart-me.

use shared::partners::smartme::client::SmartMeClient;
use shared::partners::smartme::registration::{self, Scope};
use shared::partners::smartme::secret::SmartMeSecret;
use std::time::Duration;

#[derive(clap::Args)]
pub struct RegisterArgs {
    /// Our receiver's URL (the stack's `SmartMeRealtimeUrl` output; with `--stack`, read from it).
    #[arg(long, required_unless_present = "stack")]
    api_url: Option<String>,
    /// Register one meter by its smart-me device id (default: every device of the smart-me user).
    #[arg(long, conflicts_with = "serial")]
    meter: Option<String>,
    /// Register one meter by its serial number.
    #[arg(long)]
    serial: Option<u64>,
    /// smart-me's REST API.
    #[arg(long, env = "SMARTME_API_URL", default_value = "https://smart-me.com")]
    smartme_api: String,
    /// Where the `smartme` secret is read (realtime `username`/`password`, REST `api_key` or
    /// `api_username`/`api_password`).
    #[command(flatten)]
    secrets: crate::secret_source::SecretArgs,
}

pub async fn run(args: &RegisterArgs) -> Result<(), String> {
    let (secrets, stack) = args.secrets.open().await?;
    let api_url = match (&args.api_url, &stack) {
        (Some(url), _) => url.clone(),
        (None, Some(stack)) => stack.output("SmartMeRealtimeUrl")?.to_owned(),
        (None, None) => return Err("--api-url (or --stack) is required".into()),
    };
    if url::Url::parse(&api_url).map(|u| u.scheme() != "https" && u.scheme() != "http").unwrap_or(true) {
        return Err(format!("`{api_url}` is not an http(s) URL"));
    }
    let secret = SmartMeSecret::load(secrets.as_ref()).await.map_err(|e| e.to_string())?;
    let Some((username, password)) = secret.realtime_credentials() else {
        return Err("the smartme secret needs the realtime `username` and `password`".into());
    };
    let auth = secret
        .rest_auth()
        .ok_or("the smartme secret needs `api_key` (or `api_username` and `api_password`) for smart-me's REST API")?;
    let scope = match (&args.meter, args.serial) {
        (Some(meter), _) => {
            Scope::Meter(shared::identity::users::normalize_device_id(meter).map_err(|e| e.to_string())?)
        }
        (None, Some(serial)) => Scope::Serial(serial),
        (None, None) => Scope::User,
    };
    let body = registration::body(&api_url, username, password, &scope);
    let rest = SmartMeClient::new(&args.smartme_api, Duration::from_secs(10));
    let answer = rest.register_realtime(&auth.header(), &body).await.map_err(|e| e.to_string())?;
    let id = answer.get("Id").and_then(|v| v.as_str()).unwrap_or("(no id in the answer)");
    println!("registered {api_url} for {scope:?}: {id}");
    Ok(())
}
