//! The partition-heat model: the real handlers driven with one second of traffic at a path's target rate, on a
//! store that counts DynamoDB's request units per partition key ([`testkit::aws::capacity::CountingStore`] over an
//! in-memory embedded store). What it answers per path: the hottest partition's write and read units in that
//! second against DynamoDB's per-partition limits (1,000 write, 3,000 read units a second), the table's total, the
//! same second as the keys were laid out before (a layout change folds its partitions back), the calls made to
//! partners and to EventBridge (the events function run over the second's stream records), and the Lambda
//! concurrency the second keeps busy.
//!
//! Deterministic where it is asserted: the traffic is generated (delivery ids, meters, users), every key and call
//! follows from it. Only the handler time (for the concurrency estimate) is measured, and it is never asserted.

mod sber;
mod sign_in;
mod smartme;
mod webhook;

pub use sber::{sber_commands, sber_queries, state_pushes};
pub use sign_in::sign_ins;
pub use smartme::ingest_many_meters;
pub use webhook::webhook_one_source;

use lambda_http::{Body, Request, Response};
use shared::Deps;
use shared::edge::handler::Handler;
use shared::env::Vars;
use shared::ports::event_bus::{EVENTS_PER_CALL, EventBus, OutboundEvent, PublishError};
use shared::ports::secrets::FileSecrets;
use shared::ports::store::changes::{Change, ChangeFeed, to_stream_event};
use shared::ports::store::embedded::EmbeddedStore;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::aws::capacity::{CountingStore, Load, Units};

/// DynamoDB's limits per partition, per second.
pub const PARTITION_WRITE_UNITS: u64 = 1_000;
pub const PARTITION_READ_UNITS: u64 = 3_000;

/// What a DynamoDB call adds to a warm invocation's duration in the concurrency estimate: DynamoDB's single-digit
/// millisecond latency inside a region, at its upper half (an assumption, not measured here).
pub const DYNAMODB_CALL_MS: f64 = 5.0;

/// What a call to a partner's API (smart-me, Sber) adds: an assumption for a nearby HTTPS API, not measured.
pub const PARTNER_CALL_MS: f64 = 100.0;

/// The stream's batch size for notify and events (the template's `BatchSize`).
pub(crate) const STREAM_BATCH: usize = 100;

/// Who an outbound call goes to.
pub const SMARTME: &str = "smart-me API";
pub const SBER: &str = "Sber API";
pub const EVENTBRIDGE: &str = "EventBridge PutEvents";

/// What one request of a path is billed as: its sandbox's memory, and the Lambda invocations and API Gateway
/// requests it takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Billing {
    pub memory_mb: u32,
    pub invocations: f64,
    pub api_requests: f64,
}

impl Billing {
    /// One API request to one function at the template's default 128 MB.
    pub const ONE_REQUEST: Billing = Billing { memory_mb: 128, invocations: 1.0, api_requests: 1.0 };
}

/// One path's second of traffic, as the model saw it.
#[derive(Debug, Clone)]
pub struct Heat {
    pub path: &'static str,
    /// Requests in the second (the target rate).
    pub requests_per_s: u64,
    /// What one request is.
    pub request: String,
    /// The hottest partition (nearest its limit) and its units in the second.
    pub hottest: (String, Units),
    /// The same, with the keys as laid out before the latest layout change.
    pub hottest_before: (String, Units),
    /// Every partition's units, summed: the table's load in the second.
    pub table: Units,
    /// How many partitions took load.
    pub partitions: usize,
    /// DynamoDB calls (round trips) the handlers made in the second.
    pub store_calls: u64,
    /// Calls made in the second to partners' APIs, by partner (none: absent).
    pub partner_calls: BTreeMap<&'static str, u64>,
    /// Events the events function published for the second's stream records, and its PutEvents calls.
    pub events_out: (u64, u64),
    /// The handlers' own time for the second in this process, on an in-memory store (measured; never asserted).
    pub handler_time: Duration,
    /// What one request is billed as.
    pub billing: Billing,
}

impl Heat {
    /// The hottest partition's share of its limit (the larger of writes and reads).
    pub fn hottest_share(&self) -> f64 {
        share(&self.hottest.1)
    }

    pub fn hottest_share_before(&self) -> f64 {
        share(&self.hottest_before.1)
    }

    /// Lambda concurrency the second keeps busy: every request's warm duration added up (rate x mean duration), a
    /// duration being the handler's time here plus [`DYNAMODB_CALL_MS`] per DynamoDB call and [`PARTNER_CALL_MS`]
    /// per partner call, as if none overlapped (an upper bound: a Sber command's meters switch concurrently).
    pub fn concurrency(&self) -> f64 {
        let partner_calls: u64 =
            self.partner_calls.iter().filter(|(who, _)| **who != EVENTBRIDGE).map(|(_, n)| n).sum();
        (self.handler_time.as_secs_f64() * 1000.0
            + self.store_calls as f64 * DYNAMODB_CALL_MS
            + partner_calls as f64 * PARTNER_CALL_MS)
            / 1000.0
    }
}

fn share(units: &Units) -> f64 {
    (units.write as f64 / PARTITION_WRITE_UNITS as f64).max(units.read as f64 / PARTITION_READ_UNITS as f64)
}

/// The partition nearest its limit (writes against the write limit, reads against the read limit).
fn hottest(load: &BTreeMap<String, Units>) -> (String, Units) {
    load.iter()
        .max_by(|(_, a), (_, b)| share(a).total_cmp(&share(b)).then((a.write, a.read).cmp(&(b.write, b.read))))
        .map(|(pk, u)| (pk.clone(), *u))
        .unwrap_or_default()
}

/// A bus that only counts what it is given, as EventBridge's PutEvents would take it (10 entries a call).
#[derive(Default)]
struct CountingBus {
    events: AtomicU64,
    calls: AtomicU64,
}

#[async_trait::async_trait]
impl EventBus for CountingBus {
    async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PublishError> {
        self.events.fetch_add(events.len() as u64, Ordering::Relaxed);
        self.calls.fetch_add(events.len().div_ceil(EVENTS_PER_CALL) as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// One path's model: the functions' ports on a counting in-memory store whose writes are also fed, as the table's
/// stream would be, to the events function when the second is over.
pub(crate) struct Model {
    /// The counted store; setup writes through it too, and [`Model::settle`] forgets them.
    pub store: Arc<CountingStore<EmbeddedStore>>,
    pub deps: Deps,
    /// The local stack's secrets (the runner's `local/secrets.json`).
    pub local: serde_json::Value,
    changes: Arc<Mutex<Vec<Change>>>,
    handler_time: Duration,
}

impl Model {
    pub fn new() -> Self {
        let embedded = EmbeddedStore::in_memory().expect("an in-memory store");
        let store = Arc::new(CountingStore::new(embedded.clone()));
        let changes: Arc<Mutex<Vec<Change>>> = Arc::default();
        let sink = changes.clone();
        // The stream's images are read from the store itself, uncounted: reading them is the stream's cost.
        let feed = ChangeFeed::observed_by(
            store.clone(),
            Arc::new(embedded),
            Arc::new(move |batch| sink.lock().expect("the changes").extend(batch)),
        );
        let local = testkit::aws::harness::local_secrets();
        let secrets = Arc::new(FileSecrets::from_json(local.clone()).expect("the secrets"));
        Self { store, deps: Deps::new(Arc::new(feed), secrets), local, changes, handler_time: Duration::ZERO }
    }

    /// Forgets what was counted so far (setup is not part of the second).
    pub fn settle(&mut self) {
        self.store.take_load();
        self.changes.lock().expect("the changes").clear();
        self.handler_time = Duration::ZERO;
    }

    /// The stream records written since the last [`Model::settle`] that a stream function is handed (`relevant`:
    /// its code's own filter, which a test holds equal to the template's event filter).
    pub fn take_changes(&self, relevant: fn(&Change) -> bool) -> Vec<Change> {
        let mut changes = self.changes.lock().expect("the changes");
        std::mem::take(&mut *changes).into_iter().filter(relevant).collect()
    }

    /// `handler`'s answer to `request`, its time added to the second's.
    pub async fn call(&mut self, handler: &impl Handler, request: Request) -> Response<Body> {
        self.timed(handler.handle(request)).await
    }

    /// Runs `work` as part of the second (its time counted).
    pub async fn timed<T>(&mut self, work: impl std::future::Future<Output = T>) -> T {
        let started = Instant::now();
        let done = work.await;
        self.handler_time += started.elapsed();
        done
    }

    /// The second's heat: its load, folded by `fold` for the layout before, with the calls made to partners; the
    /// second's stream records handed to the events function in the stream's batches.
    pub async fn heat(
        self,
        path: &'static str,
        (requests_per_s, request): (u64, String),
        partner_calls: BTreeMap<&'static str, u64>,
        fold: fn(&str) -> String,
    ) -> Heat {
        let Load { partitions: load, calls: store_calls } = self.store.take_load();
        let mut before: BTreeMap<String, Units> = BTreeMap::new();
        for (pk, units) in &load {
            let folded = before.entry(fold(pk)).or_default();
            folded.read += units.read;
            folded.write += units.write;
        }
        let table = load
            .values()
            .fold(Units::default(), |sum, u| Units { read: sum.read + u.read, write: sum.write + u.write });
        let events_out = events_out(&self.take_changes(shared::partners::outbound_events::is_relevant)).await;
        let mut partner_calls = partner_calls;
        if events_out.1 > 0 {
            partner_calls.insert(EVENTBRIDGE, events_out.1);
        }
        Heat {
            path,
            requests_per_s,
            request,
            hottest: hottest(&load),
            hottest_before: hottest(&before),
            table,
            partitions: load.len(),
            store_calls,
            partner_calls,
            events_out,
            handler_time: self.handler_time,
            billing: Billing::ONE_REQUEST,
        }
    }
}

/// The events function over `changes` (those the stream's filter passes) in the stream's batches: the events
/// published and PutEvents calls made.
async fn events_out(changes: &[Change]) -> (u64, u64) {
    let bus = Arc::new(CountingBus::default());
    let events = switchyard_events::EventsFunction::new(bus.clone(), &Vars::default())
        .with_sink(Arc::new(shared::telemetry::NoMetrics));
    for batch in changes.chunks(STREAM_BATCH) {
        let answer = events.handle("model", &to_stream_event(batch)).await;
        assert_eq!(answer, serde_json::json!({"batchItemFailures": []}), "the bus took every event");
    }
    (bus.events.load(Ordering::Relaxed), bus.calls.load(Ordering::Relaxed))
}

/// A path whose keys did not change layout: its partitions are their own "before".
fn unchanged(pk: &str) -> String {
    pk.to_owned()
}
