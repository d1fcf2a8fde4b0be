//! A meter that goes silent goes offline at Sber without any reading to say so: the scheduled silence check
//! (`notify`, invoked by EventBridge every [`BUCKET_MS`]) pushes it.
//!
//! When `notify` pushes a meter's state it also notes when the meter goes offline unless it reports again (the
//! online rule, [`super::online`]): a watch item in the check bucket at or after that moment
//! (`SILENT#<bucket>#<shard>` / `<meter>`), written only when the bucket changes, so a meter reporting every few
//! seconds writes one item per bucket, not one per reading. The check reads the buckets whose time has come, from
//! its cursor on; a meter still silent is pushed offline to every owner Sber linked and is offered it, a meter that
//! reported since has a newer watch and is skipped. Watches are deleted once handled; what Sber did not take stays,
//! with the cursor, for the next run.

use super::notify::{Notifier, Outcome, Plan};
use crate::crypto::sha256;
use crate::identity::users::MeterOwner;
use crate::partners::smartme::latest::LatestState;
use crate::ports::store::{Condition, Item, Key, Query, StoreError, Value, keys};
use std::collections::BTreeSet;

/// The check's rhythm and a bucket's width: the template's schedule is `rate(5 minutes)`.
pub const BUCKET_MS: i64 = 300_000;

/// How far back a first check looks (buckets): an hour.
const FIRST_LOOKBACK: i64 = 12;

/// The most buckets one run checks; a check that fell further behind catches up over the next runs.
const MAX_BUCKETS_PER_RUN: i64 = 48;

const OFFLINE_AT: &str = "offlineAt";
const NEXT: &str = "next";

/// The first check bucket at or after `at_ms` (epoch milliseconds).
pub fn bucket_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(BUCKET_MS) + i64::from(at_ms.rem_euclid(BUCKET_MS) != 0)
}

/// The shard of a meter's watches: spread by a hash, whatever its id looks like.
fn shard_of(device_id: &str) -> u8 {
    sha256(device_id.as_bytes())[0] % keys::SILENCE_SHARDS
}

/// The watch item of `device_id` going offline at `offline_at_ms`.
pub fn watch_key(device_id: &str, offline_at_ms: i64) -> Key {
    keys::silence_watch(bucket_of(offline_at_ms), shard_of(device_id), device_id)
}

impl Notifier {
    /// Notes when `meter`, whose latest state went from `old` to `new`, goes offline unless it reports again: once
    /// per bucket, and only while that is still to come at `now`.
    pub(super) async fn watch(
        &self,
        meter: &str,
        old: &LatestState,
        new: &LatestState,
        now: i64,
    ) -> Result<(), StoreError> {
        let rule = self.settings.online;
        let Some(offline_at) = rule.offline_at_ms(new) else { return Ok(()) };
        if offline_at <= now * 1000 || rule.offline_at_ms(old).map(bucket_of) == Some(bucket_of(offline_at)) {
            return Ok(());
        }
        let item = Item::new(watch_key(meter, offline_at)).with(OFFLINE_AT, Value::int(offline_at));
        self.store.put(item, Condition::Always).await
    }

    /// The scheduled silence check at `now` (epoch seconds): every meter due to go offline by now that is still
    /// silent is pushed offline. Answers what was sent, and the watches left for the next run.
    pub async fn check_silence(&self, now: i64) -> Outcome {
        let due = (now * 1000).div_euclid(BUCKET_MS);
        let mut next = match self.store.get(&keys::silence_cursor()).await {
            Ok(cursor) => cursor.and_then(|c| c.i64(NEXT)).unwrap_or(due - FIRST_LOOKBACK),
            Err(error) => {
                tracing::error!(%error, "silence check cursor unreadable; the next run checks");
                return Outcome { failed: vec!["cursor".into()], ..Outcome::default() };
            }
        };
        let mut outcome = Outcome::default();
        let last = due.min(next + MAX_BUCKETS_PER_RUN - 1);
        while next <= last {
            let checked = self.check_bucket(next, now).await;
            outcome.calls += checked.calls;
            outcome.pushes += checked.pushes;
            if !checked.failed.is_empty() {
                outcome.failed = checked.failed;
                break;
            }
            next += 1;
            let cursor = Item::new(keys::silence_cursor()).with(NEXT, Value::int(next));
            if let Err(error) = self.store.put(cursor, Condition::Always).await {
                tracing::error!(%error, "silence check cursor not moved; the bucket is checked again");
                outcome.failed = vec!["cursor".into()];
                break;
            }
        }
        outcome
    }

    /// Checks one bucket: answers what was sent and the watches left (their keys).
    async fn check_bucket(&self, bucket: i64, now: i64) -> Outcome {
        let mut watches = Vec::new();
        for shard in 0..keys::SILENCE_SHARDS {
            match self.store.query(&Query::partition(keys::silence_partition(bucket, shard))).await {
                Ok(items) => watches.extend(items),
                Err(error) => {
                    tracing::error!(%error, bucket, "silence bucket unreadable; checked again next run");
                    return Outcome { failed: vec![format!("bucket {bucket}")], ..Outcome::default() };
                }
            }
        }
        if watches.is_empty() {
            return Outcome::default();
        }
        let mut plan = Plan::new();
        let mut left: BTreeSet<String> = BTreeSet::new();
        for watch in &watches {
            let record = format!("{}/{}", watch.key.pk, watch.key.sk);
            if let Err(error) = self.plan_silence(&watch.key.sk, &record, now, &mut plan).await {
                tracing::error!(%error, meter = watch.key.sk, "silent meter not read; checked again next run");
                left.insert(record);
            }
        }
        let mut outcome = self.send(plan).await;
        left.extend(std::mem::take(&mut outcome.failed));
        for watch in &watches {
            if left.contains(&format!("{}/{}", watch.key.pk, watch.key.sk)) {
                continue;
            }
            if let Err(error) = self.store.delete(&watch.key, Condition::Always).await {
                tracing::warn!(%error, meter = watch.key.sk, "handled silence watch not deleted");
            }
        }
        outcome.failed = left.into_iter().collect();
        outcome
    }

    /// Plans the offline push of `meter` if it is still silent at `now`.
    async fn plan_silence(&self, meter: &str, record: &str, now: i64, plan: &mut Plan) -> Result<(), StoreError> {
        let latest = LatestState::from_item(self.store.get(&LatestState::key(meter)).await?.as_ref());
        if self.settings.online.online(&latest, now) || latest.time_ms == 0 {
            return Ok(());
        }
        for owner in &self.owners(meter).await? {
            let Some(MeterOwner { user_id, device }) = MeterOwner::from_item(owner) else { continue };
            if !self.settings.offers(&device) || !self.linked(&user_id).await? {
                continue;
            }
            let user = plan.entry(user_id).or_default();
            user.states.insert(device.id.clone(), self.states(&device, &latest, now));
            user.records.insert(record.to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_belongs_to_the_first_check_at_or_after_it() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 1);
        assert_eq!(bucket_of(BUCKET_MS), 1);
        assert_eq!(bucket_of(BUCKET_MS + 1), 2);
        let shards: BTreeSet<u8> = (0..200).map(|n| shard_of(&format!("meter-{n}"))).collect();
        assert_eq!(shards.len(), usize::from(keys::SILENCE_SHARDS), "every shard is used");
        let key = watch_key("m", 3 * BUCKET_MS - 5);
        assert!(key.pk.starts_with("SILENT#3#") && key.sk == "m");
    }
}
