//! The local stand-in for the table's stream and `notify`'s event source mapping. The store reports every change;
//! the ones the template's filter passes (meters' latest states, owner items) go to `notify` in order, retried as
//! Lambda retries them, and what fails every retry is logged as the dead-letter queue would receive it.
//!
//! The runner drains it in the background; a directory command drains it before it exits, so `switchyard device
//! link` tells Sber as it does on a deployed stack.

use shared::Deps;
use shared::env::Vars;
use shared::ports::store::Store;
use shared::ports::store::changes::{Change, ChangeFeed, deliver};
use shared::telemetry::NoMetrics;
use std::sync::{Arc, Mutex};

/// Lambda's retries of a failing batch in the template (`MaximumRetryAttempts`).
const MAX_RETRIES: u32 = 5;

pub struct LocalStream {
    pending: Arc<Mutex<Vec<Change>>>,
    wake: Arc<tokio::sync::Notify>,
    notify: switchyard_notify::NotifyFunction,
}

impl LocalStream {
    /// `store` wrapped so that its changes reach `notify`, and the stream that carries them.
    pub fn over(
        vars: &Vars,
        store: Arc<dyn Store>,
        secrets: Arc<dyn shared::ports::secrets::Secrets>,
    ) -> Result<(Arc<dyn Store>, Self), String> {
        let pending = Arc::new(Mutex::new(Vec::new()));
        let wake = Arc::new(tokio::sync::Notify::new());
        let sink = {
            let (pending, wake) = (pending.clone(), wake.clone());
            Arc::new(move |changes: Vec<Change>| {
                let relevant = changes.into_iter().filter(shared::partners::sber::notify::is_relevant);
                let mut queue = pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let before = queue.len();
                queue.extend(relevant);
                if queue.len() > before {
                    wake.notify_one();
                }
            })
        };
        let feed: Arc<dyn Store> = Arc::new(ChangeFeed::observed_by(store.clone(), store, sink));
        // notify writes through the feed too (a device's settled model): its own changes come back to it, as on AWS.
        let deps = Deps::new(feed.clone(), secrets);
        let notify = switchyard_notify::NotifyFunction::new(deps, vars)
            .map_err(|e| format!("notify: {e}"))?
            .with_sink(Arc::new(NoMetrics));
        Ok((feed, Self { pending, wake, notify }))
    }

    /// Delivers every change so far, and those the delivery itself makes, until none is left; answers the changes
    /// given up on after every retry (what the dead-letter queue would hold).
    pub async fn drain(&self) -> Vec<Change> {
        let mut given_up = Vec::new();
        loop {
            let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
            if batch.is_empty() {
                return given_up;
            }
            let request_id = shared::crypto::random_token(12);
            let delivered = deliver(batch, MAX_RETRIES, |event| {
                let (notify, request_id) = (&self.notify, &request_id);
                async move { notify.handle(request_id, &event).await }
            })
            .await;
            given_up.extend(delivered.dead_letters);
        }
    }

    /// Drains whenever changes arrive, until the runtime ends.
    pub async fn run(self) {
        loop {
            self.wake.notified().await;
            for change in self.drain().await {
                tracing::error!(
                    sequence = change.sequence,
                    pk = change.key.pk,
                    sk = change.key.sk,
                    "dead letter: Sber was not told of this change"
                );
            }
        }
    }
}
