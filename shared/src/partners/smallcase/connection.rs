//! Which smallcase account a user is connected to, and the one way a connection is made: the Gateway, re-read
//! for a transaction the user created through us, says the transaction completed with that account.
//!
//! A postback's body is not signed (its checksum covers only `timestamp + smallcaseAuthId`), and a client can
//! claim anything: neither ever chooses who is connected. Each account belongs to at most one of our users
//! (smallcase's rule: two users sharing a smallcaseAuthId would share a broker account), kept by an owner item
//! written in the same transaction as the connection.

use super::SmallcaseSecret;
use super::client::{GatewayError, SmallcaseClient, TransactionStatus};
use crate::ports::store::{Condition, Item, Store, StoreError, Update, Value, Write, keys};

/// The status at which the Gateway's smallcaseAuthId connects the transaction's creator.
pub const CONNECTING_STATUS: TransactionStatus = TransactionStatus::Completed;

/// Lifetime of the smallcaseAuthToken we sign for a re-read (seconds).
const REREAD_TOKEN_TTL_S: i64 = 300;

/// A transaction a user created through us, as recorded when the Gateway created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedTransaction {
    pub transaction_id: String,
    pub user_id: String,
    pub intent: String,
    /// The smallcaseAuthId the transaction was created with; `None` when the user was a guest then.
    pub created_as: Option<String>,
    /// The Gateway's status when it was last re-read.
    pub status: Option<TransactionStatus>,
    pub connected: bool,
}

/// Our view of a transaction after a re-read, as the status route answers it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TransactionView {
    #[serde(rename = "transactionId")]
    pub transaction_id: String,
    pub intent: String,
    pub status: TransactionStatus,
    /// Whether the user is now connected to the account this transaction was done with.
    pub connected: bool,
}

/// Why a re-read changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("the Gateway names intent {gateway} for a transaction created as {ours}")]
    IntentMismatch { ours: String, gateway: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`connect`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connected,
    AlreadyConnected,
    /// Another of our users holds this account: nothing changed.
    HeldByAnotherUser,
}

const AUTH_ID: &str = "smallcaseAuthId";
const CONNECTED_AT: &str = "connectedAt";

/// The smallcaseAuthId `user_id` is connected to; `None` for a guest.
pub async fn connected_auth_id(store: &dyn Store, user_id: &str) -> Result<Option<String>, StoreError> {
    Ok(store.get(&keys::user_smallcase(user_id)).await?.as_ref().and_then(connection_auth_id))
}

/// The smallcaseAuthId a user's connection item (`SCUSER#<user>` / `CONNECTION`) holds.
pub fn connection_auth_id(item: &Item) -> Option<String> {
    item.str(AUTH_ID).map(str::to_owned)
}

/// When a user's connection item was written (epoch seconds).
pub fn connected_at(item: &Item) -> Option<i64> {
    item.i64(CONNECTED_AT)
}

/// Records that `user_id` created `transaction_id` (as `created_as`, or as a guest). The Gateway's ids are unique:
/// an existing record of another user is refused, the same record again (a retried write) is not.
pub async fn record_transaction(
    store: &dyn Store,
    transaction: &RecordedTransaction,
    now: i64,
) -> Result<(), StoreError> {
    let mut item = Item::new(keys::smallcase_transaction(&transaction.transaction_id))
        .with("userId", Value::str(&transaction.user_id))
        .with("intent", Value::str(&transaction.intent))
        .with("createdAt", Value::int(now));
    if let Some(auth_id) = &transaction.created_as {
        item = item.with("createdAs", Value::str(auth_id));
    }
    let ours = Condition::Eq("userId".into(), Value::str(&transaction.user_id));
    store.put(item, Condition::Or(vec![Condition::ItemAbsent, ours])).await
}

/// The record of `transaction_id`, if a user created it through us.
pub async fn recorded(store: &dyn Store, transaction_id: &str) -> Result<Option<RecordedTransaction>, StoreError> {
    let Some(item) = store.get(&keys::smallcase_transaction(transaction_id)).await? else { return Ok(None) };
    let (Some(user_id), Some(intent)) = (item.str("userId"), item.str("intent")) else { return Ok(None) };
    Ok(Some(RecordedTransaction {
        transaction_id: transaction_id.to_owned(),
        user_id: user_id.to_owned(),
        intent: intent.to_owned(),
        created_as: item.str("createdAs").map(str::to_owned),
        status: item.str("gatewayStatus").and_then(TransactionStatus::parse),
        connected: item.bool("connected").unwrap_or(false),
    }))
}

/// Connects `user_id` to `auth_id`, unless another user holds that account.
pub async fn connect(store: &dyn Store, user_id: &str, auth_id: &str, now: i64) -> Result<Connection, StoreError> {
    let previous = connected_auth_id(store, user_id).await?;
    if previous.as_deref() == Some(auth_id) {
        return Ok(Connection::AlreadyConnected);
    }
    let owned_by_user = |id: &str| Condition::Eq("userId".into(), Value::str(id));
    let mut writes = vec![
        Write::Put {
            item: Item::new(keys::smallcase_account(auth_id)).with("userId", Value::str(user_id)),
            condition: Condition::Or(vec![Condition::ItemAbsent, owned_by_user(user_id)]),
        },
        Write::Put {
            item: Item::new(keys::user_smallcase(user_id))
                .with(AUTH_ID, Value::str(auth_id))
                .with(CONNECTED_AT, Value::int(now)),
            condition: Condition::Always,
        },
    ];
    if let Some(old) = previous {
        // The user moved to another broker account: the old one is free for whoever logs in with it.
        writes.push(Write::Delete { key: keys::smallcase_account(&old), condition: owned_by_user(user_id) });
    }
    match store.transact(writes).await {
        Ok(()) => Ok(Connection::Connected),
        Err(StoreError::ConditionFailed { index: Some(0) | None }) => {
            // A retried transaction of ours finds its own owner item: look again before calling it taken.
            match connected_auth_id(store, user_id).await? {
                Some(id) if id == auth_id => Ok(Connection::AlreadyConnected),
                _ => Ok(Connection::HeldByAnotherUser),
            }
        }
        Err(error) => Err(error),
    }
}

/// Forgets `user_id`'s connection and frees its account (a user removed by the operator).
pub async fn disconnect(store: &dyn Store, user_id: &str) -> Result<(), StoreError> {
    if let Some(auth_id) = connected_auth_id(store, user_id).await? {
        let owned = Condition::Eq("userId".into(), Value::str(user_id));
        match store.delete(&keys::smallcase_account(&auth_id), owned).await {
            Ok(()) => {}
            Err(error) if error.is_condition_failed() => {}
            Err(error) => return Err(error),
        }
    }
    store.delete(&keys::user_smallcase(user_id), Condition::Always).await
}

/// Re-reads `transaction` from the Gateway and acts on its answer alone: the status is recorded, and a completed
/// transaction's smallcaseAuthId connects the user who created it. Idempotent.
pub async fn reconcile(
    store: &dyn Store,
    gateway: &SmallcaseClient,
    secret: &SmallcaseSecret,
    transaction: &RecordedTransaction,
    now: i64,
) -> Result<TransactionView, ReconcileError> {
    // The token the transaction was created with: the Gateway shows a connected user only their own transactions.
    let token = super::auth_token::sign(&secret.secret, transaction.created_as.as_deref(), now, REREAD_TOKEN_TTL_S);
    let details = gateway.transaction_details(secret, &token, &transaction.transaction_id).await?;
    if let Some(intent) = details.intent.as_deref().filter(|i| *i != transaction.intent) {
        return Err(ReconcileError::IntentMismatch { ours: transaction.intent.clone(), gateway: intent.to_owned() });
    }
    let mut connected = false;
    if let (CONNECTING_STATUS, Some(auth_id)) = (details.status, details.smallcase_auth_id.as_deref()) {
        match connect(store, &transaction.user_id, auth_id, now).await? {
            Connection::Connected | Connection::AlreadyConnected => connected = true,
            Connection::HeldByAnotherUser => tracing::error!(
                transaction_id = transaction.transaction_id,
                user_id = transaction.user_id,
                "smallcase account already connected to another user; not connected"
            ),
        }
    }
    let update = Update::default()
        .set("gatewayStatus", Value::str(details.status.name()))
        .set("checkedAt", Value::int(now))
        .set("connected", Value::Bool(connected || transaction.connected));
    store.update(&keys::smallcase_transaction(&transaction.transaction_id), update, Condition::ItemPresent).await?;
    Ok(TransactionView {
        transaction_id: transaction.transaction_id.clone(),
        intent: transaction.intent.clone(),
        status: details.status,
        connected: connected || transaction.connected,
    })
}
