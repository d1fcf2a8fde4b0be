//! DynamoDB capacity accounting: a store wrapper that counts the read and write request units each call would
//! consume on an on-demand table (sizes from `shared::ports::store::size`). Used by the cost model (`capacity` binary).

use shared::ports::store::size::{self, item_size, read_units};
use shared::ports::store::{Condition, Item, Key, Query, Store, StoreError, Update, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

fn write_units(item: &Item) -> u64 {
    size::write_units(item_size(item))
}

/// A store that counts the request units of every call it passes on.
pub struct CountingStore<S> {
    inner: S,
    reads: AtomicU64,
    writes: AtomicU64,
    calls: Mutex<Vec<&'static str>>,
}

impl<S: Store> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, reads: AtomicU64::new(0), writes: AtomicU64::new(0), calls: Mutex::new(Vec::new()) }
    }

    /// Read and write request units so far, and resets the counters.
    pub fn take(&self) -> (u64, u64, Vec<&'static str>) {
        let calls = std::mem::take(&mut *self.calls.lock().unwrap());
        (self.reads.swap(0, Ordering::SeqCst), self.writes.swap(0, Ordering::SeqCst), calls)
    }

    fn count(&self, call: &'static str, reads: u64, writes: u64) {
        self.reads.fetch_add(reads, Ordering::SeqCst);
        self.writes.fetch_add(writes, Ordering::SeqCst);
        self.calls.lock().unwrap().push(call);
    }

    async fn size_of(&self, key: &Key) -> usize {
        match self.inner.get(key).await {
            Ok(Some(item)) => item_size(&item),
            _ => 0,
        }
    }
}

#[async_trait::async_trait]
impl<S: Store> Store for CountingStore<S> {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let item = self.inner.get(key).await?;
        self.count("GetItem", read_units(item.as_ref().map_or(0, item_size)), 0);
        Ok(item)
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        // A put is billed on the larger of the old and the new item.
        let units = write_units(&item).max((self.size_of(&item.key).await.div_ceil(1024)) as u64);
        self.count("PutItem", 0, units);
        self.inner.put(item, condition).await
    }

    async fn update(&self, key: &Key, update: Update, condition: Condition) -> Result<Item, StoreError> {
        let before = self.size_of(key).await;
        let result = self.inner.update(key, update, condition).await;
        let after = result.as_ref().map_or(0, item_size);
        self.count("UpdateItem", 0, before.max(after).div_ceil(1024).max(1) as u64);
        result
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        let before = self.size_of(key).await;
        self.count("DeleteItem", 0, before.div_ceil(1024).max(1) as u64);
        self.inner.delete(key, condition).await
    }

    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        let items = self.inner.query(query).await?;
        self.count("Query", read_units(items.iter().map(item_size).sum()), 0);
        Ok(items)
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        self.count("BatchWriteItem", 0, items.iter().map(write_units).sum());
        self.inner.batch_put(items).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let items = self.inner.batch_get(keys).await?;
        // Each key is a separate read, billed at least one unit even when absent.
        let found: u64 = items.iter().map(|i| read_units(item_size(i))).sum();
        let absent = keys.len().saturating_sub(items.len()) as u64;
        self.count("BatchGetItem", found + absent, 0);
        Ok(items)
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        // Transactions cost two units per 1 KB of every item they touch, condition checks included.
        let mut units = 0;
        for write in &writes {
            units += 2 * match write {
                Write::Put { item, .. } => write_units(item),
                Write::Update { key, .. } | Write::Delete { key, .. } | Write::Check { key, .. } => {
                    self.size_of(key).await.div_ceil(1024).max(1) as u64
                }
            };
        }
        self.count("TransactWriteItems", 0, units);
        self.inner.transact(writes).await
    }
}
