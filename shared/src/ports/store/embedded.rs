//! The [`Store`] embedded in the process and persisted to one file with redb, for the local runner and tests.
//!
//! Every write runs in one redb write transaction (serialised, fsynced), which gives conditional writes and
//! transactions the same atomicity DynamoDB gives them.

use super::{
    Attrs, BATCH_WRITE_LIMIT, Item, Key, Query, SortRange, Store, StoreError, Update, Value, Write, validate_item,
    validate_key, validate_transaction, validate_update,
};
use crate::ports::clock::now_epoch;
use crate::ports::store::Condition;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::Arc;

const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");

/// What is stored under a key: everything of an item but the key.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    attrs: Attrs,
    expires_at: Option<i64>,
}

/// A store in one file.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmbeddedStore")
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the store file at `path`, creating its directory.
    /// A store held in memory only, gone with the value: for models that drive thousands of requests (the
    /// partition-heat model) where a file's commits would only add disk time.
    pub fn in_memory() -> Result<Self, StoreError> {
        let db =
            Database::builder().create_with_backend(redb::backends::InMemoryBackend::new()).map_err(unavailable)?;
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(ITEMS).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        Ok(Self { db: Arc::new(db) })
    }

    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let db = Database::create(path).map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(ITEMS).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Runs `work` on a blocking thread: redb's calls block on disk I/O.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(|e| unavailable(format!("store task failed: {e}")))?
    }
}

fn unavailable(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

fn decode(key: Key, bytes: &[u8]) -> Result<Item, StoreError> {
    let stored: Stored =
        serde_json::from_slice(bytes).map_err(|e| StoreError::Invalid(format!("corrupt item: {e}")))?;
    Ok(Item { key, attrs: stored.attrs, expires_at: stored.expires_at })
}

fn encode(item: &Item) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&Stored { attrs: item.attrs.clone(), expires_at: item.expires_at })
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

/// The stored item at `key`, expired or not (conditions see expired items, as DynamoDB's do).
fn load(table: &redb::Table<(&str, &str), &[u8]>, key: &Key) -> Result<Option<Item>, StoreError> {
    match table.get((key.pk.as_str(), key.sk.as_str())).map_err(unavailable)? {
        Some(bytes) => Ok(Some(decode(key.clone(), bytes.value())?)),
        None => Ok(None),
    }
}

fn save(table: &mut redb::Table<(&str, &str), &[u8]>, item: &Item) -> Result<(), StoreError> {
    // What an update makes is held to DynamoDB's item size too.
    super::validate_size(item)?;
    let bytes = encode(item)?;
    table.insert((item.key.pk.as_str(), item.key.sk.as_str()), bytes.as_slice()).map_err(unavailable)?;
    Ok(())
}

fn check(condition: &Condition, current: Option<&Item>, now: i64, index: Option<usize>) -> Result<(), StoreError> {
    if condition.holds(current, now) { Ok(()) } else { Err(StoreError::ConditionFailed { index }) }
}

/// `current` with `update` applied (creating the item when absent).
fn apply(key: &Key, current: Option<Item>, update: &Update) -> Result<Item, StoreError> {
    let mut item = current.unwrap_or_else(|| Item::new(key.clone()));
    // Copies read the item as it was before the update, as DynamoDB's SET does.
    let copied: Vec<(String, Value)> = update
        .copy
        .iter()
        .map(|(target, source, default)| (target.clone(), item.attrs.get(source).unwrap_or(default).clone()))
        .collect();
    item.attrs.extend(copied);
    for (name, value) in &update.set {
        item.attrs.insert(name.clone(), value.clone());
    }
    for name in &update.remove {
        item.attrs.remove(name);
    }
    for (name, delta) in &update.add {
        let base = match item.attrs.get(name) {
            None => 0,
            Some(v) => v.as_i64().ok_or_else(|| StoreError::Invalid(format!("`{name}` is not an integer")))?,
        };
        let sum = base.checked_add(*delta).ok_or_else(|| StoreError::Invalid(format!("`{name}` overflows")))?;
        item.attrs.insert(name.clone(), Value::int(sum));
    }
    if let Some(expires_at) = update.expires_at {
        item.expires_at = expires_at;
    }
    Ok(item)
}

#[async_trait::async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        validate_key(key)?;
        let key = key.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(ITEMS).map_err(unavailable)?;
            let found = match table.get((key.pk.as_str(), key.sk.as_str())).map_err(unavailable)? {
                Some(bytes) => Some(decode(key.clone(), bytes.value())?),
                None => None,
            };
            Ok(found.filter(|item| !item.is_expired(now_epoch())))
        })
        .await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        validate_item(&item)?;
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(unavailable)?;
                let current = load(&table, &item.key)?;
                check(&condition, current.as_ref(), now_epoch(), None)?;
                save(&mut table, &item)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn update(&self, key: &Key, update: Update, condition: Condition) -> Result<Item, StoreError> {
        validate_key(key)?;
        validate_update(&update)?;
        let key = key.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let item = {
                let mut table = txn.open_table(ITEMS).map_err(unavailable)?;
                let current = load(&table, &key)?;
                check(&condition, current.as_ref(), now_epoch(), None)?;
                let item = apply(&key, current, &update)?;
                save(&mut table, &item)?;
                item
            };
            txn.commit().map_err(unavailable)?;
            Ok(item)
        })
        .await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        validate_key(key)?;
        let key = key.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(unavailable)?;
                let current = load(&table, &key)?;
                check(&condition, current.as_ref(), now_epoch(), None)?;
                table.remove((key.pk.as_str(), key.sk.as_str())).map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        if query.pk.is_empty() {
            return Err(StoreError::Invalid("query partition must not be empty".into()));
        }
        let query = query.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(ITEMS).map_err(unavailable)?;
            let pk = query.pk.as_str();
            let (low, prefix): (&str, Option<&str>) = match &query.range {
                SortRange::All | SortRange::AtMost(_) => ("", None),
                SortRange::Prefix(p) => (p.as_str(), Some(p.as_str())),
                SortRange::Between(a, _) | SortRange::AtLeast(a) => (a.as_str(), None),
            };
            let high = match &query.range {
                SortRange::Between(_, b) | SortRange::AtMost(b) => Some(b.as_str()),
                _ => None,
            };
            let range = table.range((pk, low)..).map_err(unavailable)?;
            let mut rows = Vec::new();
            for entry in range {
                let (key, value) = entry.map_err(unavailable)?;
                let (row_pk, row_sk) = key.value();
                // Keys are ordered (pk, sk) bytewise, so the first key outside the range ends it.
                let past_end =
                    row_pk != pk || prefix.is_some_and(|p| !row_sk.starts_with(p)) || high.is_some_and(|h| row_sk > h);
                if past_end {
                    break;
                }
                rows.push(decode(Key::new(row_pk, row_sk), value.value())?);
            }
            let now = now_epoch();
            rows.retain(|item| !item.is_expired(now));
            if query.descending {
                rows.reverse();
            }
            if let Some(limit) = query.limit {
                rows.truncate(limit);
            }
            Ok(rows)
        })
        .await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        for key in keys {
            validate_key(key)?;
        }
        let keys = keys.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(ITEMS).map_err(unavailable)?;
            let now = now_epoch();
            let mut found = Vec::new();
            for key in keys {
                if let Some(bytes) = table.get((key.pk.as_str(), key.sk.as_str())).map_err(unavailable)? {
                    let item = decode(key.clone(), bytes.value())?;
                    if !item.is_expired(now) {
                        found.push(item);
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        for item in &items {
            validate_item(item)?;
        }
        self.blocking(move |db| {
            // One transaction per chunk, as DynamoDB applies a BatchWriteItem call.
            for chunk in items.chunks(BATCH_WRITE_LIMIT) {
                let txn = db.begin_write().map_err(unavailable)?;
                {
                    let mut table = txn.open_table(ITEMS).map_err(unavailable)?;
                    for item in chunk {
                        save(&mut table, item)?;
                    }
                }
                txn.commit().map_err(unavailable)?;
            }
            Ok(Vec::new())
        })
        .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(unavailable)?;
                let now = now_epoch();
                // Check every condition first, then write: a failed check leaves nothing written (the
                // transaction is dropped without commit either way).
                for (index, write) in writes.iter().enumerate() {
                    let (key, condition) = match write {
                        Write::Put { item, condition } => (&item.key, condition),
                        Write::Update { key, condition, .. }
                        | Write::Delete { key, condition }
                        | Write::Check { key, condition } => (key, condition),
                    };
                    check(condition, load(&table, key)?.as_ref(), now, Some(index))?;
                }
                for write in writes {
                    match write {
                        Write::Put { item, .. } => save(&mut table, &item)?,
                        Write::Update { key, update, .. } => {
                            let item = apply(&key, load(&table, &key)?, &update)?;
                            save(&mut table, &item)?;
                        }
                        Write::Delete { key, .. } => {
                            table.remove((key.pk.as_str(), key.sk.as_str())).map_err(unavailable)?;
                        }
                        Write::Check { .. } => {}
                    }
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }
}
