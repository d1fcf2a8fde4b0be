//! A meter's latest state as the table keeps it (`METER#<id>` / `LATEST`): the values of its newest reading, by
//! OBIS code, that reading's time, and the time of the reading before it (the meter's rhythm). `ingest` writes it;
//! Sber's answers and pushes read it. The attribute names live here only.

use super::obis::Obis;
use super::payload::Reading;
use crate::ports::store::{Attrs, Condition, Item, Key, Update, Value, keys};
use std::collections::BTreeMap;

/// A reading's time in epoch milliseconds and its values by OBIS text: the same names on reading items.
pub(super) const TIME_MS: &str = "t";
const TIME_TEXT: &str = "time";
pub(super) const VALUES: &str = "v";
/// The previous newest reading's time (epoch milliseconds; 0 before the second reading).
const PREVIOUS_MS: &str = "prevT";

/// The values and time of a meter's newest reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatestState {
    pub values: BTreeMap<Obis, f64>,
    /// Epoch milliseconds of the reading; 0 when the meter never reported.
    pub time_ms: i64,
    /// Epoch milliseconds of the newest reading before it, when there was one.
    pub previous_ms: Option<i64>,
}

impl LatestState {
    pub fn key(device_id: &str) -> Key {
        keys::meter_latest(device_id)
    }

    /// Whether `key` is a latest-state item; its meter's id.
    pub fn device_of(key: &Key) -> Option<&str> {
        (key.sk == "LATEST").then(|| keys::meter_of(&key.pk)).flatten()
    }

    /// The state an item holds (absent attributes: no values, time 0).
    pub fn from_item(item: Option<&Item>) -> Self {
        let Some(item) = item else { return Self::default() };
        let values = item
            .get(VALUES)
            .and_then(|v| v.as_map())
            .map(|map| map.iter().filter_map(|(k, v)| Some((k.parse::<Obis>().ok()?, v.as_f64()?))).collect())
            .unwrap_or_default();
        let previous_ms = item.i64(PREVIOUS_MS).filter(|p| *p > 0);
        Self { values, time_ms: item.i64(TIME_MS).unwrap_or(0), previous_ms }
    }

    /// The meter's interval between uploads, as its two newest readings show it.
    pub fn interval_ms(&self) -> Option<i64> {
        self.previous_ms.map(|previous| self.time_ms - previous).filter(|gap| *gap > 0)
    }

    fn values_attr(values: impl Iterator<Item = (Obis, f64)>) -> Value {
        Value::M(values.map(|(obis, v)| (obis.to_string(), Value::float(v))).collect::<Attrs>())
    }

    /// The update that makes `reading` the latest state, with the condition that keeps an equal or newer one:
    /// out-of-order delivery never moves it back.
    pub fn advance_to(reading: &Reading) -> (Update, Condition) {
        let t = reading.time.unix_millis();
        // The time it replaces becomes the previous one, read by the same atomic update.
        let update = Update::default()
            .set(TIME_MS, Value::int(t))
            .set(TIME_TEXT, Value::str(reading.time.to_rfc3339()))
            .set(VALUES, Self::values_attr(reading.values.iter().copied()))
            .copy(PREVIOUS_MS, TIME_MS, Value::int(0));
        let newer =
            Condition::Or(vec![Condition::AttrAbsent(TIME_MS.into()), Condition::Lt(TIME_MS.into(), Value::int(t))]);
        (update, newer)
    }

    /// The update that replaces this state's values, with the condition that no newer reading came meanwhile.
    pub fn replace_values(&self, values: &BTreeMap<Obis, f64>) -> (Update, Condition) {
        let update = Update::default().set(VALUES, Self::values_attr(values.iter().map(|(o, v)| (*o, *v))));
        (update, Condition::Eq(TIME_MS.into(), Value::int(self.time_ms)))
    }
}
