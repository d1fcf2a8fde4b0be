//! Telling Sber what changed, from the table's change records (a DynamoDB stream in AWS, [`ChangeFeed`] locally):
//!
//! - a meter's latest state changed: each owner linked with Sber gets the states Sber sees, when they differ from
//!   before (a redelivered or identical reading pushes nothing), batched per user (`POST /v1/state`);
//! - a meter's first readings settle its device's model (the features it can fill), once;
//! - an owner item appeared, changed (name, model) or went: `POST`, `PUT` or `DELETE /v1/devices`.
//!
//! Nothing here is on the path of smart-me's answer. A call Sber may take later fails its records, which the
//! caller hands back for retry ([`Notifier::handle`] answers their sequence numbers); refusals are logged and
//! dropped (sending them again cannot help).
//!
//! [`ChangeFeed`]: crate::ports::store::changes::ChangeFeed

use super::features::{self, Units, Values};
use super::partner_api::{PushError, SberApi};
use super::{device_features, model};
use crate::identity::users::{Device, MeterOwner};
use crate::partners::smartme::latest::LatestState;
use crate::ports::secrets::Secrets;
use crate::ports::store::changes::{Change, ChangeKind};
use crate::ports::store::{Condition, Item, Query, SortRange, Store, StoreError, keys};
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Whether `change` is one `notify` handles: a meter's latest state, an owner item, or a Sber link modified (the
/// vendor asking Sber to unlink a user); the template's stream filter passes exactly these.
pub fn is_relevant(change: &Change) -> bool {
    LatestState::device_of(&change.key).is_some()
        || (keys::meter_of(&change.key.pk).is_some() && change.key.sk.starts_with(keys::OWNER_PREFIX))
        || (keys::sber_link_user(&change.key).is_some() && change.kind == ChangeKind::Modify)
}

/// The notifier of one deployment.
pub struct Notifier {
    pub store: Arc<dyn Store>,
    pub secrets: Arc<dyn Secrets>,
    pub sber: SberApi,
    pub units: Units,
    /// A meter is `online` while its newest reading is younger than this.
    pub online_window_s: i64,
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Sequence numbers of the records to hand back for retry, in order.
    pub failed: Vec<String>,
    /// Calls made to Sber that went through.
    pub calls: usize,
    /// State pushes among them (one per user per batch).
    pub pushes: usize,
}

/// Calls to make for one user, and the records each depends on.
#[derive(Default)]
struct UserCalls {
    states: BTreeMap<String, Vec<Json>>,
    added: BTreeMap<String, Json>,
    changed: BTreeMap<String, Json>,
    removed: BTreeSet<String>,
    /// The vendor unlinked the user: `POST /v1/unlink`, then the link is forgotten.
    unlink: bool,
    records: BTreeSet<String>,
}

fn values_of(item: Option<&Item>) -> (Values, i64) {
    let state = LatestState::from_item(item);
    (state.values, state.time_ms)
}

fn owner_device(owner: &Item) -> Option<(String, Device)> {
    MeterOwner::from_item(owner).map(|o| (o.user_id, o.device))
}

impl Notifier {
    fn online(&self, time_ms: i64, now: i64) -> bool {
        time_ms > 0 && now * 1000 - time_ms < self.online_window_s * 1000
    }

    async fn linked(&self, user_id: &str) -> Result<bool, StoreError> {
        Ok(self.store.get(&keys::sber_link(user_id)).await?.is_some())
    }

    /// A device as `/v1/devices` describes it, with its meter's latest values for `partner_meta`.
    async fn described(&self, device: &Device) -> Result<Json, StoreError> {
        let latest = self.store.get(&LatestState::key(&device.id)).await?;
        Ok(super::sber_device(device, &values_of(latest.as_ref()).0, &self.units))
    }

    /// Handles one batch of change records at `now` (epoch seconds).
    pub async fn handle(&self, changes: &[Change], now: i64) -> Outcome {
        let mut calls: BTreeMap<String, UserCalls> = BTreeMap::new();
        let mut failed: BTreeSet<String> = BTreeSet::new();
        for change in changes {
            if let Err(error) = self.plan(change, now, &mut calls).await {
                tracing::error!(%error, sequence = change.sequence, "change not read; handed back");
                failed.insert(change.sequence.clone());
            }
        }
        let mut outcome = Outcome::default();
        if calls.is_empty() {
            outcome.failed = failed.into_iter().collect();
            return outcome;
        }
        let authorization = match self.sber.authorization(self.secrets.as_ref()).await {
            Ok(authorization) => authorization,
            Err(error) => {
                tracing::error!(%error, "sber secret unavailable; every record handed back");
                failed.extend(calls.values().flat_map(|c| c.records.iter().cloned()));
                outcome.failed = failed.into_iter().collect();
                return outcome;
            }
        };
        for (user_id, user) in calls {
            // Device removals first, then additions and changes, the unlink last but for the states (which an
            // unlinked user no longer gets).
            let mut requests: Vec<(&str, &str, Json)> = Vec::new();
            if !user.removed.is_empty() {
                requests.push(("DELETE", "/v1/devices", json!({"device_ids": user.removed})));
            }
            if !user.added.is_empty() {
                let devices: Vec<&Json> = user.added.values().collect();
                requests.push(("POST", "/v1/devices", json!({"user_id": user_id, "devices": devices})));
            }
            if !user.changed.is_empty() {
                let devices: Vec<&Json> = user.changed.values().collect();
                requests.push(("PUT", "/v1/devices", json!({"user_id": user_id, "devices": devices})));
            }
            if user.unlink {
                requests.push(("POST", "/v1/unlink", json!({"user_id": user_id})));
            } else if !user.states.is_empty() {
                let devices: serde_json::Map<String, Json> =
                    user.states.into_iter().map(|(id, states)| (id, json!({"states": states}))).collect();
                requests.push(("POST", "/v1/state", json!({"devices": devices})));
            }
            let mut ok = true;
            for (method, path, body) in &requests {
                let (method, path) = (*method, *path);
                match self.sber.send(&authorization, method, path, body).await {
                    Ok(()) => {
                        outcome.calls += 1;
                        outcome.pushes += usize::from(path == "/v1/state");
                    }
                    Err(PushError::Refused(status)) => {
                        tracing::warn!(user_id, method, path, status, "Sber refused; not sent again");
                    }
                    Err(error @ PushError::Retryable(_)) => {
                        tracing::warn!(%error, user_id, method, path, "Sber did not take it; handed back");
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                failed.extend(user.records);
            } else if user.unlink {
                // Told (or refused for good): no more pushes for a user Sber no longer links.
                if let Err(error) = self.store.delete(&keys::sber_link(&user_id), Condition::Always).await {
                    tracing::error!(%error, user_id, "unlinked user's Sber link not forgotten; handed back");
                    failed.extend(user.records);
                } else {
                    tracing::info!(user_id, "Sber told of the vendor's unlink");
                }
            }
        }
        outcome.failed = failed.into_iter().collect();
        outcome
    }

    /// What `change` asks to tell Sber, added to `calls`.
    async fn plan(&self, change: &Change, now: i64, calls: &mut BTreeMap<String, UserCalls>) -> Result<(), StoreError> {
        if let Some(user_id) = keys::sber_link_user(&change.key) {
            let requested = |item: Option<&Item>| item.is_some_and(|i| i.get(super::UNLINK_REQUESTED).is_some());
            if !requested(change.old.as_ref()) && requested(change.new.as_ref()) {
                let user = calls.entry(user_id.to_owned()).or_default();
                user.unlink = true;
                user.records.insert(change.sequence.clone());
            }
            return Ok(());
        }
        let Some(meter) = keys::meter_of(&change.key.pk) else { return Ok(()) };
        if change.key.sk == "LATEST" {
            return self.plan_state(meter, change, now, calls).await;
        }
        if change.key.sk.starts_with(keys::OWNER_PREFIX) {
            return self.plan_device(change, calls).await;
        }
        Ok(())
    }

    async fn plan_state(
        &self,
        meter: &str,
        change: &Change,
        now: i64,
        calls: &mut BTreeMap<String, UserCalls>,
    ) -> Result<(), StoreError> {
        let (old, old_t) = values_of(change.old.as_ref());
        let (new, new_t) = values_of(change.new.as_ref());
        if change.kind == ChangeKind::Remove {
            return Ok(());
        }
        let owners = self
            .store
            .query(&Query::partition(keys::meter_partition(meter)).range(SortRange::Prefix(keys::OWNER_PREFIX.into())))
            .await?;
        for owner in &owners {
            let Some((user_id, mut device)) = owner_device(owner) else { continue };
            if device.features.is_none() && !new.is_empty() {
                // The meter's first readings settle its model; the owner item's change tells Sber (PUT).
                let (update, unsettled) = MeterOwner::settle(&features::features(&new));
                match self.store.update(&owner.key, update, unsettled).await {
                    Ok(item) => device.features = MeterOwner::features_of(&item),
                    Err(error) if error.is_condition_failed() => {}
                    Err(error) => return Err(error),
                }
            }
            if !self.linked(&user_id).await? {
                continue;
            }
            let declared = device_features(&device);
            let before = features::states(&declared, &old, self.online(old_t, now), &self.units);
            let after = features::states(&declared, &new, self.online(new_t, now), &self.units);
            if before == after {
                continue;
            }
            let user = calls.entry(user_id).or_default();
            user.states.insert(device.id.clone(), after);
            user.records.insert(change.sequence.clone());
        }
        Ok(())
    }

    async fn plan_device(&self, change: &Change, calls: &mut BTreeMap<String, UserCalls>) -> Result<(), StoreError> {
        match (change.kind, change.old.as_ref().and_then(owner_device), change.new.as_ref().and_then(owner_device)) {
            // Removed: Sber forgets the device if it linked the user (a removed user's link outlives them a while).
            (ChangeKind::Remove, Some((user_id, device)), _) => {
                if !self.linked(&user_id).await? {
                    return Ok(());
                }
                let user = calls.entry(user_id).or_default();
                // Added and removed in one batch: Sber need not hear of it at all.
                if user.added.remove(&device.id).is_none() {
                    user.changed.remove(&device.id);
                    user.removed.insert(device.id);
                }
                user.records.insert(change.sequence.clone());
            }
            (ChangeKind::Insert, _, Some((user_id, device))) => {
                // An unlinked user's devices reach Sber with the user's next devices request.
                if !self.linked(&user_id).await? {
                    return Ok(());
                }
                let described = self.described(&device).await?;
                let user = calls.entry(user_id).or_default();
                user.added.insert(device.id.clone(), described);
                user.records.insert(change.sequence.clone());
            }
            (ChangeKind::Modify, Some((_, before)), Some((user_id, after))) => {
                let model_changed = model(&device_features(&before)) != model(&device_features(&after));
                if (model_changed || before.name != after.name) && self.linked(&user_id).await? {
                    let described = self.described(&after).await?;
                    let user = calls.entry(user_id).or_default();
                    // Added in this batch: the addition carries the latest description.
                    match user.added.get_mut(&after.id) {
                        Some(added) => *added = described,
                        None => {
                            user.changed.insert(after.id.clone(), described);
                        }
                    }
                    user.records.insert(change.sequence.clone());
                }
            }
            _ => {}
        }
        Ok(())
    }
}
