//! The single-table key design: every entity's key, in one place (the README's table documents the same).
//!
//! Partition keys start with an entity prefix and `#`; user-supplied parts are placed after it verbatim, which is
//! safe because every part is validated (GUIDs, our own random ids, source names `[a-z0-9-]`) or hashed before use.

use super::Key;

/// RetailCRM installation, by our clientId: the account (systemUrl, apiKey, code, active, freeze, settings).
pub fn retailcrm_account(client_id: &str) -> Key {
    Key::new(format!("RCRM#{client_id}"), "ACCOUNT")
}

/// The clientId whose account `key` is, if it is one.
pub fn retailcrm_client_of(key: &Key) -> Option<&str> {
    (key.sk == "ACCOUNT").then(|| key.pk.strip_prefix("RCRM#")).flatten()
}

/// RetailCRM installation, by its CRM's systemUrl: points at the clientId, so re-registration finds the account.
pub fn retailcrm_system(system_url: &str) -> Key {
    Key::new(format!("RCRMURL#{system_url}"), "ACCOUNT")
}

/// The partition listing every RetailCRM installation (one item per clientId), for operators.
pub const RETAILCRM_INSTALLATIONS: &str = "RCRMINSTALLS";

/// An installation's entry in [`RETAILCRM_INSTALLATIONS`].
pub fn retailcrm_installation(client_id: &str) -> Key {
    Key::new(RETAILCRM_INSTALLATIONS, client_id.to_owned())
}

/// One smart-me reading: partition per meter, sort by reading time (fixed-width, so text order is time order).
pub fn meter_reading(device_id: &str, time_key: &str) -> Key {
    Key::new(meter_partition(device_id), format!("R#{time_key}"))
}

/// The partition holding a meter's readings and latest state.
pub fn meter_partition(device_id: &str) -> String {
    format!("METER#{device_id}")
}

/// The meter whose partition `pk` is.
pub fn meter_of(pk: &str) -> Option<&str> {
    pk.strip_prefix("METER#")
}

/// Sort-key prefix of readings in a meter partition.
pub const READING_PREFIX: &str = "R#";

/// A meter's latest state (the newest reading's values), read by the Sber `user` function.
pub fn meter_latest(device_id: &str) -> Key {
    Key::new(meter_partition(device_id), "LATEST")
}

/// A user's link to a meter, in the meter's partition: who to tell when its state changes, and the Sber model
/// (`features`) the device declares. Written with the user's device item.
pub fn meter_owner(device_id: &str, user_id: &str) -> Key {
    Key::new(meter_partition(device_id), format!("{OWNER_PREFIX}{user_id}"))
}

/// Sort-key prefix of owner items in a meter partition.
pub const OWNER_PREFIX: &str = "OWNER#";

/// That Sber linked the user (written when Sber first asks who the user is, deleted at unlink): whom state
/// changes are pushed to, readable without access to the user's partition.
pub fn sber_link(user_id: &str) -> Key {
    Key::new(format!("SBERLINK#{user_id}"), "LINK")
}

/// The user whose Sber link `key` is, if it is one.
pub fn sber_link_user(key: &Key) -> Option<&str> {
    (key.sk == "LINK").then(|| key.pk.strip_prefix("SBERLINK#")).flatten()
}

/// A meter Sber sees that goes offline in check `bucket` unless it reports again: the scheduled silence check reads
/// bucket after bucket, each spread over [`SILENCE_SHARDS`] partitions (`shard`) so that no partition takes every
/// meter's writes.
pub fn silence_watch(bucket: i64, shard: u8, device_id: &str) -> Key {
    Key::new(silence_partition(bucket, shard), device_id.to_owned())
}

/// The partition of one shard of a silence-check bucket.
pub fn silence_partition(bucket: i64, shard: u8) -> String {
    format!("SILENT#{bucket}#{shard}")
}

/// How many partitions one silence-check bucket is spread over.
pub const SILENCE_SHARDS: u8 = 16;

/// Where the scheduled silence check got to: the first bucket not yet checked.
pub fn silence_cursor() -> Key {
    Key::new("SILENT#CURSOR", "CHECK")
}

/// A signed-webhook delivery id seen from a source (replay guard, with TTL).
pub fn webhook_delivery(source: &str, delivery_id: &str) -> Key {
    Key::new(format!("WHID#{source}#{delivery_id}"), "DELIVERY")
}

/// How many partitions a source's stored webhook events are spread over. A partition takes at most 1,000 write
/// units a second, and a partition whose sort key only grows (receipt time) cannot be split by DynamoDB: one
/// partition per source held a busy source to a few hundred deliveries a second. Spread by the delivery id, 10,000
/// deliveries a second of 2 KB from one source put about 250 write units a second on each (`scale` model).
pub const WEBHOOK_EVENT_SHARDS: usize = 256;

/// A stored webhook event: in one of its source's [`WEBHOOK_EVENT_SHARDS`] partitions, chosen by the delivery id
/// (a redelivery lands on the same item), sorted by receipt time then delivery id (`received_key`).
pub fn webhook_event(source: &str, delivery_id: &str, received_key: &str) -> Key {
    let shard = crate::crypto::sha256(delivery_id.as_bytes())[0];
    Key::new(format!("{}#{shard:02x}", webhook_events(source)), received_key.to_owned())
}

/// Every partition a source's stored webhook events may be in: its shards, and the one partition events were
/// stored in before sharding (still read, so nothing stored earlier is lost from view).
pub fn webhook_event_partitions(source: &str) -> Vec<String> {
    let mut partitions: Vec<String> =
        (0..WEBHOOK_EVENT_SHARDS).map(|shard| format!("{}#{shard:02x}", webhook_events(source))).collect();
    partitions.push(webhook_events(source));
    partitions
}

/// The partition a source's stored webhook events were all in before sharding (and the shards' prefix).
fn webhook_events(source: &str) -> String {
    format!("WHEVT#{source}")
}

/// Whether `key` is a stored webhook event's.
pub fn is_webhook_event(key: &Key) -> bool {
    key.pk.starts_with("WHEVT#")
}

/// A user of ours: profile (login, password hash, created).
pub fn user_profile(user_id: &str) -> Key {
    Key::new(user_partition(user_id), "PROFILE")
}

/// The partition holding a user's profile, devices, links and smallcase connection.
pub fn user_partition(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// The user whose partition `pk` is.
pub fn user_of(pk: &str) -> Option<&str> {
    pk.strip_prefix("USER#")
}

/// The partition of login names: one item per login, pointing at its user id (unique by conditional write). One
/// partition so `user list` is a query, not a scan; logins are read only when someone signs in.
pub const LOGIN_PARTITION: &str = "LOGINS";

/// A login name (normalized), pointing at its user id.
pub fn user_login(login: &str) -> Key {
    Key::new(LOGIN_PARTITION, format!("LOGIN#{login}"))
}

/// Sort-key prefix of the devices in a user partition.
pub const DEVICE_PREFIX: &str = "DEVICE#";

/// A device a user owns (smart-me meter GUID), with its display name.
pub fn user_device(user_id: &str, device_id: &str) -> Key {
    Key::new(user_partition(user_id), format!("{DEVICE_PREFIX}{device_id}"))
}

/// A user's link to an OAuth client (Sber): linked or unlinked, and when.
pub fn user_link(user_id: &str, client_id: &str) -> Key {
    Key::new(user_partition(user_id), format!("LINK#{client_id}"))
}

/// A user's smallcase connection (smallcaseAuthId), in a partition of its own so the functions that connect
/// users (webhook, token) need no access to the user's partition (password hash, links).
pub fn user_smallcase(user_id: &str) -> Key {
    Key::new(format!("SCUSER#{user_id}"), "CONNECTION")
}

/// The user whose smallcase connection `key` is, if it is one.
pub fn smallcase_user_of(key: &Key) -> Option<&str> {
    (key.sk == "CONNECTION").then(|| key.pk.strip_prefix("SCUSER#")).flatten()
}

/// The owner of a smallcase account: at most one of our users holds a smallcaseAuthId.
pub fn smallcase_account(auth_id: &str) -> Key {
    Key::new(format!("SCAUTH#{auth_id}"), "OWNER")
}

/// A smallcase transaction we created, pointing at its user (the postback carries only the transaction id).
pub fn smallcase_transaction(transaction_id: &str) -> Key {
    Key::new(format!("SCTXN#{transaction_id}"), "TXN")
}

/// A one-time OAuth authorization code, by the SHA-256 of the code (TTL 60 s).
pub fn oauth_code(code_hash: &str) -> Key {
    Key::new(format!("OCODE#{code_hash}"), "CODE")
}

/// A refresh token, by its SHA-256 (TTL its lifetime): names its family.
pub fn refresh_token(token_hash: &str) -> Key {
    Key::new(format!("RTOKEN#{token_hash}"), "TOKEN")
}

/// A refresh-token family (one account linking of a user with a client): the current refresh token's hash and
/// whether the family is revoked. Kept in the user's partition so unlinking finds all of a client's families.
pub fn token_family(user_id: &str, client_id: &str, family_id: &str) -> Key {
    Key::new(user_partition(user_id), format!("{}{family_id}", token_family_prefix(client_id)))
}

/// Sort-key prefix of a client's token families in a user partition.
pub fn token_family_prefix(client_id: &str) -> String {
    format!("FAMILY#{client_id}#")
}

/// An authorization waiting for the person to sign in upstream (smart-me, an OpenID provider), by the SHA-256 of
/// the upstream `state` (TTL a few minutes; taken once).
pub fn upstream_pending(state_hash: &str) -> Key {
    Key::new(format!("UPAUTH#{state_hash}"), "PENDING")
}

/// A user's identity at an upstream (`provider`, the SHA-256 of its subject): points at our user id. Unique by
/// conditional write, so one upstream account is one user of ours.
pub fn upstream_identity(provider: &str, subject_hash: &str) -> Key {
    upstream_identity_in(&format!("IDENT#{provider}#{subject_hash}"))
}

/// The identity index item of partition `pk` (a profile keeps the partition of its user's identity).
pub fn upstream_identity_in(pk: &str) -> Key {
    Key::new(pk, "IDENTITY")
}

/// A user's grant at an upstream partner (the sealed tokens that let us act for them there).
pub fn user_grant(user_id: &str, provider: &str) -> Key {
    Key::new(user_partition(user_id), format!("GRANT#{provider}"))
}

/// The user whose grant `key` is, and its provider, if it is one.
pub fn grant_of(key: &Key) -> Option<(&str, &str)> {
    Some((user_of(&key.pk)?, key.sk.strip_prefix("GRANT#")?))
}

/// Failed-login counter for a login in the current window (TTL the window).
pub fn login_throttle(login: &str, window: i64) -> Key {
    Key::new(format!("THROTTLE#{login}"), format!("W#{window}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_name_their_owner_back() {
        assert_eq!(user_of(&user_partition("u-1")), Some("u-1"));
        assert_eq!(user_of(&user_profile("u-2").pk), Some("u-2"));
        assert_eq!(meter_of(&meter_owner("m-1", "u-1").pk), Some("m-1"));
        assert_eq!(user_of(&meter_owner("m-1", "u-1").pk), None, "a meter's partition is no user's");
        assert_eq!(meter_of(&user_partition("u-1")), None);
        assert_eq!(retailcrm_client_of(&retailcrm_account("c-1")), Some("c-1"));
        assert_eq!(retailcrm_client_of(&retailcrm_system("https://a.retailcrm.ru")), None);
        assert_eq!(smallcase_user_of(&user_smallcase("u-3")), Some("u-3"));
        assert_eq!(smallcase_user_of(&smallcase_account("auth")), None);
        assert!(
            is_webhook_event(&webhook_event("schurter", "1", "t#1")) && !is_webhook_event(&webhook_delivery("s", "1"))
        );
        // A source's shards never hold another source's events: source names have no `#`.
        let partitions = webhook_event_partitions("schurter");
        assert_eq!(partitions.len(), WEBHOOK_EVENT_SHARDS + 1);
        assert!(partitions.contains(&webhook_event("schurter", "any-id", "t#1").pk));
        assert_eq!(webhook_event("s", "same", "t#1").pk, webhook_event("s", "same", "t#2").pk, "by delivery id");
    }
}
