//! Events out: what the functions stored, told to the vendor's own systems as typed events on an event bus, from
//! the table's changes (the `events` function on the stream; the runner's stand-in locally). One change makes at
//! most one event; its `eventId` comes from the change's stream position, so a redelivered change makes the same
//! event (delivery is at least once: consumers deduplicate on `eventId`). No detail carries a secret or a raw
//! credential: fields are copied by name, never whole items.
//!
//! | source | detail-type | from |
//! |---|---|---|
//! | `switchyard.webhooks` | `Webhook Received` | a stored webhook delivery |
//! | `switchyard.smartme` | `Meter Readings Stored` | a meter's batch of newly stored readings |
//! | `switchyard.retailcrm` | `Installation Registered`, `Installation Activity Changed` | an installation saved, or its active or freeze flag changed |
//! | `switchyard.smallcase` | `Connection Changed` | a user connected to (or disconnected from) their broker account |

use crate::partners::retailcrm::account::Account;
use crate::partners::smallcase::connection::{connected_at, connection_auth_id};
use crate::partners::smartme::batch::ReadingsBatch;
use crate::partners::webhooks::stored::StoredEvent;
use crate::ports::event_bus::OutboundEvent;
use crate::ports::store::changes::{Change, ChangeKind};
use crate::ports::store::{Item, keys};
use crate::time_text::rfc3339;
use serde_json::json;

/// Every source and detail-type, for the schemas and the template's documentation.
pub const KINDS: [(&str, &str); 5] = [
    ("switchyard.webhooks", "Webhook Received"),
    ("switchyard.smartme", "Meter Readings Stored"),
    ("switchyard.retailcrm", "Installation Registered"),
    ("switchyard.retailcrm", "Installation Activity Changed"),
    ("switchyard.smallcase", "Connection Changed"),
];

enum Kind {
    Webhook,
    ReadingsBatch,
    Installation,
    SmallcaseConnection,
}

fn kind_of(change: &Change) -> Option<Kind> {
    let key = &change.key;
    if keys::is_webhook_event(key) {
        Some(Kind::Webhook)
    } else if ReadingsBatch::is_batch(key) {
        Some(Kind::ReadingsBatch)
    } else if keys::retailcrm_client_of(key).is_some() {
        Some(Kind::Installation)
    } else if keys::smallcase_user_of(key).is_some() {
        Some(Kind::SmallcaseConnection)
    } else {
        None
    }
}

/// Whether `change` may make an event: deliveries and batches as inserted, installations and connections as they
/// change (the stream filter the template gives the `events` function; a test holds the two equal).
pub fn is_relevant(change: &Change) -> bool {
    match kind_of(change) {
        Some(Kind::Webhook | Kind::ReadingsBatch) => change.kind == ChangeKind::Insert,
        Some(Kind::Installation | Kind::SmallcaseConnection) => true,
        None => false,
    }
}

/// The id of the event `change` makes: its key and stream position, hashed (the same change, the same id).
fn event_id(change: &Change) -> String {
    let digest = crate::crypto::sha256(format!("{}\n{}\n{}", change.key.pk, change.key.sk, change.sequence).as_bytes());
    crate::crypto::to_hex(&digest[..16])
}

/// The event `change` makes, if any. Its time is the change's own (the stream record's), so a redelivered change
/// makes a byte-identical event; `now` (epoch seconds) stands in only for a record that carries no time.
pub fn event_of(change: &Change, now: i64) -> Option<OutboundEvent> {
    let new = change.new.as_ref();
    let time = change.time.unwrap_or(now);
    let event = |source: &str, detail_type: &str, mut detail: serde_json::Value| {
        detail["eventId"] = json!(event_id(change));
        Some(OutboundEvent { source: source.into(), detail_type: detail_type.into(), detail, time })
    };
    match (kind_of(change)?, change.kind) {
        (Kind::Webhook, ChangeKind::Insert) => {
            let stored = StoredEvent::from_item(new?)?;
            let detail = json!({
                "source": stored.source,
                "scheme": stored.scheme,
                "deliveryId": stored.delivery_id,
                "receivedAt": rfc3339(stored.received_at),
                "bytes": stored.body.len(),
                // The body stays in the table (it may be larger than an event can be): where to read it.
                "item": {"pk": change.key.pk, "sk": change.key.sk},
            });
            event("switchyard.webhooks", "Webhook Received", detail)
        }
        (Kind::ReadingsBatch, ChangeKind::Insert) => {
            let batch = ReadingsBatch::from_item(new?)?;
            let detail = json!({
                "deviceId": batch.device_id,
                "count": batch.count,
                "oldestReadingAt": rfc3339(batch.oldest_ms.div_euclid(1000)),
                "newestReadingAt": rfc3339(batch.newest_ms.div_euclid(1000)),
                "storedAt": rfc3339(batch.stored_at),
            });
            event("switchyard.smartme", "Meter Readings Stored", detail)
        }
        (Kind::Installation, ChangeKind::Insert | ChangeKind::Modify) => {
            let account = Account::from_item(new?)?;
            let old = change.old.as_ref().and_then(Account::from_item);
            let detail_type = match &old {
                None => "Installation Registered",
                Some(old) if old.system_url != account.system_url || old.api_key != account.api_key => {
                    "Installation Registered"
                }
                Some(old) if old.active != account.active || old.freeze != account.freeze => {
                    "Installation Activity Changed"
                }
                // Settings and timestamps only: nothing a consumer was promised.
                Some(_) => return None,
            };
            // The clientId is the credential of the CRM's callbacks: the installation is named by its module code
            // (derived from the clientId by SHA-256, which cannot be undone: the clientId holds 192 random bits).
            let detail = json!({
                "systemUrl": account.system_url,
                "code": account.code,
                "active": account.active,
                "freeze": account.freeze,
                "updatedAt": rfc3339(account.updated_at),
            });
            event("switchyard.retailcrm", detail_type, detail)
        }
        (Kind::SmallcaseConnection, kind) => {
            let user_id = keys::smallcase_user_of(&change.key)?;
            let connected = kind != ChangeKind::Remove;
            let connected_at = new.and_then(connected_at);
            // A modification that keeps the same account is no change of connection.
            if kind == ChangeKind::Modify && same_account(change) {
                return None;
            }
            let detail = json!({
                "userId": user_id,
                "connected": connected,
                "connectedAt": connected_at.map(rfc3339),
            });
            event("switchyard.smallcase", "Connection Changed", detail)
        }
        _ => None,
    }
}

fn same_account(change: &Change) -> bool {
    let account = |item: Option<&Item>| item.and_then(connection_auth_id);
    account(change.old.as_ref()) == account(change.new.as_ref())
}
