//! Every stored webhook event of a source, as items, read from each of its partitions (the tests count and inspect
//! what was stored; the product lists with `StoredEvent::newest`).

use futures_util::stream::{StreamExt, TryStreamExt};
use shared::ports::store::{Item, Query, Store, keys};

/// Every stored event item of `source`, in no particular order.
pub async fn items(store: &dyn Store, source: &str) -> Vec<Item> {
    let queries = keys::webhook_event_partitions(source)
        .into_iter()
        .map(|pk| async move { store.query(&Query::partition(pk)).await });
    futures_util::stream::iter(queries).buffer_unordered(16).try_concat().await.expect("query the event partitions")
}
