//! The two stored sides of a user's meter: the user's device item (`USER#<u>` / `DEVICE#<m>`: their meters, by
//! name) and the meter's owner item (`METER#<m>` / `OWNER#<u>`: whom to tell of its changes, and the Sber model
//! features once settled). Their attribute names live here only.

use super::Device;
use crate::ports::store::{Condition, Item, Key, Update, Value, keys};

const USER_ID: &str = "userId";
const DEVICE_ID: &str = "deviceId";
const NAME: &str = "name";
const LINKED_AT: &str = "linkedAt";
const FEATURES: &str = "features";

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

    /// The update that settles the model's features, unless they were settled before.
    pub fn settle(features: &[&str]) -> (Update, Condition) {
        let update = Update::default().set(FEATURES, Value::L(features.iter().map(|f| Value::str(*f)).collect()));
        (update, Condition::AttrAbsent(FEATURES.into()))
    }
}
