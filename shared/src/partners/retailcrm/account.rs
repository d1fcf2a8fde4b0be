//! A RetailCRM installation of the module, as stored: one account item by clientId, one index item by systemUrl,
//! and its entry in the operators' list of installations.

use crate::ports::store::{Condition, Item, Key, Query, Store, StoreError, Update, Value, Write, keys};

/// One CRM's installation of the module.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub client_id: String,
    pub code: String,
    pub system_url: String,
    pub api_key: String,
    pub active: bool,
    pub freeze: bool,
    /// The module settings the CRM sent last, as JSON text.
    pub settings: Option<String>,
    /// The scopes the installation's API key was granted (at registration, or by `update-scopes`); `None` for an
    /// installation older than this record, taken to hold the default scopes.
    pub scopes: Option<Vec<String>>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("client_id", &self.client_id)
            .field("code", &self.code)
            .field("system_url", &self.system_url)
            .field("active", &self.active)
            .field("freeze", &self.freeze)
            .finish_non_exhaustive()
    }
}

impl Account {
    /// Whether the CRM lets the module work for this account.
    pub fn usable(&self) -> bool {
        self.active && !self.freeze
    }

    fn to_item(&self) -> Item {
        let mut item = Item::new(keys::retailcrm_account(&self.client_id))
            .with("code", Value::str(&self.code))
            .with("systemUrl", Value::str(&self.system_url))
            .with("apiKey", Value::str(&self.api_key))
            .with("active", Value::Bool(self.active))
            .with("freeze", Value::Bool(self.freeze))
            .with("createdAt", Value::int(self.created_at))
            .with("updatedAt", Value::int(self.updated_at));
        if let Some(settings) = &self.settings {
            item = item.with("settings", Value::str(settings));
        }
        if let Some(scopes) = &self.scopes {
            item = item.with("scopes", Value::L(scopes.iter().map(Value::str).collect()));
        }
        item
    }

    pub fn from_item(item: &Item) -> Option<Self> {
        let client_id = keys::retailcrm_client_of(&item.key)?.to_owned();
        Some(Self {
            client_id,
            code: item.str("code")?.to_owned(),
            system_url: item.str("systemUrl")?.to_owned(),
            api_key: item.str("apiKey")?.to_owned(),
            active: item.get("active").and_then(Value::as_bool).unwrap_or(false),
            freeze: item.get("freeze").and_then(Value::as_bool).unwrap_or(false),
            settings: item.str("settings").map(str::to_owned),
            scopes: match item.get("scopes") {
                Some(Value::L(list)) => list.iter().map(|s| s.as_str().map(str::to_owned)).collect(),
                _ => None,
            },
            created_at: item.i64("createdAt").unwrap_or(0),
            updated_at: item.i64("updatedAt").unwrap_or(0),
        })
    }
}

/// Stored accounts.
pub struct Accounts<'a> {
    store: &'a dyn Store,
}

impl<'a> Accounts<'a> {
    pub fn new(store: &'a dyn Store) -> Self {
        Self { store }
    }

    pub async fn by_client_id(&self, client_id: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.store.get(&keys::retailcrm_account(client_id)).await?.as_ref().and_then(Account::from_item))
    }

    /// The clientId already installed for `system_url`, if any.
    pub async fn client_id_for(&self, system_url: &str) -> Result<Option<String>, StoreError> {
        let item = self.store.get(&keys::retailcrm_system(system_url)).await?;
        Ok(item.and_then(|i| i.str("clientId").map(str::to_owned)))
    }

    /// Stores an account and its systemUrl index in one transaction. The index may only be new or already point
    /// at this clientId, so two concurrent first registrations of one CRM cannot both win.
    pub async fn save(&self, account: &Account) -> Result<(), StoreError> {
        let index =
            Item::new(keys::retailcrm_system(&account.system_url)).with("clientId", Value::str(&account.client_id));
        let index_condition = Condition::Or(vec![
            Condition::ItemAbsent,
            Condition::Eq("clientId".into(), Value::str(&account.client_id)),
        ]);
        let listed = Item::new(keys::retailcrm_installation(&account.client_id))
            .with("systemUrl", Value::str(&account.system_url));
        self.store
            .transact(vec![
                Write::Put { item: account.to_item(), condition: Condition::Always },
                Write::Put { item: index, condition: index_condition },
                Write::Put { item: listed, condition: Condition::Always },
            ])
            .await
    }

    /// Moves an installation to `system_url` (its CRM moved, and proved to be the same account there): the account,
    /// its listing and the systemUrl index, in one transaction; the old index goes only if it is still this one's.
    pub async fn move_to(&self, account: &Account, system_url: &str, now: i64) -> Result<(), StoreError> {
        let client_id = Value::str(&account.client_id);
        let index = Item::new(keys::retailcrm_system(system_url)).with("clientId", client_id.clone());
        let ours = || Condition::Eq("clientId".into(), client_id.clone());
        let listed =
            Item::new(keys::retailcrm_installation(&account.client_id)).with("systemUrl", Value::str(system_url));
        let moved = Update::default().set("systemUrl", Value::str(system_url)).set("updatedAt", Value::int(now));
        self.store
            .transact(vec![
                Write::Update {
                    key: keys::retailcrm_account(&account.client_id),
                    update: moved,
                    condition: Condition::Eq("systemUrl".into(), Value::str(&account.system_url)),
                },
                Write::Put { item: index, condition: Condition::Or(vec![Condition::ItemAbsent, ours()]) },
                Write::Delete { key: keys::retailcrm_system(&account.system_url), condition: ours() },
                Write::Put { item: listed, condition: Condition::Always },
            ])
            .await
    }

    /// Records the API key the CRM issued for `scopes`.
    pub async fn record_scopes(
        &self,
        client_id: &str,
        api_key: &str,
        scopes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        let update = Update::default()
            .set("apiKey", Value::str(api_key))
            .set("scopes", Value::L(scopes.iter().map(Value::str).collect()))
            .set("updatedAt", Value::int(now));
        self.store.update(&keys::retailcrm_account(client_id), update, Condition::ItemPresent).await.map(|_| ())
    }

    /// Applies an activity callback: the flags it names (a move is [`Self::move_to`], once proven).
    pub async fn record_activity(
        &self,
        client_id: &str,
        active: Option<bool>,
        freeze: Option<bool>,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut update = Update::default().set("updatedAt", Value::int(now));
        if let Some(active) = active {
            update = update.set("active", Value::Bool(active));
        }
        if let Some(freeze) = freeze {
            update = update.set("freeze", Value::Bool(freeze));
        }
        self.store.update(&keys::retailcrm_account(client_id), update, Condition::ItemPresent).await.map(|_| ())
    }

    /// Stores the settings JSON an account's CRM sent.
    pub async fn record_settings(&self, client_id: &str, settings: &str, now: i64) -> Result<(), StoreError> {
        let update = Update::default().set("settings", Value::str(settings)).set("updatedAt", Value::int(now));
        self.store.update(&keys::retailcrm_account(client_id), update, Condition::ItemPresent).await.map(|_| ())
    }

    /// Every installation (operators' listing), by clientId.
    pub async fn list(&self) -> Result<Vec<Account>, StoreError> {
        let listed = self.store.query(&Query::partition(keys::RETAILCRM_INSTALLATIONS)).await?;
        let ids: Vec<Key> = listed.iter().map(|i| keys::retailcrm_account(&i.key.sk)).collect();
        let mut accounts: Vec<Account> =
            self.store.batch_get(&ids).await?.iter().filter_map(Account::from_item).collect();
        accounts.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(accounts)
    }

    /// Every key an account owns (for tests that check nothing else was written).
    pub fn keys_of(account: &Account) -> [Key; 3] {
        [
            keys::retailcrm_account(&account.client_id),
            keys::retailcrm_system(&account.system_url),
            keys::retailcrm_installation(&account.client_id),
        ]
    }
}
