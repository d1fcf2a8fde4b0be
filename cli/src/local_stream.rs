//! The local stand-in for the table's stream and its two readers' event source mappings: `notify` (meters' latest
//! states and owner items, to Sber) and `events` (what makes an outbound event, to the local event bus, a file that
//! `switchyard events tail` reads). The store reports every change; each reader gets the ones its template filter
//! passes, in order, retried as Lambda retries them, and what fails every retry is logged as the dead-letter queue
//! would receive it.
//!
//! The runner drains it in the background; a directory command drains it before it exits, so `switchyard device
//! link` tells Sber (and the event bus) as it does on a deployed stack. The runner also stands in for the
//! template's schedule: `notify`'s silence check runs every [`SILENCE_CHECK_EVERY`].

use shared::Deps;
use shared::env::Vars;
use shared::ports::event_bus::EventBus;
use shared::ports::store::Store;
use shared::ports::store::changes::{Change, ChangeFeed, deliver};
use shared::telemetry::NoMetrics;
use std::sync::{Arc, Mutex};

/// Lambda's retries of a failing batch in the template (`MaximumRetryAttempts`).
const MAX_RETRIES: u32 = 5;

/// How often the runner runs the silence check (the template's schedule is every 5 minutes; a minute shows a
/// silent meter going offline sooner while trying things out, and a check finds nothing to do between buckets).
pub const SILENCE_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

enum Reader {
    Notify(Box<switchyard_notify::NotifyFunction>),
    Events(switchyard_events::EventsFunction),
}

impl Reader {
    async fn handle(&self, request_id: &str, event: &serde_json::Value) -> serde_json::Value {
        match self {
            Reader::Notify(notify) => notify.handle(request_id, event).await,
            Reader::Events(events) => events.handle(request_id, event).await,
        }
    }
}

/// One reader's share of the stream: the changes its template filter passes, and what losing one means.
struct Lane {
    reader: &'static str,
    wants: fn(&Change) -> bool,
    lost: &'static str,
    pending: Mutex<Vec<Change>>,
}

impl Lane {
    fn new(reader: &'static str, wants: fn(&Change) -> bool, lost: &'static str) -> Self {
        Self { reader, wants, lost, pending: Mutex::new(Vec::new()) }
    }
}

/// A change a reader (`notify`, `events`) gave up on after every retry, with what that means.
pub struct DeadLetter {
    pub reader: &'static str,
    pub change: Change,
    pub lost: &'static str,
}

pub struct LocalStream {
    lanes: Arc<Vec<Lane>>,
    /// The reader of each lane, in the same order.
    readers: Vec<Reader>,
    wake: Arc<tokio::sync::Notify>,
}

impl LocalStream {
    /// `store` wrapped so that its changes reach `notify` and, with `bus`, the `events` function; and the stream
    /// that carries them.
    pub fn over(
        vars: &Vars,
        store: Arc<dyn Store>,
        secrets: Arc<dyn shared::ports::secrets::Secrets>,
        bus: Option<Arc<dyn EventBus>>,
    ) -> Result<(Arc<dyn Store>, Self), String> {
        let mut lanes =
            vec![Lane::new("notify", shared::partners::sber::notify::is_relevant, "Sber was not told of this change")];
        if bus.is_some() {
            lanes.push(Lane::new(
                "events",
                shared::partners::outbound_events::is_relevant,
                "the event bus never took this change's event",
            ));
        }
        let lanes = Arc::new(lanes);
        let wake = Arc::new(tokio::sync::Notify::new());
        let sink = {
            let (lanes, wake) = (lanes.clone(), wake.clone());
            Arc::new(move |changes: Vec<Change>| {
                let mut woke = false;
                for lane in lanes.iter() {
                    let relevant = changes.iter().filter(|c| (lane.wants)(c)).cloned();
                    let mut queue = lane.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    let before = queue.len();
                    queue.extend(relevant);
                    woke |= queue.len() > before;
                }
                if woke {
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
        let mut readers = vec![Reader::Notify(Box::new(notify))];
        if let Some(bus) = bus {
            readers
                .push(Reader::Events(switchyard_events::EventsFunction::new(bus, vars).with_sink(Arc::new(NoMetrics))));
        }
        Ok((feed, Self { lanes, readers, wake }))
    }

    /// Delivers every change so far, and those the deliveries themselves make, until none is left; answers the
    /// changes given up on after every retry (what the dead-letter queues would hold).
    pub async fn drain(&self) -> Vec<DeadLetter> {
        let mut given_up = Vec::new();
        loop {
            let mut delivered_any = false;
            for (lane, reader) in self.lanes.iter().zip(&self.readers) {
                let batch = std::mem::take(&mut *lane.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
                if batch.is_empty() {
                    continue;
                }
                delivered_any = true;
                let request_id = shared::crypto::random_token(12);
                let delivered = deliver(batch, MAX_RETRIES, |event| {
                    let request_id = &request_id;
                    async move { reader.handle(request_id, &event).await }
                })
                .await;
                let (name, lost) = (lane.reader, lane.lost);
                given_up.extend(delivered.dead_letters.into_iter().map(|change| DeadLetter {
                    reader: name,
                    change,
                    lost,
                }));
            }
            if !delivered_any {
                return given_up;
            }
        }
    }

    /// The template's schedule, once: `notify`'s silence check.
    pub async fn check_silence(&self) {
        let scheduled = serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        for reader in &self.readers {
            if let Reader::Notify(notify) = reader {
                notify.handle(&shared::crypto::random_token(12), &scheduled).await;
            }
        }
    }

    /// Drains whenever changes arrive, and runs the silence check on its schedule, until the runtime ends.
    pub async fn run(self) {
        let mut schedule = tokio::time::interval(SILENCE_CHECK_EVERY);
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = schedule.tick() => self.check_silence().await,
            }
            for DeadLetter { change, lost, .. } in self.drain().await {
                tracing::error!(
                    sequence = change.sequence,
                    pk = change.key.pk,
                    sk = change.key.sk,
                    "dead letter: {lost}"
                );
            }
        }
    }
}
