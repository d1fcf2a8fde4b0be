//! The two stored sides of a user's meter: the user's device item (`USER#<u>` / `DEVICE#<m>`: their meters, by
//! name) and the meter's owner item (`METER#<m>` / `OWNER#<u>`: whom to tell of its changes, the Sber model
//! features once settled, and whether and how the meter switches once known). Their attribute names live here only.

use super::{Device, MeterUnits};
use crate::ports::store::{Condition, Item, Key, Update, Value, keys};

const USER_ID: &str = "userId";
const DEVICE_ID: &str = "deviceId";
const NAME: &str = "name";
const LINKED_AT: &str = "linkedAt";
const FEATURES: &str = "features";
const SWITCHABLE: &str = "switchable";
const SWITCH_ACTION: &str = "switchAction";
/// How the switchability was learnt, when it was while answering Sber's devices call.
const SWITCH_LEARNT: &str = "switchLearnt";
const LEARNT_IN_ANSWER: &str = "devicesAnswer";
const POWER_UNIT: &str = "powerUnit";
const ENERGY_UNIT: &str = "energyUnit";

impl Device {
    /// The user's device item.
    pub fn user_item(&self, user_id: &str) -> Item {
        Item::new(keys::user_device(user_id, &self.id))
            .with(DEVICE_ID, Value::str(&self.id))
            .with(NAME, Value::str(&self.name))
            .with(LINKED_AT, Value::int(self.linked_at))
    }

    /// A device from the user's device item (its features live on the owner item).
    pub fn from_user_item(item: &Item) -> Option<Self> {
        Some(Self {
            id: item.str(DEVICE_ID)?.to_owned(),
            name: item.str(NAME).unwrap_or_default().to_owned(),
            linked_at: item.i64(LINKED_AT).unwrap_or_default(),
            features: None,
            switchable: None,
            units: MeterUnits::default(),
        })
    }
}

/// A meter's owner, as its owner item says.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterOwner {
    pub user_id: String,
    pub device: Device,
}

impl MeterOwner {
    pub fn key(device_id: &str, user_id: &str) -> Key {
        keys::meter_owner(device_id, user_id)
    }

    /// The update that links (or renames) `device` for `user_id`, keeping a settled model.
    pub fn link(user_id: &str, device: &Device) -> Update {
        Update::default()
            .set(USER_ID, Value::str(user_id))
            .set(DEVICE_ID, Value::str(&device.id))
            .set(NAME, Value::str(&device.name))
            .set(LINKED_AT, Value::int(device.linked_at))
    }

    /// The owner an owner item names, with its settled features.
    pub fn from_item(item: &Item) -> Option<Self> {
        let device = Device {
            id: item.str(DEVICE_ID)?.to_owned(),
            name: item.str(NAME).unwrap_or_default().to_owned(),
            linked_at: item.i64(LINKED_AT).unwrap_or(0),
            features: Self::features_of(item),
            switchable: item.bool(SWITCHABLE),
            units: Self::units_of(item),
        };
        Some(Self { user_id: item.str(USER_ID)?.to_owned(), device })
    }

    /// The model features an owner item holds, if its meter's were settled.
    pub fn features_of(item: &Item) -> Option<Vec<String>> {
        match item.get(FEATURES)? {
            Value::L(list) => list.iter().map(|f| f.as_str().map(str::to_owned)).collect(),
            _ => None,
        }
    }

    /// The units the meter reports in, as its smart-me device data said at the last sync.
    pub fn units_of(item: &Item) -> MeterUnits {
        MeterUnits { power: item.str(POWER_UNIT).map(str::to_owned), energy: item.str(ENERGY_UNIT).map(str::to_owned) }
    }

    /// The update recording the units the meter's smart-me device data names (a unit it does not name is
    /// forgotten).
    pub fn record_units(units: &MeterUnits) -> Update {
        let mut update = Update::default();
        for (name, unit) in [(POWER_UNIT, &units.power), (ENERGY_UNIT, &units.energy)] {
            update = match unit {
                Some(unit) => update.set(name, Value::str(unit)),
                None => update.remove(name),
            };
        }
        update
    }

    /// The action that switches the meter (its ObisCode at smart-me), when known.
    pub fn switch_action_of(item: &Item) -> Option<&str> {
        item.str(SWITCH_ACTION)
    }

    /// Whether the owner item's switchability was learnt while answering Sber's devices call (which then carried
    /// the device: Sber need not be told of it again).
    pub fn switch_learnt_in_answer(item: &Item) -> bool {
        item.str(SWITCH_LEARNT) == Some(LEARNT_IN_ANSWER)
    }

    /// The update recording what switches the meter: its main switch action (`Some(obis)`), or that it has none;
    /// `in_answer` when learnt while answering Sber's devices call.
    pub fn switch_known(action: Option<&str>, in_answer: bool) -> Update {
        let update = match action {
            Some(obis) => Update::default().set(SWITCHABLE, Value::Bool(true)).set(SWITCH_ACTION, Value::str(obis)),
            None => Update::default().set(SWITCHABLE, Value::Bool(false)).remove(SWITCH_ACTION),
        };
        if in_answer { update.set(SWITCH_LEARNT, Value::str(LEARNT_IN_ANSWER)) } else { update.remove(SWITCH_LEARNT) }
    }

    /// The update recording that the meter reported a switch state (its action not known yet), unless it is known
    /// to be switchable already; the owner item must exist (a reading never recreates an unlinked owner).
    pub fn switch_seen() -> (Update, Condition) {
        let update = Update::default().set(SWITCHABLE, Value::Bool(true)).remove(SWITCH_LEARNT);
        let not_yet = Condition::Or(vec![
            Condition::AttrAbsent(SWITCHABLE.into()),
            Condition::Eq(SWITCHABLE.into(), Value::Bool(false)),
        ]);
        (update, Condition::And(vec![Condition::ItemPresent, not_yet]))
    }

    /// The update that settles the model's features, unless they were settled before.
    pub fn settle(features: &[&str]) -> (Update, Condition) {
        let update = Update::default().set(FEATURES, Value::L(features.iter().map(|f| Value::str(*f)).collect()));
        (update, Condition::AttrAbsent(FEATURES.into()))
    }
}
