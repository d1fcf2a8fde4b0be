//! The storage port: a small key-value contract shaped by what the endpoints need, with a DynamoDB implementation
//! for Lambda and an embedded, disk-backed one for the local runner and tests.
//!
//! One table, composite key `pk` (partition) + `sk` (sort), an optional `ttl` attribute (epoch seconds). Expired
//! items are invisible to reads and count as absent for conditions, because DynamoDB deletes them lazily.

use std::collections::BTreeMap;

pub mod changes;
pub mod condition;
#[cfg(feature = "aws")]
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod keys;
pub mod size;

pub use condition::Condition;

/// Attribute names the store manages itself; item attributes must not use them.
pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const TTL: &str = "ttl";

/// DynamoDB's limit on items per BatchWriteItem call; also enforced by the embedded store's chunking.
pub const BATCH_WRITE_LIMIT: usize = 25;
/// DynamoDB's limit on keys per BatchGetItem call.
pub const BATCH_GET_LIMIT: usize = 100;
/// DynamoDB's limit on items per TransactWriteItems call.
pub const TRANSACTION_LIMIT: usize = 100;
/// DynamoDB's limits on a key: the partition key's bytes, the sort key's bytes.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// DynamoDB's limit on an item's size (attribute names and values, as [`size::item_size`] counts them).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// An item's attributes other than its key and TTL.
pub type Attrs = BTreeMap<String, Value>;

/// An attribute value: the subset of DynamoDB's types the endpoints use.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    S(String),
    /// A number in DynamoDB's decimal text form; build with [`Value::int`] or [`Value::float`].
    N(String),
    B(Vec<u8>),
    Bool(bool),
    L(Vec<Value>),
    M(Attrs),
    Null,
}

impl Value {
    pub fn int(n: i64) -> Self {
        Self::N(n.to_string())
    }

    /// A finite float; non-finite values have no DynamoDB representation and become `Null`.
    pub fn float(n: f64) -> Self {
        if n.is_finite() { Self::N(n.to_string()) } else { Self::Null }
    }

    pub fn str(s: impl Into<String>) -> Self {
        Self::S(s.into())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::S(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::N(n) => n.parse().ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::N(n) => n.parse().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::B(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Attrs> {
        match self {
            Self::M(m) => Some(m),
            _ => None,
        }
    }
}

// Serde: the local runner lends its store to the operator CLI over a socket (`switchyard` while `serve` runs).

/// An item's primary key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }
}

/// A stored item.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    pub key: Key,
    pub attrs: Attrs,
    /// When the item expires (epoch seconds): written as the table's TTL attribute.
    pub expires_at: Option<i64>,
}

impl Item {
    pub fn new(key: Key) -> Self {
        Self { key, attrs: Attrs::new(), expires_at: None }
    }

    /// Adds an attribute (builder style).
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.attrs.insert(name.to_owned(), value);
        self
    }

    /// Sets the expiry (builder style).
    pub fn expiring_at(mut self, epoch_seconds: i64) -> Self {
        self.expires_at = Some(epoch_seconds);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.attrs.get(name)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    pub fn i64(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// Whether the item has expired at `now` (epoch seconds).
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// Changes to one item; applying them to an absent item creates it (DynamoDB's UpdateItem semantics).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Update {
    pub set: Attrs,
    pub remove: Vec<String>,
    /// Atomic counters: `name += delta` (a missing attribute counts as 0).
    pub add: Vec<(String, i64)>,
    /// `target` takes the value `source` had before this update (`default` when it had none): DynamoDB's
    /// `SET target = if_not_exists(source, :default)`.
    pub copy: Vec<(String, String, Value)>,
    /// `Some(Some(t))` sets the expiry, `Some(None)` clears it, `None` leaves it.
    pub expires_at: Option<Option<i64>>,
}

impl Update {
    pub fn set(mut self, name: &str, value: Value) -> Self {
        self.set.insert(name.to_owned(), value);
        self
    }

    pub fn remove(mut self, name: &str) -> Self {
        self.remove.push(name.to_owned());
        self
    }

    pub fn add(mut self, name: &str, delta: i64) -> Self {
        self.add.push((name.to_owned(), delta));
        self
    }

    /// Sets `target` to `source`'s value before the update, or `default` when the item had none.
    pub fn copy(mut self, target: &str, source: &str, default: Value) -> Self {
        self.copy.push((target.to_owned(), source.to_owned(), default));
        self
    }

    pub fn expiring_at(mut self, epoch_seconds: Option<i64>) -> Self {
        self.expires_at = Some(epoch_seconds);
        self
    }
}

/// Which sort keys a query returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SortRange {
    All,
    Prefix(String),
    /// Inclusive on both ends.
    Between(String, String),
    AtLeast(String),
    AtMost(String),
}

/// A query of one partition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Query {
    pub pk: String,
    pub range: SortRange,
    pub descending: bool,
    pub limit: Option<usize>,
}

impl Query {
    pub fn partition(pk: impl Into<String>) -> Self {
        Self { pk: pk.into(), range: SortRange::All, descending: false, limit: None }
    }

    pub fn range(mut self, range: SortRange) -> Self {
        self.range = range;
        self
    }

    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// One write of a transaction.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Write {
    Put {
        item: Item,
        condition: Condition,
    },
    Update {
        key: Key,
        update: Update,
        condition: Condition,
    },
    Delete {
        key: Key,
        condition: Condition,
    },
    /// A condition on an item that is not written.
    Check {
        key: Key,
        condition: Condition,
    },
}

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum StoreError {
    /// A condition did not hold; nothing was written. For a transaction, `index` names the write whose condition
    /// failed, when the backend tells.
    #[error("condition failed")]
    ConditionFailed { index: Option<usize> },
    /// The backend is throttling or temporarily unavailable: retrying later may succeed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The request itself is wrong (a bug or a limit): retrying will not help.
    #[error("invalid store request: {0}")]
    Invalid(String),
}

impl StoreError {
    pub fn is_condition_failed(&self) -> bool {
        matches!(self, Self::ConditionFailed { .. })
    }
}

/// The storage port every endpoint uses.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Reads one item, strongly consistent; expired items read as absent.
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;

    /// Writes `item` (replacing any item with its key) if `condition` holds.
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError>;

    /// Applies `update` if `condition` holds and returns the item as it is afterwards.
    async fn update(&self, key: &Key, update: Update, condition: Condition) -> Result<Item, StoreError>;

    /// Deletes the item at `key` (absent is fine) if `condition` holds.
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError>;

    /// Reads a partition's items in sort-key order, strongly consistent, without expired items.
    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError>;

    /// Writes any number of items unconditionally, in calls of at most [`BATCH_WRITE_LIMIT`]; returns the items
    /// the backend left unprocessed (throttling), for the caller to retry.
    async fn batch_put(&self, items: Vec<Item>) -> Result<Vec<Item>, StoreError>;

    /// Reads any number of items by key (in calls of at most [`BATCH_GET_LIMIT`], retrying keys the backend left
    /// unprocessed); absent and expired items are simply not in the answer, whose order is unspecified.
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError>;

    /// Applies all writes or none (at most [`TRANSACTION_LIMIT`], each key at most once).
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;

    /// Which of `keys` hold an item (unexpired), as [`Self::batch_get`] would find them, reading keys only (a
    /// projection: the backend sends no attribute values back).
    async fn batch_exists(&self, keys: &[Key]) -> Result<Vec<Key>, StoreError> {
        Ok(self.batch_get(keys).await?.into_iter().map(|item| item.key).collect())
    }
}

/// A shared store is a store (wrappers such as a counting one take any).
#[async_trait::async_trait]
impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        (**self).get(key).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        (**self).put(item, condition).await
    }
    async fn update(&self, key: &Key, update: Update, condition: Condition) -> Result<Item, StoreError> {
        (**self).update(key, update, condition).await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        (**self).delete(key, condition).await
    }
    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        (**self).query(query).await
    }
    async fn batch_put(&self, items: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        (**self).batch_put(items).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        (**self).batch_get(keys).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        (**self).transact(writes).await
    }
    async fn batch_exists(&self, keys: &[Key]) -> Result<Vec<Key>, StoreError> {
        (**self).batch_exists(keys).await
    }
}

/// Checks an item before it is written: reserved names stay the store's, keys are non-empty.
pub(crate) fn validate_item(item: &Item) -> Result<(), StoreError> {
    validate_key(&item.key)?;
    validate_names(item.attrs.keys())?;
    validate_size(item)
}

/// DynamoDB's key rules, refused before any call as DynamoDB refuses them (both stores hold to them, so the runner
/// and the tests catch what only AWS would refuse).
pub(crate) fn validate_key(key: &Key) -> Result<(), StoreError> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(StoreError::Invalid("key parts must not be empty".into()));
    }
    if key.pk.len() > MAX_PARTITION_KEY_BYTES {
        return Err(StoreError::Invalid(format!(
            "Size of hashkey has exceeded the maximum size limit of {MAX_PARTITION_KEY_BYTES} bytes"
        )));
    }
    if key.sk.len() > MAX_SORT_KEY_BYTES {
        return Err(StoreError::Invalid(format!(
            "Aggregated size of all range keys has exceeded the size limit of {MAX_SORT_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

/// DynamoDB's item size limit.
pub(crate) fn validate_size(item: &Item) -> Result<(), StoreError> {
    if size::item_size(item) > MAX_ITEM_BYTES {
        return Err(StoreError::Invalid("Item size has exceeded the maximum allowed size".into()));
    }
    Ok(())
}

pub(crate) fn validate_update(update: &Update) -> Result<(), StoreError> {
    let copies = update.copy.iter().flat_map(|(target, source, _)| [target, source]);
    validate_names(update.set.keys().chain(update.remove.iter()).chain(update.add.iter().map(|(n, _)| n)).chain(copies))
}

fn validate_names<'a>(mut names: impl Iterator<Item = &'a String>) -> Result<(), StoreError> {
    match names.find(|n| matches!(n.as_str(), PK | SK | TTL) || n.is_empty()) {
        Some(name) => Err(StoreError::Invalid(format!("attribute name `{name}` is reserved"))),
        None => Ok(()),
    }
}

pub(crate) fn validate_transaction(writes: &[Write]) -> Result<(), StoreError> {
    if writes.is_empty() || writes.len() > TRANSACTION_LIMIT {
        return Err(StoreError::Invalid(format!("a transaction holds 1 to {TRANSACTION_LIMIT} writes")));
    }
    let mut seen = std::collections::HashSet::new();
    for write in writes {
        let key = match write {
            Write::Put { item, .. } => {
                validate_item(item)?;
                &item.key
            }
            Write::Update { key, update, .. } => {
                validate_update(update)?;
                key
            }
            Write::Delete { key, .. } | Write::Check { key, .. } => key,
        };
        validate_key(key)?;
        if !seen.insert(key.clone()) {
            return Err(StoreError::Invalid("a transaction writes each key at most once".into()));
        }
    }
    Ok(())
}
