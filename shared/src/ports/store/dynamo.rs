//! The [`Store`] on DynamoDB.

use super::condition::Expression;
use super::{
    Attrs, BATCH_GET_LIMIT, BATCH_WRITE_LIMIT, Condition, Item, Key, PK, Query, SK, SortRange, Store, StoreError, TTL,
    Update, Value, Write, validate_item, validate_key, validate_transaction, validate_update,
};
use crate::ports::clock::now_epoch;
use crate::ports::secrets::manager::cause;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, PutRequest, ReturnValue, TransactWriteItem,
    WriteRequest,
};
use std::collections::HashMap;

type RawItem = HashMap<String, AttributeValue>;

/// A DynamoDB table with string keys `pk` and `sk` and TTL attribute `ttl`.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

#[async_trait::async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        validate_key(key)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(raw_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_err)?;
        let now = now_epoch();
        Ok(out.item.map(from_raw).transpose()?.filter(|item| !item.is_expired(now)))
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        validate_item(&item)?;
        let mut expr = Expression::default();
        let text = condition.render(&mut expr, now_epoch());
        let mut request = self.client.put_item().table_name(&self.table).set_item(Some(to_raw(item)));
        if let Some(text) = text {
            request = request
                .condition_expression(text)
                .set_expression_attribute_names(Some(expr.names))
                .set_expression_attribute_values(non_empty(raw_values(expr.values)));
        }
        request.send().await.map_err(map_err)?;
        Ok(())
    }

    async fn update(&self, key: &Key, update: Update, condition: Condition) -> Result<Item, StoreError> {
        validate_key(key)?;
        validate_update(&update)?;
        let mut expr = Expression::default();
        let update_text = render_update(&update, &mut expr);
        let condition_text = condition.render(&mut expr, now_epoch());
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(raw_key(key)))
            .set_update_expression(update_text)
            .set_condition_expression(condition_text)
            .set_expression_attribute_names(non_empty(expr.names))
            .set_expression_attribute_values(non_empty(raw_values(expr.values)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(map_err)?;
        match out.attributes {
            Some(raw) if !raw.is_empty() => from_raw(raw),
            // An update with no changes on an absent item returns nothing but has created the bare item.
            _ => Ok(Item::new(key.clone())),
        }
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        validate_key(key)?;
        let mut expr = Expression::default();
        let text = condition.render(&mut expr, now_epoch());
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(raw_key(key)))
            .set_condition_expression(text)
            .set_expression_attribute_names(non_empty(expr.names))
            .set_expression_attribute_values(non_empty(raw_values(expr.values)))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        if query.pk.is_empty() {
            return Err(StoreError::Invalid("query partition must not be empty".into()));
        }
        let mut expr = Expression::default();
        let pk = format!("{} = {}", expr.name(PK), expr.value(Value::str(&query.pk)));
        let key_text = match &query.range {
            SortRange::All => pk,
            SortRange::Prefix(p) => {
                format!("{pk} AND begins_with({}, {})", expr.name(SK), expr.value(Value::str(p)))
            }
            SortRange::Between(a, b) => {
                let (sk, a, b) = (expr.name(SK), expr.value(Value::str(a)), expr.value(Value::str(b)));
                format!("{pk} AND {sk} BETWEEN {a} AND {b}")
            }
            SortRange::AtLeast(a) => format!("{pk} AND {} >= {}", expr.name(SK), expr.value(Value::str(a))),
            SortRange::AtMost(b) => format!("{pk} AND {} <= {}", expr.name(SK), expr.value(Value::str(b))),
        };
        let names = expr.names;
        let values = raw_values(expr.values);
        let now = now_epoch();
        let mut items = Vec::new();
        let mut start: Option<RawItem> = None;
        loop {
            let wanted = query.limit.map(|l| l.saturating_sub(items.len()));
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(&key_text)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .consistent_read(true)
                .scan_index_forward(!query.descending)
                .set_limit(wanted.map(|w| w.clamp(1, i32::MAX as usize) as i32))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_err)?;
            for raw in out.items.unwrap_or_default() {
                let item = from_raw(raw)?;
                if !item.is_expired(now) {
                    items.push(item);
                }
            }
            if query.limit.is_some_and(|l| items.len() >= l) {
                items.truncate(query.limit.unwrap_or(usize::MAX));
                return Ok(items);
            }
            match out.last_evaluated_key {
                Some(last) if !last.is_empty() => start = Some(last),
                _ => return Ok(items),
            }
        }
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.batch_read(keys, false).await
    }

    async fn batch_exists(&self, keys: &[Key]) -> Result<Vec<Key>, StoreError> {
        Ok(self.batch_read(keys, true).await?.into_iter().map(|item| item.key).collect())
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        for item in &items {
            validate_item(item)?;
        }
        let mut unprocessed = Vec::new();
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let chunk: Vec<WriteRequest> = items
                .by_ref()
                .take(BATCH_WRITE_LIMIT)
                .map(|item| {
                    let put = PutRequest::builder().set_item(Some(to_raw(item))).build();
                    put.map(|p| WriteRequest::builder().put_request(p).build())
                })
                .collect::<Result<_, _>>()
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            let out = self.client.batch_write_item().request_items(&self.table, chunk).send().await.map_err(map_err)?;
            for request in out.unprocessed_items.unwrap_or_default().remove(&self.table).unwrap_or_default() {
                if let Some(put) = request.put_request {
                    unprocessed.push(from_raw(put.item)?);
                }
            }
        }
        Ok(unprocessed)
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        let now = now_epoch();
        let mut items = Vec::with_capacity(writes.len());
        for write in writes {
            items.push(self.transact_item(write, now)?);
        }
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(ctx)) => {
                let err = ctx.into_err();
                if err.is_transaction_canceled_exception() {
                    if let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancel) = &err {
                        let reasons = cancel.cancellation_reasons();
                        if let Some(index) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                            return Err(StoreError::ConditionFailed { index: Some(index) });
                        }
                    }
                    // Cancelled by a conflicting transaction or throttling: retryable.
                    return Err(StoreError::Unavailable("transaction cancelled".into()));
                }
                Err(classify(err.code(), err.message()))
            }
            Err(other) => Err(map_err(other)),
        }
    }
}

impl DynamoStore {
    /// BatchGetItem of `keys` in calls of at most [`BATCH_GET_LIMIT`], retrying unprocessed keys; `keys_only`
    /// projects each item to its key and TTL (enough to know it exists and has not expired).
    async fn batch_read(&self, keys: &[Key], keys_only: bool) -> Result<Vec<Item>, StoreError> {
        for key in keys {
            validate_key(key)?;
        }
        // BatchGetItem refuses duplicate keys in one call.
        let mut unique: Vec<&Key> = keys.iter().collect();
        unique.sort();
        unique.dedup();
        let now = now_epoch();
        let mut found = Vec::new();
        for chunk in unique.chunks(BATCH_GET_LIMIT) {
            let mut pending: Vec<RawItem> = chunk.iter().map(|k| raw_key(k)).collect();
            // Unprocessed keys come back under throttling; the SDK's own retries cover the call itself. Asking
            // again at once would meet the same throttling: back off exponentially with full jitter (AWS's advice).
            for attempt in 0..8u32 {
                if pending.is_empty() {
                    break;
                }
                if attempt > 0 {
                    let ceiling_ms = 10u64 << attempt.min(6);
                    tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(0..=ceiling_ms))).await;
                }
                let mut request =
                    KeysAndAttributes::builder().set_keys(Some(std::mem::take(&mut pending))).consistent_read(true);
                if keys_only {
                    request = request
                        .projection_expression("#pk, #sk, #ttl")
                        .expression_attribute_names("#pk", PK)
                        .expression_attribute_names("#sk", SK)
                        .expression_attribute_names("#ttl", TTL);
                }
                let request = request.build().map_err(|e| StoreError::Invalid(e.to_string()))?;
                let out =
                    self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(map_err)?;
                for raw in out.responses.unwrap_or_default().remove(&self.table).unwrap_or_default() {
                    let item = from_raw(raw)?;
                    if !item.is_expired(now) {
                        found.push(item);
                    }
                }
                pending =
                    out.unprocessed_keys.unwrap_or_default().remove(&self.table).map(|k| k.keys).unwrap_or_default();
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable("DynamoDB left keys unprocessed".into()));
            }
        }
        Ok(found)
    }

    fn transact_item(&self, write: Write, now: i64) -> Result<TransactWriteItem, StoreError> {
        let mut expr = Expression::default();
        let invalid = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
        let item = match write {
            Write::Put { item, condition } => {
                let text = condition.render(&mut expr, now);
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_raw(item)))
                    .set_condition_expression(text)
                    .set_expression_attribute_names(non_empty(expr.names))
                    .set_expression_attribute_values(non_empty(raw_values(expr.values)))
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().put(put).build()
            }
            Write::Update { key, update, condition } => {
                let update_text = render_update(&update, &mut expr);
                let text = condition.render(&mut expr, now);
                let update =
                    aws_sdk_dynamodb::types::Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(raw_key(&key)))
                        // A transactional update needs an expression: touching the key's own absence is a no-op SET.
                        .update_expression(update_text.unwrap_or_else(|| {
                            format!("SET {} = {}", expr.name("touched"), expr.value(Value::Bool(true)))
                        }))
                        .set_condition_expression(text)
                        .set_expression_attribute_names(non_empty(expr.names))
                        .set_expression_attribute_values(non_empty(raw_values(expr.values)))
                        .build()
                        .map_err(invalid)?;
                TransactWriteItem::builder().update(update).build()
            }
            Write::Delete { key, condition } => {
                let text = condition.render(&mut expr, now);
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(raw_key(&key)))
                    .set_condition_expression(text)
                    .set_expression_attribute_names(non_empty(expr.names))
                    .set_expression_attribute_values(non_empty(raw_values(expr.values)))
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().delete(delete).build()
            }
            Write::Check { key, condition } => {
                let text = condition
                    .render(&mut expr, now)
                    .ok_or_else(|| StoreError::Invalid("a check needs a condition".into()))?;
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(raw_key(&key)))
                    .condition_expression(text)
                    .set_expression_attribute_names(non_empty(expr.names))
                    .set_expression_attribute_values(non_empty(raw_values(expr.values)))
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().condition_check(check).build()
            }
        };
        Ok(item)
    }
}

fn render_update(update: &Update, expr: &mut Expression) -> Option<String> {
    let mut set: Vec<String> =
        update.set.iter().map(|(name, value)| format!("{} = {}", expr.name(name), expr.value(value.clone()))).collect();
    // The right-hand side of SET reads the item as it was before the update.
    set.extend(update.copy.iter().map(|(target, source, default)| {
        format!("{} = if_not_exists({}, {})", expr.name(target), expr.name(source), expr.value(default.clone()))
    }));
    let mut remove: Vec<String> = update.remove.iter().map(|name| expr.name(name)).collect();
    let add: Vec<String> = update
        .add
        .iter()
        .map(|(name, delta)| format!("{} {}", expr.name(name), expr.value(Value::int(*delta))))
        .collect();
    match update.expires_at {
        Some(Some(at)) => set.push(format!("{} = {}", expr.name(TTL), expr.value(Value::int(at)))),
        Some(None) => remove.push(expr.name(TTL)),
        None => {}
    }
    let mut clauses = Vec::new();
    if !set.is_empty() {
        clauses.push(format!("SET {}", set.join(", ")));
    }
    if !remove.is_empty() {
        clauses.push(format!("REMOVE {}", remove.join(", ")));
    }
    if !add.is_empty() {
        clauses.push(format!("ADD {}", add.join(", ")));
    }
    (!clauses.is_empty()).then(|| clauses.join(" "))
}

fn non_empty<K, V>(map: HashMap<K, V>) -> Option<HashMap<K, V>> {
    (!map.is_empty()).then_some(map)
}

fn raw_key(key: &Key) -> RawItem {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

fn raw_values(values: HashMap<String, Value>) -> HashMap<String, AttributeValue> {
    values.into_iter().map(|(k, v)| (k, to_attr(v))).collect()
}

fn to_raw(item: Item) -> RawItem {
    let mut raw = raw_key(&item.key);
    if let Some(at) = item.expires_at {
        raw.insert(TTL.to_owned(), AttributeValue::N(at.to_string()));
    }
    raw.extend(item.attrs.into_iter().map(|(k, v)| (k, to_attr(v))));
    raw
}

fn from_raw(mut raw: RawItem) -> Result<Item, StoreError> {
    let mut take_s = |name: &str| match raw.remove(name) {
        Some(AttributeValue::S(s)) => Ok(s),
        _ => Err(StoreError::Invalid(format!("stored item lacks string `{name}`"))),
    };
    let key = Key { pk: take_s(PK)?, sk: take_s(SK)? };
    let expires_at = match raw.remove(TTL) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    };
    let attrs = raw.into_iter().map(|(k, v)| (k, from_attr(v))).collect();
    Ok(Item { key, attrs, expires_at })
}

fn to_attr(value: Value) -> AttributeValue {
    match value {
        Value::S(s) => AttributeValue::S(s),
        Value::N(n) => AttributeValue::N(n),
        Value::B(b) => AttributeValue::B(Blob::new(b)),
        Value::Bool(b) => AttributeValue::Bool(b),
        Value::L(l) => AttributeValue::L(l.into_iter().map(to_attr).collect()),
        Value::M(m) => AttributeValue::M(m.into_iter().map(|(k, v)| (k, to_attr(v))).collect()),
        Value::Null => AttributeValue::Null(true),
    }
}

fn from_attr(attr: AttributeValue) -> Value {
    match attr {
        AttributeValue::S(s) => Value::S(s),
        AttributeValue::N(n) => Value::N(n),
        AttributeValue::B(b) => Value::B(b.into_inner()),
        AttributeValue::Bool(b) => Value::Bool(b),
        AttributeValue::L(l) => Value::L(l.into_iter().map(from_attr).collect()),
        AttributeValue::M(m) => Value::M(m.into_iter().map(|(k, v)| (k, from_attr(v))).collect::<Attrs>()),
        // Sets and future types are not written by us; read them as null rather than fail the whole item.
        _ => Value::Null,
    }
}

fn map_err<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => classify(ctx.err().code(), ctx.err().message()),
        SdkError::TimeoutError(_) => StoreError::Unavailable("DynamoDB timed out".into()),
        SdkError::DispatchFailure(_) => StoreError::Unavailable(format!("DynamoDB unreachable: {}", cause(&err))),
        SdkError::ResponseError(_) => StoreError::Unavailable("DynamoDB answered unreadably".into()),
        _ => StoreError::Unavailable(format!("DynamoDB request failed: {}", cause(&err))),
    }
}

fn classify(code: Option<&str>, message: Option<&str>) -> StoreError {
    match code {
        Some("ConditionalCheckFailedException") => StoreError::ConditionFailed { index: None },
        Some(
            code @ ("ValidationException" | "ResourceNotFoundException" | "ItemCollectionSizeLimitExceededException"),
        ) => StoreError::Invalid(format!("{code}: {}", message.unwrap_or(""))),
        Some(code) => StoreError::Unavailable(code.to_owned()),
        None => StoreError::Unavailable("DynamoDB error".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_convert_both_ways() {
        let item = Item::new(Key::new("a", "b"))
            .with("s", Value::str("x"))
            .with("n", Value::float(1.5))
            .with("b", Value::B(vec![0, 255]))
            .with("l", Value::L(vec![Value::Bool(true), Value::Null]))
            .with("m", Value::M(Attrs::from([("k".to_owned(), Value::int(-3))])))
            .expiring_at(42);
        let raw = to_raw(item.clone());
        assert_eq!(raw[TTL], AttributeValue::N("42".into()));
        assert_eq!(from_raw(raw).unwrap(), item);
    }

    #[test]
    fn update_expression_covers_set_remove_add_and_ttl() {
        let mut expr = Expression::default();
        let update = Update::default().set("a", Value::int(1)).remove("b").add("c", 2).expiring_at(None);
        let text = render_update(&update, &mut expr).unwrap();
        assert_eq!(text, "SET #n0 = :v0 REMOVE #n1, #n3 ADD #n2 :v1");
        assert_eq!(expr.names["#n3"], TTL);
        assert!(render_update(&Update::default(), &mut Expression::default()).is_none());
        let copy = Update::default().set("t", Value::int(5)).copy("prevT", "t", Value::int(0));
        let mut expr = Expression::default();
        assert_eq!(render_update(&copy, &mut expr).unwrap(), "SET #n0 = :v0, #n1 = if_not_exists(#n0, :v1)");
    }
}
