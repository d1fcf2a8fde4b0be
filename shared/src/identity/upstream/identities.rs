//! Upstream identities as our users: one upstream account (a provider and its subject) is one user of ours,
//! created at its first sign-in and the same user at every later one (and across every client it links).
//!
//! The index item `IDENT#<provider>#<sha256(subject)>` points at the user id; the subject is hashed, so keys stay
//! short whatever an upstream calls its users. The user gets a login (`<provider>:<label>`) so the operator
//! commands list and remove them like any other user; it has no password.

use crate::crypto::{sha256, to_hex};
use crate::identity::users::{User, UserError, Users, upstream_profile as attr};
use crate::ports::store::{Condition, Item, Store, Value, Write, keys};

/// Who signed in upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity<'a> {
    /// `smartme`, `oidc`.
    pub provider: &'a str,
    /// The upstream's stable id of the person (smart-me's user `Id`; OIDC: issuer and `sub`).
    pub subject: &'a str,
    /// A short label for the login (smart-me's numeric id; OIDC: derived from the subject's hash).
    pub label: &'a str,
    /// A name to show the operator (an e-mail address, a user name), if the upstream gave one.
    pub display: Option<&'a str>,
}

fn subject_hash(provider: &str, subject: &str) -> String {
    to_hex(&sha256(format!("{provider}\n{subject}").as_bytes()))
}

/// The login label for a subject that is no short identifier of its own (OIDC's `sub` under an issuer).
pub fn hashed_label(provider: &str, subject: &str) -> String {
    subject_hash(provider, subject)[..20].to_owned()
}

/// Our user for `identity`, created on its first sign-in at `now`.
pub async fn resolve(store: &dyn Store, identity: &UpstreamIdentity<'_>, now: i64) -> Result<User, UserError> {
    let index = keys::upstream_identity(identity.provider, &subject_hash(identity.provider, identity.subject));
    if let Some(user) = existing(store, &index).await? {
        return Ok(user);
    }
    let login = Users::normalize_login(&format!("{}:{}", identity.provider, identity.label))?;
    let id = format!("u-{}", to_hex(&rand::random::<[u8; 10]>()));
    let mut profile = Item::new(keys::user_profile(&id))
        .with("login", Value::str(&login))
        .with("createdAt", Value::int(now))
        .with(attr::PROVIDER, Value::str(identity.provider))
        .with(attr::IDENTITY, Value::str(&index.pk));
    if let Some(display) = identity.display.filter(|d| !d.is_empty()) {
        profile = profile.with(attr::DISPLAY, Value::str(display.chars().take(128).collect::<String>()));
    }
    let writes = vec![
        Write::Put {
            item: Item::new(index.clone()).with(attr::USER, Value::str(&id)),
            condition: Condition::ItemAbsent,
        },
        Write::Put {
            item: Item::new(keys::user_login(&login)).with(attr::USER, Value::str(&id)),
            condition: Condition::ItemAbsent,
        },
        Write::Put { item: profile, condition: Condition::ItemAbsent },
    ];
    match store.transact(writes).await {
        Ok(()) => Ok(User { id, login, created_at: now }),
        // A concurrent first sign-in of the same account created the user (or our own write was applied by an
        // attempt whose answer was lost): the index names the one user.
        Err(e) if e.is_condition_failed() => match existing(store, &index).await? {
            Some(user) => Ok(user),
            None => Err(UserError::LoginTaken(login)),
        },
        Err(e) => Err(e.into()),
    }
}

async fn existing(store: &dyn Store, index: &crate::ports::store::Key) -> Result<Option<User>, UserError> {
    let Some(pointer) = store.get(index).await? else { return Ok(None) };
    let Some(id) = pointer.str(attr::USER) else { return Ok(None) };
    Users::new(store).get(id).await
}
