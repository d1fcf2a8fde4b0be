//! `switchyard sign`: the headers a sender of a webhook source would send, so an operator can test by hand.

use std::path::PathBuf;

#[derive(clap::Args)]
pub struct SignArgs {
    /// The webhook source (its secret is `webhook/<source>`).
    #[arg(long)]
    source: String,
    /// File holding the exact body to send.
    #[arg(long)]
    body: PathBuf,
    /// Where the source's secret is read.
    #[command(flatten)]
    secrets: crate::secret_source::SecretArgs,
    /// Timestamp to sign (unix seconds); now by default.
    #[arg(long)]
    timestamp: Option<i64>,
    /// Delivery id, for schemes that send one.
    #[arg(long, default_value = "msg_switchyard_test")]
    id: String,
}

#[derive(serde::Deserialize)]
struct SourceSecret {
    scheme: shared::partners::webhooks::Scheme,
    #[serde(default)]
    secrets: Vec<String>,
    secret: Option<String>,
}

pub async fn run(args: &SignArgs) -> Result<(), String> {
    if !shared::partners::webhooks::receiver::valid_source(&args.source) {
        return Err(format!("`{}` is not a source name ([a-z0-9-], at most 32)", args.source));
    }
    let body = std::fs::read(&args.body).map_err(|e| format!("cannot read {}: {e}", args.body.display()))?;
    let (secrets, _) = args.secrets.open().await?;
    let name = format!("webhook/{}", args.source);
    let secret: SourceSecret =
        secrets.get(&name).await.map_err(|e| e.to_string())?.json(&name).map_err(|e| e.to_string())?;
    let current = secret.secrets.into_iter().chain(secret.secret).next().ok_or(format!("{name} holds no secret"))?;
    let t = args.timestamp.unwrap_or_else(shared::ports::clock::now_epoch);
    let headers = shared::partners::webhooks::signing::sign_headers(secret.scheme, &current, &body, t, &args.id)?;
    for (name, value) in headers {
        println!("{name}: {value}");
    }
    Ok(())
}
