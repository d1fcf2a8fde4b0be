//! Our own user directory: stable user ids, logins with Argon2id password hashes, and the smart-me meters each user
//! owns. The CLI writes it; the token function checks passwords against it; the `user` function reads devices.

mod meter_owner;
pub mod password;

pub use meter_owner::MeterOwner;

use crate::ports::store::{Condition, Item, Query, SortRange, Store, StoreError, Value, Write, keys};

/// One user, without the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub login: String,
    pub created_at: i64,
}

/// A smart-me meter a user owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The smart-me device GUID, lower-case and hyphenated (as `ingest` stores it).
    pub id: String,
    pub name: String,
    pub linked_at: i64,
    /// The Sber features the device declares (its model, kept on the meter's owner item), settled from the
    /// meter's first readings; `None` for a device nothing is known of yet.
    pub features: Option<Vec<String>>,
    /// Whether the meter has a relay that switches it (from smart-me's actions for it, or a reading of its switch
    /// state); `None` while nothing tells.
    pub switchable: Option<bool>,
    /// The units the meter reports in, where its smart-me device data says.
    pub units: MeterUnits,
}

/// The units a meter's values are in, as smart-me's device data (`GET /api/Devices`) names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeterUnits {
    /// `ActivePowerUnit`: `W`, `kW`.
    pub power: Option<String>,
    /// `CounterReadingUnit`: `kWh`, `Wh`, `m3`.
    pub energy: Option<String>,
}

/// Why a directory call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("a login has 1 to 64 characters without spaces or control characters")]
    InvalidLogin,
    #[error("the login `{0}` is taken")]
    LoginTaken(String),
    #[error("no user has the login `{0}`")]
    NoSuchLogin(String),
    #[error("a device id is a smart-me device GUID, such as 2c6d6e4b-3f29-4f2b-9b5e-0c7a36f2a0e1")]
    InvalidDevice,
    #[error("a device name has 1 to 64 characters without control characters")]
    InvalidDeviceName,
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The directory over a store.
pub struct Users<'s> {
    store: &'s dyn Store,
}

/// The attributes of a user who signs in upstream (`crate::identity::upstream::identities` writes them): the
/// provider, the key of their identity index item, a name to show; the index item's pointer attribute.
pub mod upstream_profile {
    pub const PROVIDER: &str = "provider";
    pub const IDENTITY: &str = "identity";
    pub const DISPLAY: &str = "displayName";
    pub const USER: &str = "user";
}

/// A user id nobody has (ids are `u-` and 20 hex digits): the profile read for unknown logins.
const DECOY_USER_ID: &str = "u-decoy";

impl<'s> Users<'s> {
    pub fn new(store: &'s dyn Store) -> Self {
        Self { store }
    }

    /// The canonical form of a login: trimmed and lower-case, so `Alice` and `alice ` are the same person.
    pub fn normalize_login(login: &str) -> Result<String, UserError> {
        let login = login.trim().to_lowercase();
        let valid =
            (1..=64).contains(&login.chars().count()) && !login.chars().any(|c| c.is_control() || c.is_whitespace());
        if valid { Ok(login) } else { Err(UserError::InvalidLogin) }
    }

    /// Creates a user with a new stable id; the login is claimed by a conditional write, so two concurrent adds of
    /// one login cannot both succeed.
    pub async fn add(&self, login: &str, password: &str, now: i64) -> Result<User, UserError> {
        let login = Self::normalize_login(login)?;
        let hash = password::hash(password)?;
        let id = format!("u-{}", crate::crypto::to_hex(&rand::random::<[u8; 10]>()));
        let writes = vec![
            Write::Put {
                item: Item::new(keys::user_login(&login)).with("user", Value::str(&id)),
                condition: Condition::ItemAbsent,
            },
            Write::Put {
                item: Item::new(keys::user_profile(&id))
                    .with("login", Value::str(&login))
                    .with("passwordHash", Value::str(hash))
                    .with("createdAt", Value::int(now)),
                condition: Condition::ItemAbsent,
            },
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok(User { id, login, created_at: now }),
            Err(e) if e.is_condition_failed() => {
                // Our own transaction, applied by an attempt whose answer was lost, also fails the retry's
                // condition: the login then points at the id we just made.
                let owner = self.store.get(&keys::user_login(&login)).await?;
                if owner.as_ref().and_then(|o| o.str("user")) == Some(id.as_str()) {
                    return Ok(User { id, login, created_at: now });
                }
                Err(UserError::LoginTaken(login))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The user with `login` and their password hash, if any.
    pub async fn credentials(&self, login: &str) -> Result<Option<(User, String)>, UserError> {
        // Known and unknown logins cost the same two reads: an unknown one reads a profile nobody has, so neither
        // time nor the store's bill tells which logins exist.
        let normalized = Self::normalize_login(login).unwrap_or_default();
        let pointer = self.store.get(&keys::user_login(&normalized)).await?;
        let id = pointer.as_ref().and_then(|p| p.str("user")).filter(|_| !normalized.is_empty());
        let profile = self.store.get(&keys::user_profile(id.unwrap_or(DECOY_USER_ID))).await?;
        let (Some(id), Some(profile)) = (id, profile) else { return Ok(None) };
        let hash = profile.str("passwordHash").unwrap_or_default().to_owned();
        Ok(Some((profile_user(id, &profile), hash)))
    }

    /// The user with id `id`, if any.
    pub async fn get(&self, id: &str) -> Result<Option<User>, UserError> {
        Ok(self.store.get(&keys::user_profile(id)).await?.map(|p| profile_user(id, &p)))
    }

    /// The user with `login`, or an error naming it.
    pub async fn by_login(&self, login: &str) -> Result<User, UserError> {
        match self.credentials(login).await? {
            Some((user, _)) => Ok(user),
            None => Err(UserError::NoSuchLogin(login.trim().to_owned())),
        }
    }

    /// Every user, by login.
    pub async fn list(&self) -> Result<Vec<User>, UserError> {
        let pointers = self.store.query(&Query::partition(keys::LOGIN_PARTITION)).await?;
        let profiles = self
            .store
            .batch_get(&pointers.iter().filter_map(|p| p.str("user")).map(keys::user_profile).collect::<Vec<_>>())
            .await?;
        let mut users: Vec<User> =
            profiles.iter().filter_map(|p| keys::user_of(&p.key.pk).map(|id| profile_user(id, p))).collect();
        users.sort_by(|a, b| a.login.cmp(&b.login));
        Ok(users)
    }

    /// Records that user `user_id` owns smart-me meter `device_id` under `name` (again: renames it).
    pub async fn link_device(&self, user_id: &str, device_id: &str, name: &str, now: i64) -> Result<Device, UserError> {
        let id = normalize_device_id(device_id)?;
        let name = name.trim();
        if !(1..=64).contains(&name.chars().count()) || name.chars().any(char::is_control) {
            return Err(UserError::InvalidDeviceName);
        }
        let device = Device {
            id,
            name: name.to_owned(),
            linked_at: now,
            features: None,
            switchable: None,
            units: MeterUnits::default(),
        };
        // The meter's side: whom to tell of its changes, and the device's Sber model once known. Linking again (a
        // rename) keeps the model. The profile must exist: a device is never attached to a mistyped user id.
        let writes = vec![
            Write::Check { key: keys::user_profile(user_id), condition: Condition::ItemPresent },
            Write::Put { item: device.user_item(user_id), condition: Condition::Always },
            Write::Update {
                key: MeterOwner::key(&device.id, user_id),
                update: MeterOwner::link(user_id, &device),
                condition: Condition::Always,
            },
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok(device),
            Err(e) if e.is_condition_failed() => Err(UserError::NoSuchLogin(user_id.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// The meters user `user_id` owns, by device id.
    pub async fn devices(&self, user_id: &str) -> Result<Vec<Device>, UserError> {
        let query =
            Query::partition(keys::user_partition(user_id)).range(SortRange::Prefix(keys::DEVICE_PREFIX.to_owned()));
        Ok(self.store.query(&query).await?.iter().filter_map(Device::from_user_item).collect())
    }
}

impl Users<'_> {
    /// Removes the user with `login` and everything in their partition (profile, devices, links, token families):
    /// their access and refresh tokens stop working, since their families are gone. Partners' records of the user
    /// go with `crate::partners::offboarding::remove_user`, which calls this.
    pub async fn remove(&self, login: &str) -> Result<User, UserError> {
        let user = self.by_login(login).await?;
        self.remove_found(&user).await?;
        Ok(user)
    }

    /// [`Self::remove`] of a user already read.
    pub async fn remove_found(&self, user: &User) -> Result<(), UserError> {
        for device in self.devices(&user.id).await? {
            self.store.delete(&MeterOwner::key(&device.id, &user.id), Condition::Always).await?;
        }
        // An upstream account signing in again after this is a new user.
        let profile = self.store.get(&keys::user_profile(&user.id)).await?;
        if let Some(identity) = profile.as_ref().and_then(|p| p.str(upstream_profile::IDENTITY)) {
            self.store.delete(&keys::upstream_identity_in(identity), Condition::Always).await?;
        }
        for item in self.store.query(&Query::partition(keys::user_partition(&user.id))).await? {
            self.store.delete(&item.key, Condition::Always).await?;
        }
        self.store.delete(&keys::user_login(&user.login), Condition::Always).await?;
        Ok(())
    }

    /// Replaces the password of the user with `login`. Links and tokens stay: partners keep their access; `remove`
    /// is the way to cut a user off.
    pub async fn set_password(&self, login: &str, password: &str) -> Result<User, UserError> {
        let user = self.by_login(login).await?;
        let update = crate::ports::store::Update::default().set("passwordHash", Value::str(password::hash(password)?));
        match self.store.update(&keys::user_profile(&user.id), update, Condition::ItemPresent).await {
            Ok(_) => Ok(user),
            Err(e) if e.is_condition_failed() => Err(UserError::NoSuchLogin(user.login)),
            Err(e) => Err(e.into()),
        }
    }

    /// Unlinks meter `device_id` from user `user_id`; false when it was not linked.
    pub async fn unlink_device(&self, user_id: &str, device_id: &str) -> Result<bool, UserError> {
        let id = normalize_device_id(device_id)?;
        let writes = vec![
            Write::Delete { key: keys::user_device(user_id, &id), condition: Condition::ItemPresent },
            Write::Delete { key: MeterOwner::key(&id, user_id), condition: Condition::Always },
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok(true),
            Err(e) if e.is_condition_failed() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// A smart-me device GUID in the form `ingest` stores (lower-case, hyphenated).
pub fn normalize_device_id(device_id: &str) -> Result<String, UserError> {
    uuid::Uuid::try_parse(device_id.trim()).map(|u| u.hyphenated().to_string()).map_err(|_| UserError::InvalidDevice)
}

fn profile_user(id: &str, profile: &Item) -> User {
    User {
        id: id.to_owned(),
        login: profile.str("login").unwrap_or_default().to_owned(),
        created_at: profile.i64("createdAt").unwrap_or_default(),
    }
}
