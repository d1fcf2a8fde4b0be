//! What a signed-in user asks of smallcase through us: their smallcaseAuthToken (guest or connected), a transaction
//! created through the Gateway, and a transaction's status re-read from the Gateway (connecting its creator once it
//! completed). The edge authenticates the user with [`ForUser::verifier`] and renders [`UserCallError`].

use super::transaction::{self, TransactionRequest};
use super::{RecordedTransaction, SmallcaseSecret, TransactionView, auth_token, client::SmallcaseClient};
use crate::env::{ConfigError, Vars};
use crate::identity::oauth::AccessVerifier;
use crate::ports::Deps;

/// A smallcaseAuthToken for the client SDK.
pub struct IssuedToken {
    pub token: String,
    pub expires_at: i64,
    /// The smallcaseAuthId it carries (a connected user's), if any.
    pub auth_id: Option<String>,
}

/// A transaction the Gateway created for the user, with the token the SDK opens it with.
pub struct CreatedTransaction {
    pub transaction_id: String,
    pub token: IssuedToken,
}

/// Why a user's call was not answered.
#[derive(Debug, thiserror::Error)]
pub enum UserCallError {
    /// One of our parts (the store, the secret, a transient Gateway failure): worth trying again.
    #[error("{0} is unavailable; try again")]
    Unavailable(&'static str),
    #[error("{0}")]
    Malformed(String),
    /// Not the user's transaction, or not one we created.
    #[error("no such transaction")]
    NotFound,
    /// The Gateway answered, but not as asked.
    #[error("{0}")]
    Gateway(String),
}

/// The use case, built once per sandbox.
pub struct ForUser {
    pub deps: Deps,
    pub gateway: SmallcaseClient,
    /// How long an issued smallcaseAuthToken lives.
    pub token_ttl_s: i64,
    /// The access tokens these calls are made for: audience `SMALLCASE_AUDIENCES` (`smallcase`), scope
    /// `SMALLCASE_REQUIRED_SCOPE` (`smallcase`).
    pub verifier: AccessVerifier,
}

impl ForUser {
    /// From `SMALLCASE_TOKEN_TTL_S` (a day unless set; a minute to 30 days), the tokens' audiences and scope, and
    /// the Gateway's variables.
    pub fn from_vars(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        let token_ttl_s = vars.parse_or("SMALLCASE_TOKEN_TTL_S", 86_400)?;
        if !(60..=30 * 86_400).contains(&token_ttl_s) {
            return Err(ConfigError::new("SMALLCASE_TOKEN_TTL_S", "must be 60 seconds to 30 days"));
        }
        let verifier =
            AccessVerifier::for_audiences(vars.public_url()?, vars.list_or("SMALLCASE_AUDIENCES", "smallcase"))
                .requiring_scope(vars.get_or("SMALLCASE_REQUIRED_SCOPE", "smallcase"));
        Ok(Self { deps, gateway: SmallcaseClient::from_vars(vars)?, token_ttl_s, verifier })
    }

    async fn secret(&self) -> Result<SmallcaseSecret, UserCallError> {
        SmallcaseSecret::load(self.deps.secrets.as_ref()).await.map_err(|error| {
            tracing::error!(%error, "smallcase secret unavailable");
            UserCallError::Unavailable("the smallcase configuration")
        })
    }

    async fn token_with(&self, secret: &SmallcaseSecret, user_id: &str) -> Result<IssuedToken, UserCallError> {
        let auth_id = super::connected_auth_id(self.deps.store.as_ref(), user_id).await.map_err(|error| {
            tracing::error!(%error, "smallcase connection not readable");
            UserCallError::Unavailable("the user store")
        })?;
        let now = self.deps.clock.now();
        let token = auth_token::sign(&secret.secret, auth_id.as_deref(), now, self.token_ttl_s);
        Ok(IssuedToken { token, expires_at: now + self.token_ttl_s, auth_id })
    }

    /// The user's smallcaseAuthToken.
    pub async fn auth_token(&self, user_id: &str) -> Result<IssuedToken, UserCallError> {
        self.token_with(&self.secret().await?, user_id).await
    }

    /// Creates the transaction `body` describes, as the user, and records it as theirs.
    pub async fn create_transaction(&self, user_id: &str, body: &[u8]) -> Result<CreatedTransaction, UserCallError> {
        let parsed: TransactionRequest = transaction::parse(body).map_err(UserCallError::Malformed)?;
        let secret = self.secret().await?;
        let token = self.token_with(&secret, user_id).await?;
        let created = self.gateway.create_transaction(&secret, &token.token, &parsed).await.map_err(|error| {
            tracing::warn!(%error, intent = parsed.intent, "smallcase transaction not created");
            UserCallError::Gateway(error.to_string())
        })?;
        let record = RecordedTransaction {
            transaction_id: created.transaction_id.clone(),
            user_id: user_id.to_owned(),
            intent: parsed.intent.clone(),
            created_as: token.auth_id.clone(),
            status: None,
            connected: false,
        };
        let now = self.deps.clock.now();
        super::record_transaction(self.deps.store.as_ref(), &record, now).await.map_err(|error| {
            tracing::error!(%error, "smallcase transaction not recorded");
            UserCallError::Unavailable("the transaction store")
        })?;
        tracing::info!(intent = parsed.intent, user_id, "smallcase transaction created");
        Ok(CreatedTransaction { transaction_id: created.transaction_id, token })
    }

    /// The user's transaction as the Gateway now sees it (CONNECT sends no postback: the app asks once the Gateway
    /// SDK is done, and a completed connection is recorded here).
    pub async fn transaction_status(
        &self,
        user_id: &str,
        transaction_id: &str,
    ) -> Result<TransactionView, UserCallError> {
        if !super::postback::valid_transaction_id(transaction_id) {
            return Err(UserCallError::NotFound);
        }
        let store = self.deps.store.as_ref();
        let record = match super::recorded(store, transaction_id).await {
            Ok(Some(record)) if record.user_id == user_id => record,
            Ok(_) => return Err(UserCallError::NotFound),
            Err(error) => {
                tracing::error!(%error, "smallcase transaction not readable");
                return Err(UserCallError::Unavailable("the transaction store"));
            }
        };
        let secret = self.secret().await?;
        let now = self.deps.clock.now();
        super::reconcile(store, &self.gateway, &secret, &record, now).await.map_err(|error| {
            tracing::warn!(%error, transaction_id, "smallcase transaction not re-read");
            match error {
                super::ReconcileError::Gateway(e) if e.is_transient() => {
                    UserCallError::Unavailable("the smallcase Gateway")
                }
                super::ReconcileError::Store(_) => UserCallError::Unavailable("the transaction store"),
                other => UserCallError::Gateway(other.to_string()),
            }
        })
    }
}
