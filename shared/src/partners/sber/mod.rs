//! Sber Smart Home cloud-to-cloud, the vendor side: a user's smart-me meters as Sber devices, their states from
//! the latest readings `ingest` stores, and on/off commands through the device-control port.
//!
//! Sber is offered a meter only as a `socket` that switches (`on_off` is obligatory for sockets and relays, and a
//! switch that always fails is what moderation and users see as broken): a meter whose relay is known, from
//! smart-me's actions for it or a reading of its switch state. `SBER_UNSWITCHABLE_METERS=socket` offers the others
//! too, with their supply state as `on_off` and commands refused per device. A device's model (its features) is the
//! one stored with the device, not recomputed from each reading (Sber caches models). Per-device errors carry
//! Sber's codes only (400, 401, 403, 500, 503).

pub mod calls;
pub mod client;
pub mod command;
pub mod features;
pub mod links;
pub mod notify;
pub mod online;
pub mod requests;
pub mod settings;
pub mod silence;

pub use links::{UNLINK_REQUESTED, request_unlink};

use crate::identity::users::{Device, MeterOwner, UserError, Users};
use crate::partners::smartme::control::{ControlError, DeviceControl};
use crate::partners::smartme::latest::LatestState;
use crate::ports::store::{Condition, Store, StoreError, keys};
use features::{Units, Values};
use futures_util::StreamExt;
use requests::Entry;
use serde_json::{Value, json};
use settings::SberSettings;
use std::sync::Arc;

/// The Sber side of one deployment.
pub struct SberHome {
    pub store: Arc<dyn Store>,
    pub control: Arc<dyn DeviceControl>,
    pub settings: SberSettings,
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

/// One device as `/v1/devices` describes it (`units`: the deployment's, which the meter's own override).
pub fn sber_device(device: &Device, values: &Values, units: &Units) -> Value {
    let units = units.for_meter(&device.units);
    json!({
        "id": device.id,
        "name": device.name,
        "default_name": "smart-me meter",
        "model": model(&device_features(device)),
        "partner_meta": features::partner_meta(values, &units),
    })
}

/// A user's meter as Sber's answers need it.
pub(crate) struct OwnedMeter {
    pub device: Device,
    /// The ObisCode of its switch action, when known.
    pub switch_action: Option<String>,
    pub latest: LatestState,
}

impl SberHome {
    /// From `SBER_CLIENT_ID` (`sber`) and Sber's settings ([`SberSettings::from_vars`]).
    pub fn from_vars(
        vars: &crate::env::Vars,
        store: Arc<dyn Store>,
        control: Arc<dyn DeviceControl>,
    ) -> Result<Self, crate::env::ConfigError> {
        let client_id = vars.get_or("SBER_CLIENT_ID", "sber").to_owned();
        Ok(Self { store, control, settings: SberSettings::from_vars(vars)?, client_id })
    }

    /// The user's meters, each with what its owner item knows (model, switch) and its latest state; a meter whose
    /// readings carry a switch state counts as switchable (`notify` records it).
    async fn owned(&self, user_id: &str) -> Result<Vec<OwnedMeter>, StoreError> {
        let devices = Users::new(self.store.as_ref()).devices(user_id).await.map_err(|e| match e {
            UserError::Store(e) => e,
            other => StoreError::Invalid(other.to_string()),
        })?;
        let mut meters: Vec<OwnedMeter> = devices
            .into_iter()
            .map(|device| OwnedMeter { device, switch_action: None, latest: LatestState::default() })
            .collect();
        let keys: Vec<_> = meters
            .iter()
            .flat_map(|m| [keys::meter_latest(&m.device.id), MeterOwner::key(&m.device.id, user_id)])
            .collect();
        for item in self.store.batch_get(&keys).await? {
            let Some(meter) = meters.iter_mut().find(|m| keys::meter_of(&item.key.pk) == Some(&m.device.id)) else {
                continue;
            };
            if LatestState::device_of(&item.key).is_some() {
                meter.latest = LatestState::from_item(Some(&item));
            } else if let Some(owner) = MeterOwner::from_item(&item) {
                meter.device.features = owner.device.features;
                meter.device.switchable = owner.device.switchable;
                meter.device.units = owner.device.units;
                meter.switch_action = MeterOwner::switch_action_of(&item).map(str::to_owned);
            }
        }
        for meter in &mut meters {
            if features::switchable(&meter.latest.values) {
                meter.device.switchable = Some(true);
            }
        }
        Ok(meters)
    }

    /// The user's meters Sber is offered.
    async fn offered(&self, user_id: &str) -> Result<Vec<OwnedMeter>, StoreError> {
        let mut meters = self.owned(user_id).await?;
        meters.retain(|m| self.settings.offers(&m.device));
        Ok(meters)
    }

    /// Asks the device cloud what switches each meter nothing is known of yet (concurrently, within the command
    /// deadline) and records it on the owner items; a meter it could not tell about stays unknown until asked
    /// again or until a reading shows a switch state.
    async fn learn_switches(&self, user_id: &str, meters: &mut [OwnedMeter], now: i64) -> Result<(), StoreError> {
        let unknown: Vec<usize> = (0..meters.len()).filter(|&i| meters[i].device.switchable.is_none()).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = unknown.iter().map(|&i| meters[i].device.id.clone()).collect();
        let asks: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| async move { (n, self.control.switch_action(user_id, id, now).await) })
            .collect();
        let asks = futures_util::stream::iter(asks).buffer_unordered(self.settings.command_concurrency);
        let answers = within(self.settings.command_deadline, asks).await;
        for (n, answer) in answers {
            let meter = &mut meters[unknown[n]];
            let action = match answer {
                Ok(action) => action,
                Err(ControlError::Revoked) => return Ok(()),
                Err(error) => {
                    tracing::warn!(%error, device_id = meter.device.id, "the meter's switch could not be learnt");
                    continue;
                }
            };
            let update = MeterOwner::switch_known(action.as_deref(), true);
            match self.store.update(&MeterOwner::key(&meter.device.id, user_id), update, Condition::ItemPresent).await {
                Ok(_) => {}
                Err(error) if error.is_condition_failed() => continue,
                Err(error) => return Err(error),
            }
            meter.device.switchable = Some(action.is_some());
            meter.switch_action = action;
        }
        Ok(())
    }

    /// `GET /v1/devices` at `now`: the user's meters Sber is offered, read again from their smart-me account first
    /// when they come from there.
    pub async fn devices(&self, user_id: &str, now: i64) -> Result<Value, StoreError> {
        match self.control.refresh_meters(user_id, now).await {
            Ok(()) => {}
            Err(ControlError::Revoked) => self.cut_off(user_id, now).await?,
            // The meters known so far are still the user's: answered as stored.
            Err(error) => tracing::warn!(%error, user_id, "meters not read again from smart-me"),
        }
        let mut meters = self.owned(user_id).await?;
        self.learn_switches(user_id, &mut meters, now).await?;
        let units = &self.settings.units;
        let devices: Vec<Value> = meters
            .iter()
            .filter(|m| self.settings.offers(&m.device))
            .map(|m| sber_device(&m.device, &m.latest.values, units))
            .collect();
        Ok(json!({"devices": devices}))
    }

    /// The states `device` reports at `now` (epoch seconds) from its latest state (none yet: offline, zeros).
    pub fn device_states(&self, device: &Device, latest: &LatestState, now: i64) -> Vec<Value> {
        let online = self.settings.online.online(latest, now);
        let units = self.settings.units.for_meter(&device.units);
        features::states(&device_features(device), &latest.values, online, &units)
    }

    /// `POST /v1/query`: states of every declared feature for each offered device; a per-device error for each
    /// other entry (malformed or foreign ids), the rest answered.
    pub async fn query(&self, user_id: &str, entries: &[Entry<String>], now: i64) -> Result<Value, StoreError> {
        let meters = self.offered(user_id).await?;
        let mut states = serde_json::Map::new();
        let mut errors = Vec::new();
        for entry in entries {
            let Some((meter, _)) = offered_meter(&meters, entry.as_ref().map(|id| (id, &())), &mut errors) else {
                continue;
            };
            let id = meter.device.id.clone();
            states.insert(id, json!({"states": self.device_states(&meter.device, &meter.latest, now)}));
        }
        let mut answer = json!({"devices": states});
        if !errors.is_empty() {
            answer["errors"] = Value::Array(errors);
        }
        Ok(answer)
    }
}

/// The offered meter an entry of Sber's request names, with the rest of the entry; `None` with its per-device error
/// added to `errors` for an entry that is malformed or names no offered meter.
pub(crate) fn offered_meter<'m, 'e, T>(
    meters: &'m [OwnedMeter],
    entry: Result<(&String, &'e T), &(String, String)>,
    errors: &mut Vec<Value>,
) -> Option<(&'m OwnedMeter, &'e T)> {
    let (id, rest) = match entry {
        Ok(found) => found,
        Err((raw, reason)) => {
            errors.push(device_error(raw, 400, reason));
            return None;
        }
    };
    match meters.iter().find(|m| &m.device.id == id) {
        Some(meter) => Some((meter, rest)),
        None => {
            errors.push(unknown_device(id));
            None
        }
    }
}

/// What `stream` yields until it ends or `deadline` passes, whichever is first.
pub(crate) async fn within<S: futures_util::Stream>(deadline: std::time::Duration, stream: S) -> Vec<S::Item> {
    let mut stream = std::pin::pin!(stream);
    let until = tokio::time::Instant::now() + deadline;
    let mut items = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout_at(until, stream.next()).await {
        items.push(item);
    }
    items
}
