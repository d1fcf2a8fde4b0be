//! Telling Sber what changed, from the table's change records (a DynamoDB stream in AWS, [`ChangeFeed`] locally):
//!
//! - a meter's latest state changed: each owner Sber linked and is offered the meter gets the states Sber sees,
//!   when they differ from before (a redelivered or identical reading pushes nothing), batched per user
//!   (`POST /v1/state`); the meter is watched for silence (see [`super::silence`]);
//! - a meter's first readings settle its device's model (the features it can fill), once; a reading with a switch
//!   state records that the meter switches;
//! - an owner item appeared, changed (name, model) or went, or its meter became offered or not (its switch learnt):
//!   `POST`, `PUT` or `DELETE /v1/devices`;
//! - the vendor unlinked a user: `POST /v1/unlink`, then the link is forgotten.
//!
//! A meter two users hold is one device at Sber (device ids are unique per vendor): when one of them lets it go, no
//! `DELETE` is sent while another owner Sber linked is still offered it.
//!
//! Nothing here is on the path of smart-me's answer. A call Sber may take later fails its records, which the
//! caller hands back for retry ([`Notifier::handle`] answers their sequence numbers); a refusal (4xx) is logged with
//! Sber's answer, counted (`SberRefusals`) and dropped (sending it again cannot help).
//!
//! [`ChangeFeed`]: crate::ports::store::changes::ChangeFeed

use super::client::{PushError, SberClient};
use super::features;
use super::settings::SberSettings;
use super::{device_features, model};
use crate::identity::users::{Device, MeterOwner};
use crate::partners::smartme::latest::LatestState;
use crate::ports::secrets::Secrets;
use crate::ports::store::changes::{Change, ChangeKind};
use crate::ports::store::{Condition, Item, Query, SortRange, Store, StoreError, keys};
use crate::telemetry::Counter;
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
    pub sber: SberClient,
    pub settings: SberSettings,
}

/// What one batch (or one silence check) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// What to hand back for retry, in order: records' sequence numbers (silence checks: watches left).
    pub failed: Vec<String>,
    /// Calls made to Sber that went through.
    pub calls: usize,
    /// State pushes among them (one per user per batch).
    pub pushes: usize,
}

/// Calls to make for one user, and the records each depends on.
#[derive(Default)]
pub(super) struct UserCalls {
    pub states: BTreeMap<String, Vec<Json>>,
    added: BTreeMap<String, Json>,
    changed: BTreeMap<String, Json>,
    removed: BTreeSet<String>,
    /// The vendor unlinked the user: `POST /v1/unlink`, then the link is forgotten.
    unlink: bool,
    pub records: BTreeSet<String>,
}

/// Every user's calls, by user id.
pub(super) type Plan = BTreeMap<String, UserCalls>;

fn owner_device(owner: &Item) -> Option<(String, Device)> {
    MeterOwner::from_item(owner).map(|o| (o.user_id, o.device))
}

impl Notifier {
    pub(super) async fn linked(&self, user_id: &str) -> Result<bool, StoreError> {
        Ok(self.store.get(&keys::sber_link(user_id)).await?.is_some())
    }

    /// The meter's owner items.
    pub(super) async fn owners(&self, meter: &str) -> Result<Vec<Item>, StoreError> {
        let owners = Query::partition(keys::meter_partition(meter)).range(SortRange::Prefix(keys::OWNER_PREFIX.into()));
        self.store.query(&owners).await
    }

    /// The states Sber sees of `device` whose latest state is `latest`, at `now` (epoch seconds).
    pub(super) fn states(&self, device: &Device, latest: &LatestState, now: i64) -> Vec<Json> {
        let online = self.settings.online.online(latest, now);
        let units = self.settings.units.for_meter(&device.units);
        features::states(&device_features(device), &latest.values, online, &units)
    }

    /// A device as `/v1/devices` describes it, with its meter's latest values for `partner_meta`.
    async fn described(&self, device: &Device) -> Result<Json, StoreError> {
        let latest = self.store.get(&LatestState::key(&device.id)).await?;
        Ok(super::sber_device(device, &LatestState::from_item(latest.as_ref()).values, &self.settings.units))
    }

    /// Handles one batch of change records at `now` (epoch seconds).
    pub async fn handle(&self, changes: &[Change], now: i64) -> Outcome {
        let mut plan = Plan::new();
        let mut failed: BTreeSet<String> = BTreeSet::new();
        for change in changes {
            if let Err(error) = self.plan(change, now, &mut plan).await {
                tracing::error!(%error, sequence = change.sequence, "change not read; handed back");
                failed.insert(change.sequence.clone());
            }
        }
        let mut outcome = self.send(plan).await;
        failed.extend(std::mem::take(&mut outcome.failed));
        outcome.failed = failed.into_iter().collect();
        outcome
    }

    /// Makes the planned calls; what failed is handed back by the records it depends on.
    pub(super) async fn send(&self, plan: Plan) -> Outcome {
        let mut outcome = Outcome::default();
        if plan.is_empty() {
            return outcome;
        }
        let mut failed: BTreeSet<String> = BTreeSet::new();
        let authorization = match self.sber.authorization(self.secrets.as_ref()).await {
            Ok(authorization) => authorization,
            Err(error) => {
                tracing::error!(%error, "sber secret unavailable; every record handed back");
                outcome.failed = plan.into_values().flat_map(|c| c.records).collect();
                return outcome;
            }
        };
        for (user_id, user) in plan {
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
                // Sber's page shows PUT with the devices only (unlike POST, no user_id).
                let devices: Vec<&Json> = user.changed.values().collect();
                requests.push(("PUT", "/v1/devices", json!({"devices": devices})));
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
                    Err(PushError::Refused { status, answer }) => {
                        crate::telemetry::count(Counter::SberRefusals, 1);
                        tracing::warn!(user_id, method, path, status, answer, "Sber refused; not sent again");
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

    /// What `change` asks to tell Sber, added to `plan`.
    async fn plan(&self, change: &Change, now: i64, plan: &mut Plan) -> Result<(), StoreError> {
        if let Some(user_id) = keys::sber_link_user(&change.key) {
            let requested = |item: Option<&Item>| item.is_some_and(|i| i.get(super::UNLINK_REQUESTED).is_some());
            if !requested(change.old.as_ref()) && requested(change.new.as_ref()) {
                let user = plan.entry(user_id.to_owned()).or_default();
                user.unlink = true;
                user.records.insert(change.sequence.clone());
            }
            return Ok(());
        }
        let Some(meter) = keys::meter_of(&change.key.pk) else { return Ok(()) };
        if change.key.sk == "LATEST" {
            return self.plan_state(meter, change, now, plan).await;
        }
        if change.key.sk.starts_with(keys::OWNER_PREFIX) {
            return self.plan_device(meter, change, plan).await;
        }
        Ok(())
    }

    async fn plan_state(&self, meter: &str, change: &Change, now: i64, plan: &mut Plan) -> Result<(), StoreError> {
        if change.kind == ChangeKind::Remove {
            return Ok(());
        }
        let old = LatestState::from_item(change.old.as_ref());
        let new = LatestState::from_item(change.new.as_ref());
        let mut watched = false;
        for owner in &self.owners(meter).await? {
            let Some((user_id, mut device)) = owner_device(owner) else { continue };
            // What Sber was offered before this reading taught us anything.
            let offered = self.settings.offers(&device);
            if device.features.is_none() && !new.values.is_empty() {
                // The meter's first readings settle its model; the owner item's change tells Sber (PUT).
                let (update, unsettled) = MeterOwner::settle(&features::features(&new.values));
                match self.store.update(&owner.key, update, unsettled).await {
                    Ok(item) => device.features = MeterOwner::features_of(&item),
                    Err(error) if error.is_condition_failed() => {}
                    Err(error) => return Err(error),
                }
            }
            if device.switchable != Some(true) && features::switchable(&new.values) {
                // It reports a switch state: it switches (the owner item's change offers it to Sber: POST).
                let (update, not_yet) = MeterOwner::switch_seen();
                match self.store.update(&owner.key, update, not_yet).await {
                    Ok(_) => {}
                    Err(error) if error.is_condition_failed() => {}
                    Err(error) => return Err(error),
                }
            }
            if !offered || !self.linked(&user_id).await? {
                continue;
            }
            watched = true;
            let before = self.states(&device, &old, now);
            let after = self.states(&device, &new, now);
            if before == after {
                continue;
            }
            let user = plan.entry(user_id).or_default();
            user.states.insert(device.id.clone(), after);
            user.records.insert(change.sequence.clone());
        }
        if watched {
            self.watch(meter, &old, &new, now).await?;
        }
        Ok(())
    }

    /// Whether another owner of `meter` than `user_id`, linked with Sber, is offered it: the device stays at Sber.
    async fn held_by_another(&self, meter: &str, user_id: &str) -> Result<bool, StoreError> {
        for owner in &self.owners(meter).await? {
            let Some((other, device)) = owner_device(owner) else { continue };
            if other != user_id && self.settings.offers(&device) && self.linked(&other).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn plan_device(&self, meter: &str, change: &Change, plan: &mut Plan) -> Result<(), StoreError> {
        let old = change.old.as_ref().and_then(owner_device);
        let new = change.new.as_ref().and_then(owner_device);
        let offered = |device: &Option<(String, Device)>| device.as_ref().is_some_and(|(_, d)| self.settings.offers(d));
        let (was, is) = (offered(&old), offered(&new));
        match (change.kind, old, new) {
            // Gone, or no longer offered: Sber forgets the device if it linked the user and no other linked owner
            // still sees it.
            (ChangeKind::Remove, Some((user_id, device)), _) | (ChangeKind::Modify, Some((user_id, device)), _)
                if was && !is =>
            {
                if !self.linked(&user_id).await? || self.held_by_another(meter, &user_id).await? {
                    return Ok(());
                }
                let user = plan.entry(user_id).or_default();
                // Added and removed in one batch: Sber need not hear of it at all.
                if user.added.remove(&device.id).is_none() {
                    user.changed.remove(&device.id);
                    user.removed.insert(device.id);
                }
                user.records.insert(change.sequence.clone());
            }
            // New, or newly offered: an unlinked user's devices reach Sber with the user's next devices request; a
            // switch learnt while answering that request reached Sber in the answer.
            (ChangeKind::Insert | ChangeKind::Modify, _, Some((user_id, device))) if is && !was => {
                let learnt_in_answer = change.new.as_ref().is_some_and(MeterOwner::switch_learnt_in_answer);
                if learnt_in_answer || !self.linked(&user_id).await? {
                    return Ok(());
                }
                let described = self.described(&device).await?;
                let user = plan.entry(user_id).or_default();
                user.added.insert(device.id.clone(), described);
                user.records.insert(change.sequence.clone());
            }
            (ChangeKind::Modify, Some((_, before)), Some((user_id, after))) if was && is => {
                let model_changed = model(&device_features(&before)) != model(&device_features(&after));
                if (model_changed || before.name != after.name) && self.linked(&user_id).await? {
                    let described = self.described(&after).await?;
                    let user = plan.entry(user_id).or_default();
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
