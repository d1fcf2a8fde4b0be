//! A user's meters discovered from their smart-me account: the meters `GET /api/Devices` lists become their devices
//! (new ones linked, renamed ones renamed, gone ones unlinked, their power and counter units kept), at each sign-in
//! with smart-me and again when a partner asks for the devices after [`MAX_AGE_S`]. The owner items these writes
//! change tell Sber, as any link does.

use super::client::SmartMeDevice;
use crate::identity::users::{MeterOwner, MeterUnits, UserError, Users, normalize_device_id};
use crate::ports::store::{Condition, Store};

/// How long a meter list read from smart-me is used before it is read again (seconds; `SMARTME_DEVICES_TTL_S`).
pub const MAX_AGE_S: i64 = 60;

/// The most meters one account brings (Sber's limit of devices per call).
pub const MAX_METERS: usize = 100;

/// What a sync changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeterSync {
    pub added: usize,
    pub renamed: usize,
    pub removed: usize,
}

/// The name a meter shows: smart-me's, cleaned of control characters and kept within our 64 characters.
fn display_name(device: &SmartMeDevice) -> String {
    let name: String = device.name.as_deref().unwrap_or_default().chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    let name = if name.is_empty() {
        match &device.serial {
            Some(serial) => format!("smart-me meter {}", serial.to_string().trim_matches('"')),
            None => "smart-me meter".to_owned(),
        }
    } else {
        name.to_owned()
    };
    name.chars().take(64).collect()
}

/// Makes `user_id`'s meters those of `account` at `now`.
pub async fn sync(
    store: &dyn Store,
    user_id: &str,
    account: &[SmartMeDevice],
    now: i64,
) -> Result<MeterSync, UserError> {
    let users = Users::new(store);
    let linked = users.devices(user_id).await?;
    let mut report = MeterSync::default();
    let mut seen = Vec::new();
    for device in account.iter().take(MAX_METERS) {
        let Ok(id) = normalize_device_id(&device.id) else { continue };
        let name = display_name(device);
        match linked.iter().find(|d| d.id == id) {
            Some(existing) if existing.name == name => {}
            Some(_) => {
                users.link_device(user_id, &id, &name, now).await?;
                report.renamed += 1;
            }
            None => {
                users.link_device(user_id, &id, &name, now).await?;
                report.added += 1;
            }
        }
        seen.push((id, units_of(device)));
    }
    for device in linked.iter().filter(|d| !seen.iter().any(|(id, _)| *id == d.id)) {
        users.unlink_device(user_id, &device.id).await?;
        report.removed += 1;
    }
    record_units(store, user_id, &seen).await?;
    Ok(report)
}

/// The units a meter's device data names.
fn units_of(device: &SmartMeDevice) -> MeterUnits {
    MeterUnits { power: device.active_power_unit.clone(), energy: device.counter_reading_unit.clone() }
}

/// Writes each meter's units on its owner item where they changed (read first: a sync every minute must not write
/// every meter every minute).
async fn record_units(store: &dyn Store, user_id: &str, meters: &[(String, MeterUnits)]) -> Result<(), UserError> {
    let keys: Vec<_> = meters.iter().map(|(id, _)| MeterOwner::key(id, user_id)).collect();
    let owners = store.batch_get(&keys).await?;
    for (id, units) in meters {
        let key = MeterOwner::key(id, user_id);
        let Some(owner) = owners.iter().find(|o| o.key == key) else { continue };
        if MeterOwner::units_of(owner) != *units {
            store.update(&key, MeterOwner::record_units(units), Condition::ItemPresent).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn device(value: serde_json::Value) -> SmartMeDevice {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn names_are_cleaned_and_bounded() {
        let id = "2c6d6e4b-3f29-4f2b-9b5e-0c7a36f2a0e1";
        assert_eq!(display_name(&device(json!({"Id": id, "Name": " Hall\u{7}meter "}))), "Hallmeter");
        assert_eq!(display_name(&device(json!({"Id": id, "Serial": 12345}))), "smart-me meter 12345");
        assert_eq!(display_name(&device(json!({"Id": id, "Name": "x".repeat(100)}))).chars().count(), 64);
        let full = device(json!({"Id": id, "Name": "Garage", "ActivePowerUnit": "kW", "CounterReadingUnit": "kWh",
            "SwitchOn": true, "Unknown": [1, 2]}));
        assert_eq!((full.active_power_unit.as_deref(), full.switch_on), (Some("kW"), Some(true)));
    }
}
