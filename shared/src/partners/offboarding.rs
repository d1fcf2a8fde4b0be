//! Removing a user: what every partner keeps of them goes too, in an order each partner can still act on.

use crate::identity::users::{User, UserError, Users};
use crate::ports::store::Store;

/// Removes the user with `login`: their smallcase connection (the broker account is free again), Sber told to unlink
/// them (`POST /v1/unlink`, sent by `notify`, which also deletes their devices at Sber as their owner items go),
/// then the user with their devices, links and token families (`Users::remove`).
pub async fn remove_user(store: &dyn Store, login: &str, now: i64) -> Result<User, UserError> {
    let users = Users::new(store);
    let user = users.by_login(login).await?;
    super::smallcase::disconnect(store, &user.id).await?;
    super::sber::request_unlink(store, &user.id, now).await?;
    users.remove_found(&user).await?;
    Ok(user)
}
