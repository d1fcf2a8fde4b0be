//! `switchyard sign`: the headers a sender of a webhook source would send, so an operator can test by hand; and
//! `switchyard webhook send`: the delivery itself, signed, sent to the running runner (or any URL).

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
    let (_, headers) = signed(args).await?;
    for (name, value) in headers {
        println!("{name}: {value}");
    }
    Ok(())
}

/// The body of `args` and the headers its source's scheme signs it with.
async fn signed(args: &SignArgs) -> Result<(Vec<u8>, Vec<(String, String)>), String> {
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
    Ok((body, headers.into_iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()))
}

#[derive(clap::Args)]
pub struct SendArgs {
    #[command(flatten)]
    sign: SignArgs,
    /// The body's media type.
    #[arg(long, default_value = "application/json")]
    content_type: String,
    /// Where to send it (default: `/webhooks/<source>` on the runner serving --data).
    #[arg(long)]
    url: Option<String>,
    /// The data directory of the running runner.
    #[arg(long, default_value = ".switchyard")]
    data: PathBuf,
}

pub async fn send(args: &SendArgs) -> Result<(), String> {
    let (body, headers) = signed(&args.sign).await?;
    let url = match &args.url {
        Some(url) => url.clone(),
        None => format!("{}/webhooks/{}", crate::sandbox::Tour::read(&args.data)?.runner, args.sign.source),
    };
    let client =
        reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().map_err(|e| e.to_string())?;
    let mut request = client.post(&url).header("content-type", &args.content_type).body(body);
    for (name, value) in &headers {
        println!("{name}: {value}");
        request = request.header(name.as_str(), value.as_str());
    }
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let answer = response.text().await.unwrap_or_default();
    println!("POST {url}: {status} {}", answer.trim());
    if status.is_success() { Ok(()) } else { Err(format!("the receiver refused the delivery ({status})")) }
}
