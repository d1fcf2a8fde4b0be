//! A stored batch of a meter's readings (`METER#<id>` / `BATCH#...`): how many readings one post stored for the
//! meter and the newest one's time. Written only with outbound events on (`SMARTME_BATCH_EVENTS`), for the table's
//! stream to carry to the event bus; it expires a day later. The attribute names live here only.

use crate::ports::store::{Item, Key, Value, keys};

const DEVICE_ID: &str = "deviceId";
const COUNT: &str = "count";
const OLDEST_MS: &str = "oldestMs";
const NEWEST_MS: &str = "newestMs";
const STORED_AT: &str = "storedAt";

/// Sort-key prefix of batch items in a meter partition.
pub const BATCH_PREFIX: &str = "BATCH#";

/// How long a batch item stays (it exists for the stream, not for reading).
const KEEP_S: i64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingsBatch {
    pub device_id: String,
    pub count: usize,
    /// Epoch milliseconds of the oldest and newest reading stored.
    pub oldest_ms: i64,
    pub newest_ms: i64,
    /// Epoch seconds.
    pub stored_at: i64,
}

impl ReadingsBatch {
    /// The key names the readings stored, so a retried write of the same batch is the same item (an overwrite,
    /// which the stream shows as a modification, not a second batch).
    pub fn key(&self) -> Key {
        Key::new(
            keys::meter_partition(&self.device_id),
            format!("{BATCH_PREFIX}{:016}#{:016}#{}", self.oldest_ms.max(0), self.newest_ms.max(0), self.count),
        )
    }

    /// Whether `key` is a batch item.
    pub fn is_batch(key: &Key) -> bool {
        keys::meter_of(&key.pk).is_some() && key.sk.starts_with(BATCH_PREFIX)
    }

    pub fn to_item(&self) -> Item {
        Item::new(self.key())
            .with(DEVICE_ID, Value::str(&self.device_id))
            .with(COUNT, Value::int(self.count as i64))
            .with(OLDEST_MS, Value::int(self.oldest_ms))
            .with(NEWEST_MS, Value::int(self.newest_ms))
            .with(STORED_AT, Value::int(self.stored_at))
            .expiring_at(self.stored_at + KEEP_S)
    }

    pub fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            device_id: item.str(DEVICE_ID)?.to_owned(),
            count: usize::try_from(item.i64(COUNT)?).ok()?,
            oldest_ms: item.i64(OLDEST_MS)?,
            newest_ms: item.i64(NEWEST_MS)?,
            stored_at: item.i64(STORED_AT)?,
        })
    }

    /// One batch per meter of the readings `items` (reading items, as stored), at `now`.
    pub fn of_readings<'a>(items: impl IntoIterator<Item = &'a Item>, now: i64) -> Vec<Self> {
        let mut by_device: std::collections::BTreeMap<&str, Self> = std::collections::BTreeMap::new();
        for item in items {
            let (Some(device), Some(t)) = (keys::meter_of(&item.key.pk), item.i64(super::latest::TIME_MS)) else {
                continue;
            };
            let batch = by_device.entry(device).or_insert_with(|| Self {
                device_id: device.to_owned(),
                count: 0,
                oldest_ms: t,
                newest_ms: t,
                stored_at: now,
            });
            batch.count += 1;
            batch.oldest_ms = batch.oldest_ms.min(t);
            batch.newest_ms = batch.newest_ms.max(t);
        }
        by_device.into_values().collect()
    }
}
