//! Every stored webhook event of a source, as items (the tests count and inspect what was stored; the product
//! lists the newest with `StoredEvent::newest`, through the same partition reads).

use shared::partners::webhooks::stored::StoredEvent;
use shared::ports::store::{Item, Query, Store};

/// Every stored event item of `source`, in no particular order.
pub async fn items(store: &dyn Store, source: &str) -> Vec<Item> {
    StoredEvent::read_partitions(store, source, Query::partition).await.expect("query the event partitions")
}
