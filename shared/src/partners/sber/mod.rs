//! Sber Smart Home cloud-to-cloud, the vendor side: a user's smart-me meters as Sber devices, their states from
//! the latest readings `ingest` stores, and on/off commands through the device-control port.
//!
//! Every meter is a valid `socket` at every moment: `online` and `on_off` (the category's obligatory features) are
//! always declared, and a device's model (its features) is the one stored with the device, not recomputed from
//! each reading (Sber caches models). Per-device errors carry Sber's codes only (400, 401, 403, 500, 503).

pub mod calls;
pub mod features;
pub mod notify;
pub mod partner_api;
pub mod requests;

use crate::identity::users::{Device, MeterOwner, Users};
use crate::partners::smartme::control::{ControlError, DeviceControl};
use crate::partners::smartme::latest::LatestState;
use crate::ports::store::{Item, Store, StoreError, keys};
use features::{Units, Values};
use requests::{DeviceCommand, Entry, StateValue};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The Sber side of one deployment.
pub struct SberHome {
    pub store: Arc<dyn Store>,
    pub control: Arc<dyn DeviceControl>,
    pub units: Units,
    /// A meter is `online` while its newest reading is younger than this.
    pub online_window_s: i64,
    /// Our OAuth client Sber links with (`SBER_CLIENT_ID`): whose tokens a cut-off revokes.
    pub client_id: String,
}

/// Sber's error codes (common and per device).
pub const ERROR_CODES: [u16; 5] = [400, 401, 403, 500, 503];

/// A per-device error (`{"id", "code", "message"}` in Sber's `errors` list).
fn device_error(id: &str, code: u16, message: &str) -> Value {
    debug_assert!(ERROR_CODES.contains(&code));
    json!({"id": id, "code": code, "message": message})
}

/// The per-device error for an id the user has no device under (or that is no device id at all).
fn unknown_device(id: &str) -> Value {
    device_error(id, 400, "no such device for this user")
}

/// The features `device` declares: its stored model, or every socket feature a meter can report.
pub fn device_features(device: &Device) -> Vec<String> {
    device.features.clone().unwrap_or_else(|| features::ALL_FEATURES.iter().map(|f| f.to_string()).collect())
}

/// The device's model: its id names its features, so a changed model is a new model for Sber's cache.
pub fn model(features: &[String]) -> Value {
    json!({
        "id": format!("smartme-meter-{}", features.join("-")),
        "manufacturer": "smart-me",
        "model": "smart-me meter",
        "category": "socket",
        "features": features,
    })
}

impl SberHome {
    /// The user's meters (each with the model its owner item holds) and their latest states, by device id.
    async fn owned(&self, user_id: &str) -> Result<(Vec<Device>, BTreeMap<String, LatestState>), StoreError> {
        let mut devices = Users::new(self.store.as_ref()).devices(user_id).await.map_err(|e| match e {
            crate::identity::users::UserError::Store(e) => e,
            other => StoreError::Invalid(other.to_string()),
        })?;
        let keys: Vec<_> =
            devices.iter().flat_map(|d| [keys::meter_latest(&d.id), MeterOwner::key(&d.id, user_id)]).collect();
        let mut latest = BTreeMap::new();
        for item in self.store.batch_get(&keys).await? {
            if let Some(id) = LatestState::device_of(&item.key) {
                latest.insert(id.to_owned(), LatestState::from_item(Some(&item)));
            } else if let Some(device) = devices.iter_mut().find(|d| keys::meter_of(&item.key.pk) == Some(&d.id)) {
                device.features = MeterOwner::features_of(&item);
            }
        }
        Ok((devices, latest))
    }

    /// Writes a confirmed switch state into the meter's latest state (until its next reading reports it), so the
    /// change reaches Sber's other clients through the push like any other.
    async fn record_switch(&self, device_id: &str, on: bool) -> Result<(), StoreError> {
        let key = LatestState::key(device_id);
        let Some(item) = self.store.get(&key).await? else { return Ok(()) };
        let state = LatestState::from_item(Some(&item));
        let Some(switch) = state.values.keys().copied().find(features::is_switch_state) else { return Ok(()) };
        let mut values = state.values.clone();
        values.insert(switch, if on { 1.0 } else { 0.0 });
        // Only over the reading it was read from: a newer reading knows better.
        let (update, same_reading) = state.replace_values(&values);
        match self.store.update(&key, update, same_reading).await {
            Err(error) if !error.is_condition_failed() => Err(error),
            _ => Ok(()),
        }
    }

    /// Records that Sber linked `user_id` (once: a later call finds it and writes nothing).
    pub async fn remember_link(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        let key = keys::sber_link(user_id);
        if self.store.get(&key).await?.is_some() {
            return Ok(());
        }
        let item = Item::new(key)
            .with("userId", crate::ports::store::Value::str(user_id))
            .with("linkedAt", crate::ports::store::Value::int(now));
        self.store.put(item, crate::ports::store::Condition::Always).await
    }

    /// Sber unlinked `user_id`: their changes are no longer pushed.
    pub async fn forget_link(&self, user_id: &str) -> Result<(), StoreError> {
        self.store.delete(&keys::sber_link(user_id), crate::ports::store::Condition::Always).await
    }

    /// The vendor cuts `user_id` off Sber at `now` (their smart-me grant is gone): our tokens Sber holds for them
    /// stop working at once, and Sber is told to unlink them (`POST /v1/unlink`, sent by `notify`).
    pub async fn cut_off(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        let revoked =
            crate::identity::oauth::grants::unlink(self.store.as_ref(), user_id, &self.client_id, now).await?;
        request_unlink(self.store.as_ref(), user_id, now).await?;
        tracing::warn!(user_id, revoked, "cut off Sber: the user's smart-me grant is gone");
        Ok(())
    }

    /// `GET /v1/devices` at `now`: the user's meters, read again from their smart-me account first when they come
    /// from there.
    pub async fn devices(&self, user_id: &str, now: i64) -> Result<Value, StoreError> {
        match self.control.refresh_meters(user_id, now).await {
            Ok(()) => {}
            Err(ControlError::Revoked) => self.cut_off(user_id, now).await?,
            // The meters known so far are still the user's: answered as stored.
            Err(error) => tracing::warn!(%error, user_id, "meters not read again from smart-me"),
        }
        let (devices, latest) = self.owned(user_id).await?;
        let empty = Values::new();
        let devices: Vec<Value> = devices
            .iter()
            .map(|device| {
                let values = latest.get(&device.id).map_or(&empty, |l| &l.values);
                sber_device(device, values, &self.units)
            })
            .collect();
        Ok(json!({"devices": devices}))
    }

    /// The states `device` reports now, from its latest reading (none yet: offline, zeros).
    pub fn device_states(&self, device: &Device, latest: Option<(&Values, i64)>, now: i64) -> Vec<Value> {
        let empty = Values::new();
        let (values, time_ms) = latest.unwrap_or((&empty, 0));
        let online = time_ms > 0 && now * 1000 - time_ms < self.online_window_s * 1000;
        features::states(&device_features(device), values, online, &self.units)
    }

    /// `POST /v1/query`: states of every declared feature for each owned device; a per-device error for each
    /// other entry (malformed or foreign ids), the rest answered.
    pub async fn query(&self, user_id: &str, entries: &[Entry<String>], now: i64) -> Result<Value, StoreError> {
        let (devices, latest) = self.owned(user_id).await?;
        let mut states = serde_json::Map::new();
        let mut errors = Vec::new();
        for entry in entries {
            let id = match entry {
                Ok(id) => id,
                Err((raw, reason)) => {
                    errors.push(device_error(raw, 400, reason));
                    continue;
                }
            };
            let Some(device) = devices.iter().find(|d| &d.id == id) else {
                errors.push(unknown_device(id));
                continue;
            };
            let latest = latest.get(id).map(|l| (&l.values, l.time_ms));
            states.insert(id.clone(), json!({"states": self.device_states(device, latest, now)}));
        }
        let mut answer = json!({"devices": states});
        if !errors.is_empty() {
            answer["errors"] = Value::Array(errors);
        }
        Ok(answer)
    }

    /// `POST /v1/command`: `on_off` on switchable meters through the control port; only confirmed states are
    /// answered, everything else is a per-device error (a meter without a switch refuses `on_off`).
    pub async fn command(
        &self,
        user_id: &str,
        commands: &[Entry<DeviceCommand>],
        now: i64,
    ) -> Result<Value, StoreError> {
        let (devices, latest) = self.owned(user_id).await?;
        let mut cut_off = false;
        let mut confirmed = serde_json::Map::new();
        let mut errors = Vec::new();
        for entry in commands {
            let (id, states) = match entry {
                Ok((id, states)) => (id, states),
                Err((raw, reason)) => {
                    errors.push(device_error(raw, 400, reason));
                    continue;
                }
            };
            if !devices.iter().any(|d| &d.id == id) {
                errors.push(unknown_device(id));
                continue;
            }
            let switchable = latest.get(id).is_some_and(|l| features::switchable(&l.values));
            let mut done = Vec::new();
            for state in states {
                match (state.key.as_str(), &state.value) {
                    ("on_off", StateValue::Bool(on)) if switchable => {
                        match self.control.switch(user_id, id, *on, now).await {
                            Ok(()) => {
                                done.push(features::bool_state("on_off", *on));
                                if let Err(error) = self.record_switch(id, *on).await {
                                    tracing::warn!(%error, device_id = id, "confirmed switch state not recorded");
                                }
                            }
                            Err(ControlError::NotSwitchable) => {
                                errors.push(device_error(id, 400, "this meter cannot be switched"));
                            }
                            Err(ControlError::Revoked) => {
                                cut_off = true;
                                errors.push(device_error(id, 403, "the account's smart-me access was revoked"));
                            }
                            Err(error) => {
                                tracing::warn!(%error, device_id = id, "switch command failed");
                                errors.push(device_error(id, 503, "the meter did not confirm the command; try again"));
                            }
                        }
                    }
                    ("on_off", StateValue::Bool(_)) => {
                        errors.push(device_error(id, 400, "this meter cannot be switched"));
                    }
                    ("on_off", _) => errors.push(device_error(id, 400, "on_off takes a BOOL value")),
                    (key, _) => errors.push(device_error(id, 400, &format!("function `{key}` cannot be set"))),
                }
            }
            if !done.is_empty() {
                confirmed.insert(id.clone(), json!({"states": done}));
            }
        }
        if cut_off {
            self.cut_off(user_id, now).await?;
        }
        let mut answer = json!({"devices": confirmed});
        if !errors.is_empty() {
            answer["errors"] = Value::Array(errors);
        }
        Ok(answer)
    }
}

/// Asks `notify` to tell Sber that the vendor unlinked `user_id` (`POST /v1/unlink`): marks their Sber link, if
/// Sber linked them; `notify` sends the call and then forgets the link.
pub async fn request_unlink(store: &dyn Store, user_id: &str, now: i64) -> Result<(), StoreError> {
    let update = crate::ports::store::Update::default().set(UNLINK_REQUESTED, crate::ports::store::Value::int(now));
    match store.update(&keys::sber_link(user_id), update, crate::ports::store::Condition::ItemPresent).await {
        Err(error) if !error.is_condition_failed() => Err(error),
        _ => Ok(()),
    }
}

/// The Sber link attribute that asks `notify` for `POST /v1/unlink`.
pub const UNLINK_REQUESTED: &str = "unlinkRequestedAt";

/// One device as `/v1/devices` describes it.
pub fn sber_device(device: &Device, values: &Values, units: &Units) -> Value {
    json!({
        "id": device.id,
        "name": device.name,
        "default_name": "smart-me meter",
        "model": model(&device_features(device)),
        "partner_meta": features::partner_meta(values, units),
    })
}

/// How long a removed user's Sber link is kept: past the stream's retention (24 hours) and Lambda's retries.
const LINK_OUTLIVES_USER_S: i64 = 2 * 86_400;

/// A user is being removed: Sber hears of their devices' removal from the owner items' removal, which `notify`
/// sends only for users Sber linked. The link outlives the user long enough for that, then expires.
pub async fn keep_link_after_removal(store: &dyn Store, user_id: &str, now: i64) -> Result<(), StoreError> {
    let outlived = crate::ports::store::Update::default().expiring_at(Some(now + LINK_OUTLIVES_USER_S));
    match store.update(&keys::sber_link(user_id), outlived, crate::ports::store::Condition::ItemPresent).await {
        Err(error) if !error.is_condition_failed() => Err(error),
        _ => Ok(()),
    }
}
