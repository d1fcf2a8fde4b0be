//! The local stack: the six functions' handlers built over the embedded store and the secrets file, exactly as
//! their Lambda `main`s build them over DynamoDB and Secrets Manager.

use shared::Deps;
use shared::env::Vars;
use shared::http::Handler;
use shared::telemetry::{NoMetrics, Observed};
use std::collections::HashMap;
use std::sync::Arc;

/// Every function's handler, by function name.
pub fn handlers(vars: &Vars, deps: &Deps) -> Result<HashMap<&'static str, Arc<dyn Handler>>, String> {
    let config = switchyard_config::ConfigFunction::from_vars(vars).map_err(|e| format!("config: {e}"))?;
    let ingest = switchyard_ingest::IngestFunction::new(deps.clone(), vars).map_err(|e| format!("ingest: {e}"))?;
    let webhook = switchyard_webhook::WebhookFunction::new(deps.clone(), vars).map_err(|e| format!("webhook: {e}"))?;
    let register =
        switchyard_register::RegisterFunction::new(deps.clone(), vars).map_err(|e| format!("register: {e}"))?;
    let user = switchyard_user::UserFunction::new(deps.clone(), vars).map_err(|e| format!("user: {e}"))?;
    let token = switchyard_token::TokenFunction::new(deps.clone(), vars).map_err(|e| format!("token: {e}"))?;
    // Observed as in Lambda (the same request log line), without EMF output: a terminal is not CloudWatch.
    fn observed<H: Handler + 'static>(function: &'static str, handler: H, vars: &Vars) -> Arc<dyn Handler> {
        Arc::new(Observed::new(function, handler, vars).with_sink(Arc::new(NoMetrics)))
    }
    let handlers: [(&'static str, Arc<dyn Handler>); 6] = [
        ("config", observed("config", config, vars)),
        ("register", observed("register", register, vars)),
        ("user", observed("user", user, vars)),
        ("ingest", observed("ingest", ingest, vars)),
        ("webhook", observed("webhook", webhook, vars)),
        ("token", observed("token", token, vars)),
    ];
    Ok(handlers.into_iter().collect())
}

/// The local stand-in for the table's stream and `notify`'s event source mapping: the store reports every change,
/// the ones the template's filter passes (meters' latest states, owner items) go to `notify` in order, retried as
/// Lambda retries them; what fails every retry is logged as the dead-letter queue would receive it.
pub fn change_stream(
    vars: &Vars,
    store: Arc<dyn shared::store::Store>,
    secrets: Arc<dyn shared::secrets::Secrets>,
) -> Result<(Arc<dyn shared::store::Store>, tokio::task::JoinHandle<()>), String> {
    use shared::store::changes::{Change, ChangeFeed, deliver};
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Vec<Change>>();
    let sink = Arc::new(move |changes: Vec<Change>| {
        let relevant: Vec<Change> = changes.into_iter().filter(shared::sber::notify::is_relevant).collect();
        if !relevant.is_empty() {
            let _ = sender.send(relevant);
        }
    });
    let feed: Arc<dyn shared::store::Store> = Arc::new(ChangeFeed::observed_by(store.clone(), store.clone(), sink));
    let deps = Deps { store: feed.clone(), secrets };
    let notify = switchyard_notify::NotifyFunction::new(deps, vars)
        .map_err(|e| format!("notify: {e}"))?
        .with_sink(Arc::new(NoMetrics));
    let task = tokio::spawn(async move {
        while let Some(changes) = receiver.recv().await {
            let request_id = shared::crypto::random_token(12);
            let delivered = deliver(changes, 5, |event| {
                let (notify, request_id) = (&notify, &request_id);
                async move { notify.handle(request_id, &event).await }
            })
            .await;
            for change in delivered.dead_letters {
                tracing::error!(
                    sequence = change.sequence,
                    pk = change.key.pk,
                    sk = change.key.sk,
                    "dead letter: Sber was not told of this change"
                );
            }
        }
    });
    Ok((feed, task))
}
