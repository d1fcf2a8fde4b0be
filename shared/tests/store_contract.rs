//! The store contract: one suite of behaviour, run against the embedded store in-process and against the
//! DynamoDB store on moto_server (started by scripts/test).

use shared::ports::clock::now_epoch;
use shared::ports::store::{
    Condition, Item, Key, MAX_ITEM_BYTES, MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES, Query, SortRange, Store,
    StoreError, Update, Value, Write, keys,
};

fn item(pk: &str, sk: &str) -> Item {
    Item::new(Key::new(pk, sk)).with("v", Value::str(sk))
}

async fn conditional_put_succeeds_once_then_fails(store: &dyn Store) {
    let key = keys::webhook_delivery("src", "msg_1");
    let first = Item::new(key.clone()).with("n", Value::int(1));
    store.put(first.clone(), Condition::ItemAbsent).await.unwrap();
    let second = Item::new(key.clone()).with("n", Value::int(2));
    let err = store.put(second, Condition::ItemAbsent).await.unwrap_err();
    assert!(err.is_condition_failed(), "{err:?}");
    // The first write is untouched.
    assert_eq!(store.get(&key).await.unwrap(), Some(first));
}

async fn expired_items_are_absent_and_ttl_is_written(store: &dyn Store) {
    let now = now_epoch();
    let key = Key::new("ttl", "a");
    let stale = Item::new(key.clone()).with("n", Value::int(1)).expiring_at(now - 10);
    store.put(stale, Condition::Always).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None, "expired item must read as absent");
    assert!(store.query(&Query::partition("ttl")).await.unwrap().is_empty());
    // An expired idempotency record frees its key.
    let fresh = Item::new(key.clone()).with("n", Value::int(2)).expiring_at(now + 3600);
    store.put(fresh.clone(), Condition::ItemAbsent).await.unwrap();
    let read = store.get(&key).await.unwrap().unwrap();
    assert_eq!(read.expires_at, Some(now + 3600));
    assert_eq!(read, fresh);
    assert!(store.put(fresh, Condition::ItemAbsent).await.unwrap_err().is_condition_failed());
}

async fn query_is_ordered_and_ranged(store: &dyn Store) {
    for sk in ["R#2024-01-03", "R#2024-01-01", "LATEST", "R#2024-01-02", "R#2024-01-04"] {
        store.put(item("METER#m", sk), Condition::Always).await.unwrap();
    }
    store.put(item("METER#other", "R#2024-01-01"), Condition::Always).await.unwrap();
    let sks = |items: Vec<Item>| items.into_iter().map(|i| i.key.sk).collect::<Vec<_>>();
    let all = store.query(&Query::partition("METER#m")).await.unwrap();
    assert_eq!(sks(all), ["LATEST", "R#2024-01-01", "R#2024-01-02", "R#2024-01-03", "R#2024-01-04"]);
    let prefix = Query::partition("METER#m").range(SortRange::Prefix("R#".into()));
    assert_eq!(
        sks(store.query(&prefix.clone().descending().limit(2)).await.unwrap()),
        ["R#2024-01-04", "R#2024-01-03"]
    );
    let between = Query::partition("METER#m").range(SortRange::Between("R#2024-01-02".into(), "R#2024-01-03".into()));
    assert_eq!(sks(store.query(&between).await.unwrap()), ["R#2024-01-02", "R#2024-01-03"]);
    let at_least = Query::partition("METER#m").range(SortRange::AtLeast("R#2024-01-04".into()));
    assert_eq!(sks(store.query(&at_least).await.unwrap()), ["R#2024-01-04"]);
    let at_most = Query::partition("METER#m").range(SortRange::AtMost("R#2024-01-01".into()));
    assert_eq!(sks(store.query(&at_most).await.unwrap()), ["LATEST", "R#2024-01-01"]);
    assert!(store.query(&Query::partition("METER#none")).await.unwrap().is_empty());
}

async fn query_pages_through_large_partitions(store: &dyn Store) {
    // Items big enough that DynamoDB pages (1 MB per page) before the partition ends.
    let padding = "x".repeat(60_000);
    let items: Vec<Item> = (0..40).map(|i| item("BIG", &format!("{i:03}")).with("pad", Value::str(&padding))).collect();
    assert!(store.batch_put(items).await.unwrap().is_empty());
    let all = store.query(&Query::partition("BIG")).await.unwrap();
    assert_eq!(all.len(), 40);
    assert_eq!(all[39].key.sk, "039");
    assert_eq!(store.query(&Query::partition("BIG").limit(25)).await.unwrap().len(), 25);
}

async fn batch_put_writes_more_than_25_items(store: &dyn Store) {
    let items: Vec<Item> = (0..61).map(|i| item("BATCH", &format!("{i:03}"))).collect();
    let unprocessed = store.batch_put(items.clone()).await.unwrap();
    assert!(unprocessed.is_empty());
    assert_eq!(store.query(&Query::partition("BATCH")).await.unwrap(), items);
    // Rewriting the same keys replaces, never duplicates.
    assert!(store.batch_put(items.clone()).await.unwrap().is_empty());
    assert_eq!(store.query(&Query::partition("BATCH")).await.unwrap().len(), 61);
}

async fn batch_get_reads_many_keys(store: &dyn Store) {
    let items: Vec<Item> = (0..130).map(|i| item("BG", &format!("{i:03}"))).collect();
    assert!(store.batch_put(items.clone()).await.unwrap().is_empty());
    store.put(item("BG", "old").expiring_at(now_epoch() - 1), Condition::Always).await.unwrap();
    let mut keys: Vec<Key> = (0..130).step_by(2).map(|i| Key::new("BG", format!("{i:03}"))).collect();
    keys.push(Key::new("BG", "missing"));
    keys.push(Key::new("BG", "old"));
    keys.push(Key::new("BG", "000"));
    let mut found = store.batch_get(&keys).await.unwrap();
    found.sort_by(|a, b| a.key.cmp(&b.key));
    found.dedup_by(|a, b| a.key == b.key);
    let expected: Vec<Item> = items.into_iter().step_by(2).collect();
    assert_eq!(found, expected);
    assert!(store.batch_get(&[]).await.unwrap().is_empty());
}

async fn reads_see_own_writes(store: &dyn Store) {
    let key = Key::new("USER#u1", "PROFILE");
    for n in 0..5 {
        store.put(Item::new(key.clone()).with("n", Value::int(n)), Condition::Always).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap().unwrap().i64("n"), Some(n));
    }
}

async fn update_sets_removes_adds_and_respects_conditions(store: &dyn Store) {
    let key = keys::meter_latest("m1");
    // Newer-only update: the latest-state pattern.
    let newer =
        |t: i64| Condition::Or(vec![Condition::AttrAbsent("t".into()), Condition::Lt("t".into(), Value::int(t))]);
    let created = store
        .update(&key, Update::default().set("t", Value::int(10)).set("x", Value::str("a")), newer(10))
        .await
        .unwrap();
    assert_eq!(created.i64("t"), Some(10));
    let err = store.update(&key, Update::default().set("t", Value::int(5)), newer(5)).await.unwrap_err();
    assert!(err.is_condition_failed());
    let updated = store
        .update(
            &key,
            Update::default().set("t", Value::int(11)).remove("x").add("count", 2).expiring_at(Some(now_epoch() + 60)),
            newer(11),
        )
        .await
        .unwrap();
    assert_eq!(updated.i64("t"), Some(11));
    assert_eq!(updated.get("x"), None);
    assert_eq!(updated.i64("count"), Some(2));
    let again = store.update(&key, Update::default().add("count", 3), Condition::ItemPresent).await.unwrap();
    assert_eq!(again.i64("count"), Some(5));
    assert_eq!(store.get(&key).await.unwrap(), Some(again));
    let missing = Key::new("nobody", "x");
    assert!(
        store
            .update(&missing, Update::default().set("a", Value::int(1)), Condition::ItemPresent)
            .await
            .unwrap_err()
            .is_condition_failed()
    );
    assert_eq!(store.get(&missing).await.unwrap(), None);
}

/// A copy reads the item as it was before the update (the default when the attribute was not there); in a
/// transaction too. `batch_exists` answers keys, as `batch_get` finds them.
async fn copies_read_the_item_before_the_update(store: &dyn Store) {
    let key = Key::new("METER#c", "LATEST");
    let advance = |t: i64| Update::default().set("t", Value::int(t)).copy("prevT", "t", Value::int(0));
    let first = store.update(&key, advance(10), Condition::Always).await.unwrap();
    assert_eq!((first.i64("t"), first.i64("prevT")), (Some(10), Some(0)));
    let second = store.update(&key, advance(25), Condition::Always).await.unwrap();
    assert_eq!((second.i64("t"), second.i64("prevT")), (Some(25), Some(10)));
    store
        .transact(vec![Write::Update { key: key.clone(), update: advance(40), condition: Condition::ItemPresent }])
        .await
        .unwrap();
    let third = store.get(&key).await.unwrap().unwrap();
    assert_eq!((third.i64("t"), third.i64("prevT")), (Some(40), Some(25)));
    let absent = Key::new("METER#c", "NONE");
    let mut found = store.batch_exists(&[key.clone(), absent]).await.unwrap();
    found.sort();
    assert_eq!(found, [key]);
}

async fn delete_respects_conditions(store: &dyn Store) {
    let key = Key::new("D", "1");
    store.put(item("D", "1").with("state", Value::str("keep")), Condition::Always).await.unwrap();
    let err = store.delete(&key, Condition::Eq("state".into(), Value::str("gone"))).await.unwrap_err();
    assert!(err.is_condition_failed());
    store.delete(&key, Condition::Eq("state".into(), Value::str("keep"))).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None);
    store.delete(&key, Condition::Always).await.unwrap();
}

async fn transactions_are_all_or_nothing(store: &dyn Store) {
    let login = keys::user_login("alice");
    let profile = keys::user_profile("u-1");
    let writes = |user: &str| {
        vec![
            Write::Put {
                item: Item::new(login.clone()).with("user", Value::str(user)),
                condition: Condition::ItemAbsent,
            },
            Write::Put {
                item: Item::new(keys::user_profile(user)).with("login", Value::str("alice")),
                condition: Condition::ItemAbsent,
            },
        ]
    };
    store.transact(writes("u-1")).await.unwrap();
    let err = store.transact(writes("u-2")).await.unwrap_err();
    assert_eq!(err, StoreError::ConditionFailed { index: Some(0) });
    assert_eq!(
        store.get(&keys::user_profile("u-2")).await.unwrap(),
        None,
        "nothing of a failed transaction is written"
    );
    assert_eq!(store.get(&login).await.unwrap().unwrap().str("user"), Some("u-1"));
    // Check, update and delete in one transaction.
    store
        .transact(vec![
            Write::Check { key: login.clone(), condition: Condition::Eq("user".into(), Value::str("u-1")) },
            Write::Update {
                key: profile.clone(),
                update: Update::default().add("logins", 1),
                condition: Condition::ItemPresent,
            },
            Write::Delete { key: Key::new("absent", "x"), condition: Condition::Always },
        ])
        .await
        .unwrap();
    assert_eq!(store.get(&profile).await.unwrap().unwrap().i64("logins"), Some(1));
    let failing_check = vec![
        Write::Update {
            key: profile.clone(),
            update: Update::default().add("logins", 1),
            condition: Condition::Always,
        },
        Write::Check { key: login.clone(), condition: Condition::Eq("user".into(), Value::str("u-9")) },
    ];
    assert_eq!(store.transact(failing_check).await.unwrap_err(), StoreError::ConditionFailed { index: Some(1) });
    assert_eq!(store.get(&profile).await.unwrap().unwrap().i64("logins"), Some(1));
}

async fn invalid_requests_are_refused(store: &dyn Store) {
    let reserved = Item::new(Key::new("a", "b")).with("ttl", Value::int(1));
    assert!(matches!(store.put(reserved, Condition::Always).await, Err(StoreError::Invalid(_))));
    assert!(matches!(store.put(Item::new(Key::new("", "b")), Condition::Always).await, Err(StoreError::Invalid(_))));
    let twice = vec![
        Write::Check { key: Key::new("a", "b"), condition: Condition::ItemAbsent },
        Write::Delete { key: Key::new("a", "b"), condition: Condition::Always },
    ];
    assert!(matches!(store.transact(twice).await, Err(StoreError::Invalid(_))));
    assert!(matches!(store.transact(vec![]).await, Err(StoreError::Invalid(_))));
}

/// DynamoDB's limits, held by both stores with DynamoDB's error: a partition key up to 2,048 bytes and a sort key up
/// to 1,024 (at the limit: fine; one byte over: refused, on every call), an item up to 400 KB, by put or update.
async fn dynamodbs_size_limits_hold(store: &dyn Store) {
    let longest = Key::new("P".repeat(MAX_PARTITION_KEY_BYTES), "S".repeat(MAX_SORT_KEY_BYTES));
    store.put(Item::new(longest.clone()), Condition::Always).await.unwrap();
    assert!(store.get(&longest).await.unwrap().is_some());
    let too_long_pk = Key::new("P".repeat(MAX_PARTITION_KEY_BYTES + 1), "s");
    let too_long_sk = Key::new("p", "S".repeat(MAX_SORT_KEY_BYTES + 1));
    for key in [&too_long_pk, &too_long_sk] {
        let invalid = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Invalid(_)));
        assert!(invalid(store.put(Item::new(key.clone()), Condition::Always).await));
        assert!(invalid(store.get(key).await.map(drop)));
        assert!(invalid(
            store.update(key, Update::default().set("a", Value::int(1)), Condition::Always).await.map(drop)
        ));
        assert!(invalid(store.delete(key, Condition::Always).await));
        assert!(invalid(store.batch_get(std::slice::from_ref(key)).await.map(drop)));
        let write = Write::Put { item: Item::new(key.clone()), condition: Condition::Always };
        assert!(invalid(store.transact(vec![write]).await));
    }
    let big = Item::new(Key::new("BIG", "1")).with("blob", Value::B(vec![7; MAX_ITEM_BYTES]));
    assert!(matches!(store.put(big, Condition::Always).await, Err(StoreError::Invalid(_))));
    let key = Key::new("BIG", "2");
    store.put(Item::new(key.clone()).with("blob", Value::B(vec![7; 300 * 1024])), Condition::Always).await.unwrap();
    let grows = Update::default().set("more", Value::B(vec![7; 200 * 1024]));
    assert!(matches!(store.update(&key, grows, Condition::Always).await, Err(StoreError::Invalid(_))));
}

async fn values_round_trip(store: &dyn Store) {
    let rich = Item::new(Key::new("V", "1"))
        .with("s", Value::str("ünïcode"))
        .with("i", Value::int(i64::MIN))
        .with("f", Value::float(1879583.2))
        .with("b", Value::B(vec![0, 1, 255]))
        .with("t", Value::Bool(true))
        .with("l", Value::L(vec![Value::int(1), Value::str("x")]))
        .with("m", Value::M([("k".to_owned(), Value::float(-0.5))].into()))
        .with("z", Value::Null);
    store.put(rich.clone(), Condition::Always).await.unwrap();
    let read = store.get(&rich.key).await.unwrap().unwrap();
    assert_eq!(read, rich);
    assert_eq!(read.get("f").and_then(Value::as_f64), Some(1879583.2));
}

/// A source's events are spread over its shards by delivery id; the newest are listed across every shard in receipt
/// order, the events stored in the one partition before sharding among them.
async fn webhook_events_are_sharded_and_listed_across_shards(store: &dyn Store) {
    use shared::partners::webhooks::stored::StoredEvent;
    let source = format!("sharded-{}", now_epoch());
    let event = |n: i64| StoredEvent {
        source: source.clone(),
        scheme: "github".into(),
        delivery_id: format!("delivery-{n}"),
        received_at: 1_800_000_000 + n,
        headers: Default::default(),
        body: format!("{{\"n\":{n}}}").into_bytes(),
    };
    let items: Vec<Item> = (0..40).map(|n| event(n).to_item()).collect();
    let shards: std::collections::BTreeSet<&str> = items.iter().map(|i| i.key.pk.as_str()).collect();
    assert!(shards.len() > 20, "40 deliveries over many shards: {shards:?}");
    store.batch_put(items.clone()).await.unwrap();
    // One delivery stored before sharding, in the source's single partition: still listed, in its place.
    let mut legacy = event(40).to_item();
    legacy.key.pk = keys::webhook_event_partitions(&source).pop().unwrap();
    store.put(legacy, Condition::Always).await.unwrap();

    let newest = StoredEvent::newest(store, &source, 5).await.unwrap();
    let ids: Vec<&str> = newest.iter().map(|e| e.delivery_id.as_str()).collect();
    assert_eq!(ids, ["delivery-40", "delivery-39", "delivery-38", "delivery-37", "delivery-36"]);
    assert_eq!(StoredEvent::newest(store, &source, 100).await.unwrap().len(), 41);
    assert_eq!(newest[1], event(39), "an event reads back as it was stored");
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let dir = std::env::temp_dir().join(testkit::unique_name("store"));
                    let store = shared::ports::store::embedded::EmbeddedStore::open(&dir.join("store.redb")).unwrap();
                    super::$case(&store).await;
                    drop(store);
                    let _ = std::fs::remove_dir_all(dir);
                }
            )*

            #[tokio::test]
            async fn data_survives_reopening() {
                let dir = std::env::temp_dir().join(testkit::unique_name("store"));
                let path = dir.join("store.redb");
                let store = shared::ports::store::embedded::EmbeddedStore::open(&path).unwrap();
                store.put(item("P", "1"), Condition::Always).await.unwrap();
                drop(store);
                let reopened = shared::ports::store::embedded::EmbeddedStore::open(&path).unwrap();
                assert_eq!(reopened.get(&Key::new("P", "1")).await.unwrap(), Some(item("P", "1")));
                drop(reopened);
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        mod dynamodb {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, _) = testkit::aws::moto::fresh_store().await;
                    super::$case(&store).await;
                }
            )*

            #[tokio::test]
            async fn ttl_is_the_tables_ttl_attribute() {
                let (store, config) = testkit::aws::moto::fresh_store().await;
                let expires_at = now_epoch() + 100;
                store.put(item("T", "1").expiring_at(expires_at), Condition::Always).await.unwrap();
                let client = aws_sdk_dynamodb::Client::new(&config);
                let raw = client
                    .get_item()
                    .table_name(store.table())
                    .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("T".into()))
                    .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("1".into()))
                    .send()
                    .await
                    .unwrap();
                let ttl = raw.item.unwrap().remove("ttl").unwrap();
                assert_eq!(ttl.as_n().unwrap().parse::<i64>().unwrap(), expires_at);
            }

            #[tokio::test]
            async fn a_missing_table_is_an_invalid_request() {
                let config = testkit::aws::moto::sdk_config().await;
                let store = shared::ports::store::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), "no-such-table");
                assert!(matches!(store.get(&Key::new("a", "b")).await, Err(StoreError::Invalid(_))));
            }
        }
    };
}

contract!(
    conditional_put_succeeds_once_then_fails,
    expired_items_are_absent_and_ttl_is_written,
    query_is_ordered_and_ranged,
    query_pages_through_large_partitions,
    batch_put_writes_more_than_25_items,
    batch_get_reads_many_keys,
    reads_see_own_writes,
    update_sets_removes_adds_and_respects_conditions,
    copies_read_the_item_before_the_update,
    delete_respects_conditions,
    transactions_are_all_or_nothing,
    invalid_requests_are_refused,
    dynamodbs_size_limits_hold,
    values_round_trip,
    webhook_events_are_sharded_and_listed_across_shards,
);
