//! `switchyard webhook list`: the newest verified webhooks stored for a source (`webhook send` is in `sign`).

use crate::directory::StoreArgs;
use crate::output::OutputArgs;
use base64::Engine;
use serde_json::{Value, json};
use shared::partners::webhooks::stored::StoredEvent;

#[derive(clap::Subcommand)]
pub enum WebhookCommand {
    /// The newest stored deliveries of a source, newest first.
    List {
        /// The webhook source (the `{source}` of `/webhooks/{source}`).
        #[arg(long)]
        source: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Send a delivery as its source would: the body of a file, signed for the source's scheme, every header.
    Send(crate::sign::SendArgs),
}

/// A delivery as printed: the body as text when it is UTF-8 (`body`), else base64 (`bodyBase64`).
fn record(event: &StoredEvent) -> Value {
    let mut record = json!({
        "source": event.source,
        "scheme": event.scheme,
        "deliveryId": event.delivery_id,
        "receivedAt": shared::time_text::rfc3339(event.received_at),
        "headers": event.headers,
        "bytes": event.body.len(),
    });
    match std::str::from_utf8(&event.body) {
        Ok(text) => record["body"] = json!(text),
        Err(_) => record["bodyBase64"] = json!(base64::engine::general_purpose::STANDARD.encode(&event.body)),
    }
    record
}

pub async fn run(command: WebhookCommand) -> Result<(), String> {
    let (source, limit, store, output) = match command {
        WebhookCommand::List { source, limit, store, output } => (source, limit, store, output),
        WebhookCommand::Send(args) => return crate::sign::send(&args).await,
    };
    let store = store.open().await?;
    let events = StoredEvent::newest(store.as_ref(), &source, limit).await.map_err(|e| e.to_string())?;
    output.print(&events.iter().map(record).collect::<Vec<_>>(), &["receivedAt", "deliveryId", "scheme", "bytes"])
}
