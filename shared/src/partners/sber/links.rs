//! Whether Sber linked a user (`SBERLINK#<u>` / `LINK`): written when Sber first asks who the user is, forgotten
//! when Sber unlinks them, and marked when the vendor unlinks them (their removal, or their smart-me grant gone) so
//! that `notify` tells Sber with its documented `POST /v1/unlink {"user_id"}` and then forgets it.

use super::SberHome;
use crate::ports::store::{Condition, Item, Store, StoreError, Update, Value, keys};

/// The Sber link attribute that asks `notify` for `POST /v1/unlink`.
pub const UNLINK_REQUESTED: &str = "unlinkRequestedAt";

/// How long a link marked for the vendor's unlink is kept at most: past the stream's retention (24 hours) and
/// Lambda's retries, so a call that never got through does not keep it forever.
const UNLINKING_LINK_KEPT_S: i64 = 2 * 86_400;

/// Asks `notify` to tell Sber that the vendor unlinked `user_id` (`POST /v1/unlink`): marks their Sber link, if
/// Sber linked them; `notify` sends the call and then forgets the link.
pub async fn request_unlink(store: &dyn Store, user_id: &str, now: i64) -> Result<(), StoreError> {
    let update =
        Update::default().set(UNLINK_REQUESTED, Value::int(now)).expiring_at(Some(now + UNLINKING_LINK_KEPT_S));
    match store.update(&keys::sber_link(user_id), update, Condition::ItemPresent).await {
        Err(error) if !error.is_condition_failed() => Err(error),
        _ => Ok(()),
    }
}

impl SberHome {
    /// Records that Sber linked `user_id` (once: a later call finds it and writes nothing).
    pub async fn remember_link(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        let key = keys::sber_link(user_id);
        if self.store.get(&key).await?.is_some() {
            return Ok(());
        }
        let item = Item::new(key).with("userId", Value::str(user_id)).with("linkedAt", Value::int(now));
        self.store.put(item, Condition::Always).await
    }

    /// Sber unlinked `user_id`: their changes are no longer pushed.
    pub async fn forget_link(&self, user_id: &str) -> Result<(), StoreError> {
        self.store.delete(&keys::sber_link(user_id), Condition::Always).await
    }

    /// The vendor cuts `user_id` off Sber at `now` (their smart-me grant is gone): our tokens Sber holds for them
    /// stop working at once, and Sber is told to unlink them (`POST /v1/unlink`, sent by `notify`).
    pub async fn cut_off(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        let revoked =
            crate::identity::oauth::grants::unlink(self.store.as_ref(), user_id, &self.client_id, now).await?;
        request_unlink(self.store.as_ref(), user_id, now).await?;
        tracing::warn!(user_id, revoked, "cut off Sber: the user's smart-me grant is gone");
        Ok(())
    }
}
