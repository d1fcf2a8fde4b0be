//! A verified webhook as stored: one item per delivery in one of its source's partitions (`WHEVT#<source>#<shard>`,
//! spread by delivery id so a busy source has no hot partition), sorted by receipt time, with the headers worth
//! keeping and the raw body. Its attribute names live here only.

use crate::ports::store::{Attrs, Item, Query, Store, StoreError, Value, keys};
use std::collections::BTreeMap;

const SOURCE: &str = "source";
const SCHEME: &str = "scheme";
const DELIVERY_ID: &str = "deliveryId";
const RECEIVED_AT: &str = "receivedAt";
const HEADERS: &str = "headers";
const BODY: &str = "body";

/// One stored delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub source: String,
    pub scheme: String,
    pub delivery_id: String,
    /// Epoch seconds.
    pub received_at: i64,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl StoredEvent {
    /// The item, keyed by receipt time then delivery id (fixed-width time text sorts as the time does).
    pub fn to_item(&self) -> Item {
        let received = crate::time_text::rfc3339_sortable(i128::from(self.received_at) * 1_000_000_000)
            .unwrap_or_else(|| self.received_at.to_string());
        let headers: Attrs = self.headers.iter().map(|(k, v)| (k.clone(), Value::str(v))).collect();
        Item::new(keys::webhook_event(&self.source, &self.delivery_id, &format!("{received}#{}", self.delivery_id)))
            .with(SOURCE, Value::str(&self.source))
            .with(SCHEME, Value::str(&self.scheme))
            .with(DELIVERY_ID, Value::str(&self.delivery_id))
            .with(RECEIVED_AT, Value::int(self.received_at))
            .with(HEADERS, Value::M(headers))
            .with(BODY, Value::B(self.body.clone()))
    }

    pub fn from_item(item: &Item) -> Option<Self> {
        let headers = match item.get(HEADERS) {
            Some(Value::M(map)) => map.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect(),
            _ => BTreeMap::new(),
        };
        Some(Self {
            source: item.str(SOURCE)?.to_owned(),
            scheme: item.str(SCHEME).unwrap_or_default().to_owned(),
            delivery_id: item.str(DELIVERY_ID)?.to_owned(),
            received_at: item.i64(RECEIVED_AT)?,
            headers,
            body: match item.get(BODY) {
                Some(Value::B(bytes)) => bytes.clone(),
                _ => Vec::new(),
            },
        })
    }

    /// The `limit` newest deliveries of `source`, newest first: the newest `limit` of each partition the source's
    /// events may be in, merged by receipt time (the sort keys, fixed-width time then delivery id).
    pub async fn newest(store: &dyn Store, source: &str, limit: usize) -> Result<Vec<Self>, StoreError> {
        let newest_of = |pk| Query::partition(pk).descending().limit(limit);
        let mut items = Self::read_partitions(store, source, newest_of).await?;
        items.sort_by(|a, b| b.key.sk.cmp(&a.key.sk));
        Ok(items.iter().take(limit).filter_map(Self::from_item).collect())
    }

    /// The items `query` finds in each partition `source`'s events may be in (a few partitions read at once), in no
    /// particular order.
    pub async fn read_partitions(
        store: &dyn Store,
        source: &str,
        query: impl Fn(String) -> Query,
    ) -> Result<Vec<Item>, StoreError> {
        use futures_util::stream::{StreamExt, TryStreamExt};
        let queries = keys::webhook_event_partitions(source).into_iter().map(query);
        let reads = queries.map(|query| async move { store.query(&query).await });
        futures_util::stream::iter(reads).buffer_unordered(PARALLEL_QUERIES).try_concat().await
    }
}

/// How many of a source's partitions are read at once when listing.
const PARALLEL_QUERIES: usize = 16;
