//! Item changes as DynamoDB Streams delivers them to a Lambda function (`NEW_AND_OLD_IMAGES`), and the same
//! records made by [`ChangeFeed`], a store wrapper, for the local runner and the tests: one handler serves both.

use super::{Attrs, Condition, Item, Key, PK, Query, SK, Store, StoreError, TTL, Update, Value, Write};
use crate::ports::clock::Clock;
use serde_json::{Map, Value as Json, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Modify,
    Remove,
}

impl ChangeKind {
    fn name(self) -> &'static str {
        match self {
            Self::Insert => "INSERT",
            Self::Modify => "MODIFY",
            Self::Remove => "REMOVE",
        }
    }
}

/// One changed item, with its images before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The stream's sequence number: a failed batch is retried from the first failed record's.
    pub sequence: String,
    pub kind: ChangeKind,
    pub key: Key,
    pub old: Option<Item>,
    pub new: Option<Item>,
    /// When the change was made (the stream record's `ApproximateCreationDateTime`, epoch seconds): a record
    /// delivered again carries the same time, so whatever is derived from it repeats exactly.
    pub time: Option<i64>,
}

/// The changes of a DynamoDB Streams event as Lambda delivers it (`{"Records": [{"eventName", "dynamodb":
/// {"Keys", "NewImage", "OldImage", "SequenceNumber"}}]}`).
pub fn from_stream_event(event: &Json) -> Result<Vec<Change>, String> {
    let records = event.get("Records").and_then(Json::as_array).ok_or("no Records list")?;
    records
        .iter()
        .map(|record| {
            let kind = match record["eventName"].as_str() {
                Some("INSERT") => ChangeKind::Insert,
                Some("MODIFY") => ChangeKind::Modify,
                Some("REMOVE") => ChangeKind::Remove,
                other => return Err(format!("unknown eventName {other:?}")),
            };
            let data = &record["dynamodb"];
            let keys = item_from_image(&data["Keys"]).ok_or("a record without pk and sk Keys")?;
            Ok(Change {
                sequence: data["SequenceNumber"].as_str().ok_or("a record without SequenceNumber")?.to_owned(),
                kind,
                key: keys.key,
                old: item_from_image(&data["OldImage"]),
                new: item_from_image(&data["NewImage"]),
                // Epoch seconds, a number (DynamoDB Streams rounds it down to the second; some deliveries add a
                // fraction).
                time: data["ApproximateCreationDateTime"].as_f64().filter(|t| t.is_finite()).map(|t| t.floor() as i64),
            })
        })
        .collect()
}

/// The Lambda event DynamoDB Streams would deliver for `changes`.
pub fn to_stream_event(changes: &[Change]) -> Json {
    let records: Vec<Json> = changes
        .iter()
        .map(|change| {
            let mut data = Map::new();
            data.insert("Keys".into(), json!({PK: {"S": change.key.pk}, SK: {"S": change.key.sk}}));
            if let Some(old) = &change.old {
                data.insert("OldImage".into(), image_of(old));
            }
            if let Some(new) = &change.new {
                data.insert("NewImage".into(), image_of(new));
            }
            if let Some(time) = change.time {
                data.insert("ApproximateCreationDateTime".into(), json!(time));
            }
            data.insert("SequenceNumber".into(), json!(change.sequence));
            data.insert("StreamViewType".into(), json!("NEW_AND_OLD_IMAGES"));
            json!({"eventName": change.kind.name(), "eventSource": "aws:dynamodb", "dynamodb": data})
        })
        .collect();
    json!({"Records": records})
}

/// An item from its DynamoDB JSON image (`{"pk": {"S": ...}, ...}`), if it has string keys.
pub fn item_from_image(image: &Json) -> Option<Item> {
    let map = image.as_object()?;
    let pk = map.get(PK)?.get("S")?.as_str()?.to_owned();
    let sk = map.get(SK)?.get("S")?.as_str()?.to_owned();
    let mut item = Item::new(Key::new(pk, sk));
    for (name, value) in map {
        match name.as_str() {
            PK | SK => {}
            TTL => item.expires_at = value.get("N").and_then(Json::as_str).and_then(|n| n.parse().ok()),
            _ => {
                item.attrs.insert(name.clone(), value_from_image(value)?);
            }
        }
    }
    Some(item)
}

fn value_from_image(value: &Json) -> Option<Value> {
    let (kind, inner) = value.as_object()?.iter().next()?;
    Some(match kind.as_str() {
        "S" => Value::S(inner.as_str()?.to_owned()),
        "N" => Value::N(inner.as_str()?.to_owned()),
        "BOOL" => Value::Bool(inner.as_bool()?),
        "NULL" => Value::Null,
        "B" => Value::B(crate::crypto::from_base64(inner.as_str()?)?),
        "L" => Value::L(inner.as_array()?.iter().map(value_from_image).collect::<Option<_>>()?),
        "M" => Value::M(
            inner
                .as_object()?
                .iter()
                .map(|(k, v)| Some((k.clone(), value_from_image(v)?)))
                .collect::<Option<Attrs>>()?,
        ),
        _ => return None,
    })
}

fn image_of(item: &Item) -> Json {
    let mut map = Map::new();
    map.insert(PK.into(), json!({"S": item.key.pk}));
    map.insert(SK.into(), json!({"S": item.key.sk}));
    for (name, value) in &item.attrs {
        map.insert(name.clone(), image_value(value));
    }
    if let Some(ttl) = item.expires_at {
        map.insert(TTL.into(), json!({"N": ttl.to_string()}));
    }
    Json::Object(map)
}

fn image_value(value: &Value) -> Json {
    match value {
        Value::S(s) => json!({"S": s}),
        Value::N(n) => json!({"N": n}),
        Value::Bool(b) => json!({"BOOL": b}),
        Value::Null => json!({"NULL": true}),
        Value::B(b) => json!({"B": crate::crypto::to_base64(b)}),
        Value::L(list) => json!({"L": list.iter().map(image_value).collect::<Vec<_>>()}),
        Value::M(map) => json!({"M": map.iter().map(|(k, v)| (k.clone(), image_value(v))).collect::<Map<_, _>>()}),
    }
}

/// What Lambda's DynamoDB event source mapping does with a batch, as the template configures it
/// (`ReportBatchItemFailures`, `MaximumRetryAttempts`, an on-failure destination): the local runner and the tests
/// deliver change records the same way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivered {
    /// Handler invocations.
    pub invocations: usize,
    /// Records given up on after the retries: what the dead-letter queue receives.
    pub dead_letters: Vec<Change>,
}

/// Delivers `changes` to `handler` (a stream event in, `{"batchItemFailures"}` out): a batch handed back in part
/// is retried from its first failed record, up to `max_retries` times, then that rest goes to the dead letters.
pub async fn deliver<F, Fut>(changes: Vec<Change>, max_retries: u32, handler: F) -> Delivered
where
    F: Fn(Json) -> Fut,
    Fut: std::future::Future<Output = Json>,
{
    let mut delivered = Delivered::default();
    let mut batch = changes;
    let mut retries = 0;
    while !batch.is_empty() {
        let answer = handler(to_stream_event(&batch)).await;
        delivered.invocations += 1;
        let failed: Vec<&str> = answer["batchItemFailures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["itemIdentifier"].as_str())
            .collect();
        // For streams Lambda resumes from the lowest failed sequence number.
        let Some(first) = batch.iter().position(|c| failed.contains(&c.sequence.as_str())) else { break };
        let rest = batch.split_off(first);
        if retries == max_retries {
            delivered.dead_letters.extend(rest);
            break;
        }
        retries += 1;
        batch = rest;
    }
    delivered
}

/// Where a [`ChangeFeed`] sends the changes of each write.
pub type ChangeSink = Arc<dyn Fn(Vec<Change>) + Send + Sync>;

/// A store that reports every change it makes, as a table's stream would: the old image read before the write,
/// the new one after. For the local runner and tests (not atomic with the write, which is all they need).
pub struct ChangeFeed<S> {
    inner: S,
    /// Where the images are read (the same store, unless reads must not count as the writer's own).
    observer: Arc<dyn Store>,
    sink: ChangeSink,
    /// What stamps each change's time, as the stream stamps its records.
    clock: Clock,
}

/// Sequence numbers of every feed in the process: unique and increasing, as a stream's are within a shard.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl<S: Store + Clone + 'static> ChangeFeed<S> {
    pub fn new(inner: S, sink: ChangeSink) -> Self {
        Self { observer: Arc::new(inner.clone()), inner, sink, clock: Clock::SYSTEM }
    }
}

impl<S: Store> ChangeFeed<S> {
    /// A feed whose images are read through `observer`: in tests on DynamoDB, the harness's own credentials, so
    /// the stream's reads are not taken for the writing function's.
    pub fn observed_by(inner: S, observer: Arc<dyn Store>, sink: ChangeSink) -> Self {
        Self { inner, observer, sink, clock: Clock::SYSTEM }
    }

    /// The same feed stamping changes with `clock`'s time.
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    fn change(&self, key: &Key, old: Option<Item>, new: Option<Item>) -> Option<Change> {
        let kind = match (&old, &new) {
            (None, Some(_)) => ChangeKind::Insert,
            (Some(_), Some(_)) if old != new => ChangeKind::Modify,
            (Some(_), None) => ChangeKind::Remove,
            _ => return None,
        };
        let sequence = format!("{:021}", SEQUENCE.fetch_add(1, Ordering::SeqCst) + 1);
        Some(Change { sequence, kind, key: key.clone(), old, new, time: Some(self.clock.now()) })
    }

    async fn around<T>(
        &self,
        keys: Vec<Key>,
        write: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let mut before = Vec::with_capacity(keys.len());
        for key in &keys {
            before.push(self.observer.get(key).await?);
        }
        let result = write.await?;
        let mut changes = Vec::new();
        for (key, old) in keys.iter().zip(before) {
            let new = self.observer.get(key).await?;
            changes.extend(self.change(key, old, new));
        }
        if !changes.is_empty() {
            (self.sink)(changes);
        }
        Ok(result)
    }
}

#[async_trait::async_trait]
impl<S: Store> Store for ChangeFeed<S> {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        let key = item.key.clone();
        self.around(vec![key], self.inner.put(item, condition)).await
    }
    async fn update(&self, key: &Key, update: Update, condition: Condition) -> Result<Item, StoreError> {
        self.around(vec![key.clone()], self.inner.update(key, update, condition)).await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        self.around(vec![key.clone()], self.inner.delete(key, condition)).await
    }
    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        self.inner.query(query).await
    }
    async fn batch_put(&self, items: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let keys = items.iter().map(|i| i.key.clone()).collect();
        self.around(keys, self.inner.batch_put(items)).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.inner.batch_get(keys).await
    }
    async fn batch_exists(&self, keys: &[Key]) -> Result<Vec<Key>, StoreError> {
        self.inner.batch_exists(keys).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let keys = writes
            .iter()
            .filter_map(|w| match w {
                Write::Put { item, .. } => Some(item.key.clone()),
                Write::Update { key, .. } | Write::Delete { key, .. } => Some(key.clone()),
                Write::Check { .. } => None,
            })
            .collect();
        self.around(keys, self.inner.transact(writes)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_round_trip_through_the_stream_event() {
        let item = Item::new(Key::new("METER#m", "LATEST"))
            .with("t", Value::int(5))
            .with("v", Value::M(Attrs::from([("1-0:1.7.0*255".to_owned(), Value::float(24.5))])))
            .with("features", Value::L(vec![Value::str("online")]))
            .with("b", Value::B(vec![1, 2]))
            .with("ok", Value::Bool(true))
            .expiring_at(99);
        let change = Change {
            sequence: "000000000000000000001".into(),
            kind: ChangeKind::Modify,
            key: item.key.clone(),
            old: None,
            new: Some(item),
            time: Some(1_795_401_483),
        };
        let event = to_stream_event(std::slice::from_ref(&change));
        assert_eq!(from_stream_event(&event).unwrap(), vec![change]);
        assert!(from_stream_event(&json!({"Records": [{"eventName": "X"}]})).is_err());
    }

    #[test]
    fn the_documented_record_shape_is_read() {
        // A record as the DynamoDB developer guide shows a NEW_AND_OLD_IMAGES stream record.
        let event = json!({"Records": [{
            "eventID": "1", "eventName": "MODIFY", "eventVersion": "1.0", "eventSource": "aws:dynamodb",
            "awsRegion": "eu-central-1",
            "dynamodb": {
                "Keys": {"pk": {"S": "METER#a"}, "sk": {"S": "LATEST"}},
                "NewImage": {"pk": {"S": "METER#a"}, "sk": {"S": "LATEST"}, "t": {"N": "2"}},
                "OldImage": {"pk": {"S": "METER#a"}, "sk": {"S": "LATEST"}, "t": {"N": "1"}},
                "ApproximateCreationDateTime": 1479499740.0,
                "SequenceNumber": "222", "SizeBytes": 59, "StreamViewType": "NEW_AND_OLD_IMAGES"
            },
            "eventSourceARN": "arn:aws:dynamodb:eu-central-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
        }]});
        let changes = from_stream_event(&event).unwrap();
        assert_eq!(changes[0].kind, ChangeKind::Modify);
        assert_eq!(changes[0].old.as_ref().unwrap().i64("t"), Some(1));
        assert_eq!(changes[0].new.as_ref().unwrap().i64("t"), Some(2));
        assert_eq!(changes[0].sequence, "222");
        assert_eq!(changes[0].time, Some(1_479_499_740));
    }
}
