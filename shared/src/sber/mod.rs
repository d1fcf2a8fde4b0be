//! Sber Smart Home cloud-to-cloud, the vendor side: a user's smart-me meters as Sber devices, their states from
//! the latest readings `ingest` stores, and on/off commands through the device-control port.

pub mod functions;
pub mod requests;

use crate::smartme::control::{ControlError, DeviceControl};
use crate::smartme::obis::Obis;
use crate::store::{Item, Store, StoreError, keys};
use crate::users::{Device, Users};
use functions::{Units, Values};
use requests::{CommandState, StateValue};
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
}

/// A per-device error (`{"id", "code", "message"}` in Sber's `errors` list).
fn device_error(id: &str, code: u16, message: &str) -> Value {
    json!({"id": id, "code": code, "message": message})
}

/// What the latest-state item of a meter says.
struct Latest {
    values: Values,
    /// Epoch milliseconds of the newest reading.
    time_ms: i64,
}

fn latest_of(item: &Item) -> Latest {
    let values = item
        .get("v")
        .and_then(|v| v.as_map())
        .map(|map| map.iter().filter_map(|(k, v)| Some((k.parse::<Obis>().ok()?, v.as_f64()?))).collect::<Values>())
        .unwrap_or_default();
    Latest { values, time_ms: item.i64("t").unwrap_or(0) }
}

impl SberHome {
    /// The user's meters and their latest states, by device id.
    async fn owned(&self, user_id: &str) -> Result<(Vec<Device>, BTreeMap<String, Latest>), StoreError> {
        let devices = Users::new(self.store.as_ref()).devices(user_id).await.map_err(|e| match e {
            crate::users::UserError::Store(e) => e,
            other => StoreError::Invalid(other.to_string()),
        })?;
        let keys: Vec<_> = devices.iter().map(|d| keys::meter_latest(&d.id)).collect();
        let latest = self
            .store
            .batch_get(&keys)
            .await?
            .iter()
            .filter_map(|item| {
                let id = item.key.pk.strip_prefix("METER#")?.to_owned();
                Some((id, latest_of(item)))
            })
            .collect();
        Ok((devices, latest))
    }

    /// `GET /v1/devices`.
    pub async fn devices(&self, user_id: &str) -> Result<Value, StoreError> {
        let (devices, latest) = self.owned(user_id).await?;
        let empty = Values::new();
        let devices: Vec<Value> = devices
            .iter()
            .map(|device| {
                let values = latest.get(&device.id).map_or(&empty, |l| &l.values);
                let features = functions::features(values);
                json!({
                    "id": device.id,
                    "name": device.name,
                    "default_name": "smart-me meter",
                    "model": {
                        "id": format!("smartme-{}", features.join("-")),
                        "manufacturer": "smart-me",
                        "model": "smart-me meter",
                        "category": "socket",
                        "features": features,
                    },
                    "partner_meta": functions::partner_meta(values, &self.units),
                })
            })
            .collect();
        Ok(json!({"devices": devices}))
    }

    /// `POST /v1/query`: states of every declared function for each owned device; per-device errors for others.
    pub async fn query(&self, user_id: &str, ids: &[String], now: i64) -> Result<Value, StoreError> {
        let (devices, latest) = self.owned(user_id).await?;
        let mut states = serde_json::Map::new();
        let mut errors = Vec::new();
        let empty = Latest { values: Values::new(), time_ms: 0 };
        for id in ids {
            if !devices.iter().any(|d| &d.id == id) {
                errors.push(device_error(id, 404, "no such device for this user"));
                continue;
            }
            let latest = latest.get(id).unwrap_or(&empty);
            let online = latest.time_ms > 0 && now * 1000 - latest.time_ms < self.online_window_s * 1000;
            let features = functions::features(&latest.values);
            let device_states = functions::states(&features, &latest.values, online, &self.units);
            states.insert(id.clone(), json!({"states": device_states}));
        }
        let mut answer = json!({"devices": states});
        if !errors.is_empty() {
            answer["errors"] = Value::Array(errors);
        }
        Ok(answer)
    }

    /// `POST /v1/command`: `on_off` on switchable meters through the control port; only confirmed states are
    /// answered, everything else is a per-device error.
    pub async fn command(&self, user_id: &str, commands: &[(String, Vec<CommandState>)]) -> Result<Value, StoreError> {
        let (devices, latest) = self.owned(user_id).await?;
        let mut confirmed = serde_json::Map::new();
        let mut errors = Vec::new();
        for (id, states) in commands {
            if !devices.iter().any(|d| &d.id == id) {
                errors.push(device_error(id, 404, "no such device for this user"));
                continue;
            }
            let switchable = latest.get(id).is_some_and(|l| l.values.keys().any(functions::is_switch_state));
            let mut done = Vec::new();
            for state in states {
                match (state.key.as_str(), &state.value) {
                    ("on_off", StateValue::Bool(on)) if switchable => match self.control.switch(id, *on).await {
                        Ok(()) => done.push(functions::bool_state("on_off", *on)),
                        Err(ControlError::NotSwitchable) => {
                            errors.push(device_error(id, 400, "this meter cannot be switched"));
                        }
                        Err(error) => {
                            tracing::warn!(%error, device_id = id, "switch command failed");
                            errors.push(device_error(id, 502, "the meter did not confirm the command"));
                        }
                    },
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
        let mut answer = json!({"devices": confirmed});
        if !errors.is_empty() {
            answer["errors"] = Value::Array(errors);
        }
        Ok(answer)
    }
}
