//! DynamoDB capacity accounting: a store wrapper that counts the read and write request units each call would
//! consume on an on-demand table (sizes from `shared::ports::store::size`), in all and per partition key. Used by
//! the cost model (`capacity` binary) and the partition-heat model (`scale`).

use shared::ports::store::size::{self, item_size, read_units};
use shared::ports::store::{Condition, Item, Key, Query, Store, StoreError, Update, Write};
use std::collections::BTreeMap;
use std::sync::Mutex;

fn write_units(item: &Item) -> u64 {
    size::write_units(item_size(item))
}

/// Request units consumed in one partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Units {
    pub read: u64,
    pub write: u64,
}

/// What a stretch of calls put on the table: units per partition key, and how many calls (round trips) it took.
#[derive(Debug, Clone, Default)]
pub struct Load {
    pub partitions: BTreeMap<String, Units>,
    pub calls: u64,
}

#[derive(Default)]
struct Tally {
    reads: u64,
    writes: u64,
    calls: Vec<&'static str>,
    partitions: BTreeMap<String, Units>,
}

/// A store that counts the request units of every call it passes on.
pub struct CountingStore<S> {
    inner: S,
    tally: Mutex<Tally>,
}

impl<S: Store> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, tally: Mutex::new(Tally::default()) }
    }

    /// Read and write request units so far, and the calls made, and resets the counters (the partitions' too).
    pub fn take(&self) -> (u64, u64, Vec<&'static str>) {
        let tally = std::mem::take(&mut *self.tally.lock().unwrap());
        (tally.reads, tally.writes, tally.calls)
    }

    /// Request units so far by partition key and the number of calls made, and resets every counter.
    pub fn take_load(&self) -> Load {
        let tally = std::mem::take(&mut *self.tally.lock().unwrap());
        Load { partitions: tally.partitions, calls: tally.calls.len() as u64 }
    }

    /// Counts call `call`, which consumed `units` (read, write) in each of the partitions named.
    fn count(&self, call: &'static str, units: &[(&str, u64, u64)]) {
        let mut tally = self.tally.lock().unwrap();
        tally.calls.push(call);
        for (pk, reads, writes) in units {
            tally.reads += reads;
            tally.writes += writes;
            let partition = tally.partitions.entry((*pk).to_owned()).or_default();
            partition.read += reads;
            partition.write += writes;
        }
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
        self.count("GetItem", &[(&key.pk, read_units(item.as_ref().map_or(0, item_size)), 0)]);
        Ok(item)
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        // A put is billed on the larger of the old and the new item.
        let units = write_units(&item).max((self.size_of(&item.key).await.div_ceil(1024)) as u64);
        self.count("PutItem", &[(&item.key.pk, 0, units)]);
        self.inner.put(item, condition).await
    }

    async fn update(&self, key: &Key, update: Update, condition: Condition) -> Result<Item, StoreError> {
        let before = self.size_of(key).await;
        let result = self.inner.update(key, update, condition).await;
        let after = result.as_ref().map_or(0, item_size);
        self.count("UpdateItem", &[(&key.pk, 0, before.max(after).div_ceil(1024).max(1) as u64)]);
        result
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        let before = self.size_of(key).await;
        self.count("DeleteItem", &[(&key.pk, 0, before.div_ceil(1024).max(1) as u64)]);
        self.inner.delete(key, condition).await
    }

    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        let items = self.inner.query(query).await?;
        self.count("Query", &[(&query.pk, read_units(items.iter().map(item_size).sum()), 0)]);
        Ok(items)
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let units: Vec<(&str, u64, u64)> = items.iter().map(|i| (i.key.pk.as_str(), 0, write_units(i))).collect();
        self.count("BatchWriteItem", &units);
        self.inner.batch_put(items).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let items = self.inner.batch_get(keys).await?;
        // Each key is a separate read, billed at least one unit even when absent.
        let units: Vec<(&str, u64, u64)> = keys
            .iter()
            .map(|key| {
                let found = items.iter().find(|i| i.key == *key);
                (key.pk.as_str(), found.map_or(1, |i| read_units(item_size(i))), 0)
            })
            .collect();
        self.count("BatchGetItem", &units);
        Ok(items)
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        // Transactions cost two units per 1 KB of every item they touch, condition checks included.
        let mut units = Vec::new();
        for write in &writes {
            let (pk, one) = match write {
                Write::Put { item, .. } => (item.key.pk.as_str(), write_units(item)),
                Write::Update { key, .. } | Write::Delete { key, .. } | Write::Check { key, .. } => {
                    (key.pk.as_str(), self.size_of(key).await.div_ceil(1024).max(1) as u64)
                }
            };
            units.push((pk, 0, 2 * one));
        }
        self.count("TransactWriteItems", &units);
        self.inner.transact(writes).await
    }
}
