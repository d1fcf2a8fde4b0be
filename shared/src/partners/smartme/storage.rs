//! Storing readings: one item per (device, reading time), written once, and a latest-state item per device that
//! only ever moves forward in time.

use super::batch::ReadingsBatch;
use super::latest::{self, LatestState};
use super::payload::Reading;
use crate::ports::store::{Attrs, BATCH_WRITE_LIMIT, Item, Key, Store, StoreError, Value, keys};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// What storing a post did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Readings in the post.
    pub accepted: usize,
    /// Readings not stored before (a redelivered post stores none).
    pub stored: usize,
    /// Readings found already stored (redeliveries).
    pub already_stored: usize,
    /// Meters whose latest state could not be moved to this post's newest reading (the store failed after every
    /// reading was written): it moves with the meter's next reading.
    pub latest_deferred: usize,
    /// Items of the post skipped for failing validation (their readings are not in `accepted`).
    pub skipped: usize,
}

/// Storage settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageSettings {
    /// How long readings are kept after their reading time (the TTL).
    pub retention: Duration,
    /// How long to keep retrying unprocessed writes before answering 503.
    pub write_budget: Duration,
    /// Record each meter's batch of newly stored readings for the event bus (`SMARTME_BATCH_EVENTS`).
    pub batch_events: bool,
}

/// Why a post was not (completely) stored; smart-me should deliver it again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{unwritten} readings could not be written within the time budget: {reason}")]
pub struct Incomplete {
    pub unwritten: usize,
    pub reason: String,
}

/// The stored item of a reading: its values by OBIS text, the reading time in epoch milliseconds.
///
/// About 30 bytes per value plus 80 of key and time, so up to ~30 values stay within one 1 KB write unit.
pub fn reading_item(reading: &Reading, retention: Duration) -> Item {
    let values: Attrs = reading.values.iter().map(|(obis, v)| (obis.to_string(), Value::float(*v))).collect();
    Item::new(keys::meter_reading(&reading.device_id.to_string(), &reading.time.to_rfc3339()))
        .with(latest::TIME_MS, Value::int(reading.time.unix_millis()))
        .with(latest::VALUES, Value::M(values))
        .expiring_at(reading.time.unix_seconds().saturating_add(retention.as_secs() as i64))
}

/// Stores a validated post: new readings in batches (retrying unprocessed items with backoff and jitter inside
/// the budget), then each device's latest state. Readings already past their retention are accepted, not stored.
///
/// Only unwritten readings make the post [`Incomplete`] (smart-me then delivers it again). A latest state that
/// cannot be moved once every reading is stored does not: it is derived from the readings, the meter's next post
/// moves it (a conditional update to the newest reading), and a redelivery of a stored post would cost smart-me
/// and us another round under the very outage that failed it. It is counted in [`Stored::latest_deferred`].
pub async fn store_readings(
    store: &dyn Store,
    readings: &[Reading],
    settings: StorageSettings,
    now: i64,
) -> Result<Stored, Incomplete> {
    let started = Instant::now();
    // One item per key: a post that repeats a (device, time) stores it once (BatchWriteItem refuses duplicates).
    let mut by_key: BTreeMap<Key, Item> = BTreeMap::new();
    for reading in readings {
        let item = reading_item(reading, settings.retention);
        if !item.is_expired(now) {
            by_key.insert(item.key.clone(), item);
        }
    }
    let keys: Vec<Key> = by_key.keys().cloned().collect();
    // Only whether each key is there: the read asks for keys, not the readings' values.
    let existing: HashSet<Key> = retry(started, settings.write_budget, || store.batch_exists(&keys))
        .await
        .map_err(|e| Incomplete { unwritten: keys.len(), reason: e.to_string() })?
        .into_iter()
        .collect();
    let new: Vec<Item> = by_key.into_values().filter(|item| !existing.contains(&item.key)).collect();
    let stored = new.len();
    // Announced only once the readings themselves are written (below).
    let batches: Vec<Item> = match settings.batch_events {
        true => ReadingsBatch::of_readings(&new, now).iter().map(ReadingsBatch::to_item).collect(),
        false => Vec::new(),
    };
    let already_stored = existing.len();
    // Chunks are retried on their own: a chunk that failed or came back partly unprocessed goes to the front of the
    // queue after a backoff; rewriting an item with the same key and values is harmless.
    write_all(store, new, started, settings.write_budget).await?;
    write_all(store, batches, started, settings.write_budget).await?;
    let latest_deferred = update_latest(store, readings, started, settings.write_budget).await;
    Ok(Stored { accepted: readings.len(), stored, already_stored, latest_deferred, skipped: 0 })
}

/// Writes `items` in batches within the budget.
async fn write_all(store: &dyn Store, items: Vec<Item>, started: Instant, budget: Duration) -> Result<(), Incomplete> {
    let mut queue: VecDeque<Vec<Item>> = items.chunks(BATCH_WRITE_LIMIT).map(<[Item]>::to_vec).collect();
    let mut attempt = 0u32;
    while let Some(chunk) = queue.pop_front() {
        let retry_chunk = match store.batch_put(chunk.clone()).await {
            Ok(unprocessed) if unprocessed.is_empty() => continue,
            Ok(unprocessed) => unprocessed,
            Err(StoreError::Unavailable(reason)) => {
                tracing::warn!(reason, "batch write failed; retrying");
                chunk
            }
            Err(error) => {
                let unwritten = chunk.len() + queue.iter().map(Vec::len).sum::<usize>();
                return Err(Incomplete { unwritten, reason: error.to_string() });
            }
        };
        queue.push_front(retry_chunk);
        if !backoff(started, budget, attempt).await {
            let unwritten = queue.iter().map(Vec::len).sum();
            return Err(Incomplete { unwritten, reason: "DynamoDB left items unwritten".into() });
        }
        attempt += 1;
    }
    Ok(())
}

/// Moves each device's latest state to its newest reading in this post, unless a newer one is already there;
/// answers how many devices' states could not be moved.
async fn update_latest(store: &dyn Store, readings: &[Reading], started: Instant, budget: Duration) -> usize {
    let mut newest: BTreeMap<uuid::Uuid, &Reading> = BTreeMap::new();
    for reading in readings {
        let entry = newest.entry(reading.device_id).or_insert(reading);
        if reading.time > entry.time {
            *entry = reading;
        }
    }
    let mut deferred = 0;
    for (device, reading) in newest {
        let (update, newer) = LatestState::advance_to(reading);
        let key = LatestState::key(&device.to_string());
        let result = retry(started, budget, || store.update(&key, update.clone(), newer.clone())).await;
        match result {
            Ok(_) => {}
            // An equal or newer reading is already the latest: out-of-order delivery never moves it back.
            Err(StoreError::ConditionFailed { .. }) => {}
            Err(error) => {
                tracing::warn!(device_id = %device, %error, "latest state not moved; the meter's next reading moves it");
                deferred += 1;
            }
        }
    }
    deferred
}

/// Runs `call` until it succeeds, fails for a reason other than unavailability, or the budget is spent.
async fn retry<T, F, Fut>(started: Instant, budget: Duration, mut call: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(StoreError::Unavailable(reason)) => {
                if !backoff(started, budget, attempt).await {
                    return Err(StoreError::Unavailable(reason));
                }
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Waits before retry `attempt` (exponential from 25 ms, capped at 1 s, full jitter); `false` when the wait would
/// end past the budget.
async fn backoff(started: Instant, budget: Duration, attempt: u32) -> bool {
    use rand::Rng;
    let cap = Duration::from_millis(25u64.saturating_mul(1 << attempt.min(6)).min(1_000));
    let wait = Duration::from_micros(rand::rng().random_range(0..=cap.as_micros() as u64));
    if started.elapsed() + wait > budget {
        return false;
    }
    tokio::time::sleep(wait).await;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partners::smartme::{Obis, UtcTicks};

    #[test]
    fn a_typical_reading_fits_one_write_unit() {
        let codes = [
            (1, 8, 0),
            (1, 8, 1),
            (1, 8, 2),
            (2, 8, 0),
            (2, 8, 1),
            (2, 8, 2),
            (1, 7, 0),
            (2, 7, 0),
            (16, 7, 0),
            (31, 7, 0),
            (51, 7, 0),
            (71, 7, 0),
            (32, 7, 0),
            (52, 7, 0),
            (72, 7, 0),
            (13, 7, 0),
            (14, 7, 0),
            (3, 8, 0),
            (4, 8, 0),
            (21, 7, 0),
        ];
        let reading = Reading {
            device_id: uuid::Uuid::from_u128(u128::MAX - 1),
            time: UtcTicks(15_712_284_449_788_512),
            values: codes.iter().map(|(c, d, e)| (Obis::electricity(*c, *d, *e), -123456789.123456)).collect(),
        };
        let item = reading_item(&reading, Duration::from_secs(86_400 * 400));
        let size = crate::ports::store::size::item_size(&item);
        assert!(size < 1024, "a 20-value reading is {size} bytes");
    }

    #[test]
    fn the_key_is_deterministic_and_ttl_follows_the_reading_time() {
        let reading =
            Reading { device_id: uuid::Uuid::from_u128(7), time: UtcTicks(10_000_000 * 1_000), values: vec![] };
        let a = reading_item(&reading, Duration::from_secs(60));
        let b = reading_item(&reading, Duration::from_secs(60));
        assert_eq!(a.key, b.key);
        assert_eq!(a.key.sk, "R#1970-01-01T00:16:40.0000000Z");
        assert_eq!(a.expires_at, Some(1_060));
    }
}
