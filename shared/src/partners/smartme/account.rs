//! A person's smart-me account as the way in (`SIGN_IN=smartme`) and as the home of their meters: signing in with
//! smart-me makes (or finds) our user for the account, keeps its grant, takes its meters and subscribes them to the
//! Realtime API; later, its meters are read again when a partner asks, and switched under its grant.
//!
//! Upstream calls per sign-in: the code exchange, `GET /api/User`, `GET /api/Devices`, and on the account's first
//! sign-in `POST /api/RegisterForRealtimeApi` (the account's every meter, with our receiver's URL and Basic
//! credentials): four, three after the first.

use super::access::{AccessError, SmartMeAccess};
use super::client::{RestError, SmartMeClient};
use super::control::{ControlError, DeviceControl, SwitchCommand, main_switch};
use super::grant::Mark;
use super::meters::{self, MeterSync};
use super::oauth::{OAuthError, SmartMeOAuthClient};
use super::registration::{self, Scope};
use super::secret::SmartMeSecret;
use crate::env::{ConfigError, Vars};
use crate::identity::oauth::pkce;
use crate::identity::upstream::identities::{self, UpstreamIdentity};
use crate::identity::upstream::pending::Pending;
use crate::identity::upstream::{Callback, Upstream, UpstreamError};
use crate::ports::secrets::Secrets;
use crate::ports::store::Store;
use std::sync::Arc;

/// smart-me as the accounts of one deployment.
pub struct SmartMeAccounts {
    pub rest: SmartMeClient,
    pub access: SmartMeAccess,
    /// How long a meter list read from smart-me is used (`SMARTME_DEVICES_TTL_S`).
    pub meters_max_age_s: i64,
}

/// What reading a user's meters again did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeterRefresh {
    /// The user has no smart-me grant: their meters are the operator's links.
    NotFromSmartMe,
    /// Read less than the maximum age ago.
    Fresh,
    Synced(MeterSync),
}

impl SmartMeAccounts {
    /// From `SMARTME_API_URL`, `SMARTME_OAUTH_URL`, `SMARTME_OAUTH_SCOPES`, `SMARTME_TIMEOUT_MS`,
    /// `SMARTME_DEVICES_TTL_S`.
    pub fn from_vars(vars: &Vars, store: Arc<dyn Store>, secrets: Arc<dyn Secrets>) -> Result<Self, ConfigError> {
        Ok(Self {
            rest: SmartMeClient::from_vars(vars)?,
            access: SmartMeAccess { oauth: SmartMeOAuthClient::from_vars(vars)?, store, secrets },
            meters_max_age_s: vars.parse_or("SMARTME_DEVICES_TTL_S", meters::MAX_AGE_S)?,
        })
    }

    fn store(&self) -> &dyn Store {
        self.access.store.as_ref()
    }

    fn secrets(&self) -> &dyn Secrets {
        self.access.secrets.as_ref()
    }

    /// Reads `user_id`'s meters from their smart-me account again at `now`, unless they were read recently.
    pub async fn refresh_meters(&self, user_id: &str, now: i64) -> Result<MeterRefresh, AccessError> {
        let grants = self.access.grants();
        let state = grants.state(user_id).await.map_err(|e| AccessError::Unavailable(e.to_string()))?;
        let Some(state) = state else { return Ok(MeterRefresh::NotFromSmartMe) };
        if state.revoked {
            return Err(AccessError::Revoked);
        }
        if state.devices_synced_at.is_some_and(|at| now - at < self.meters_max_age_s) {
            return Ok(MeterRefresh::Fresh);
        }
        let auth = self.access.authorization(user_id, now).await?;
        let synced = self.sync_meters(user_id, &auth, now).await?;
        Ok(MeterRefresh::Synced(synced))
    }

    async fn sync_meters(&self, user_id: &str, auth: &str, now: i64) -> Result<MeterSync, AccessError> {
        let devices = self.rest.devices(auth).await.map_err(|e| match e {
            RestError::Unauthorized(_) => AccessError::Revoked,
            other => AccessError::Unavailable(other.to_string()),
        })?;
        let synced = meters::sync(self.store(), user_id, &devices, now)
            .await
            .map_err(|e| AccessError::Unavailable(e.to_string()))?;
        self.access
            .grants()
            .mark(user_id, Mark::DevicesSynced, now)
            .await
            .map_err(|e| AccessError::Unavailable(e.to_string()))?;
        if synced != MeterSync::default() {
            tracing::info!(
                user_id,
                added = synced.added,
                renamed = synced.renamed,
                removed = synced.removed,
                "meters synced from smart-me"
            );
        }
        Ok(synced)
    }

    /// Subscribes the account's meters to the Realtime API (once per account): readings then flow without an
    /// operator running `smartme register`.
    async fn subscribe(&self, user_id: &str, auth: &str, realtime_url: &str, now: i64) -> Result<(), String> {
        let secret = SmartMeSecret::load(self.secrets()).await.map_err(|e| e.to_string())?;
        let (username, password) =
            secret.realtime_credentials().ok_or("the smartme secret has no realtime credentials")?;
        let body = registration::body(realtime_url, username, password, &Scope::User);
        self.rest.register_realtime(auth, &body).await.map_err(|e| e.to_string())?;
        self.access.grants().mark(user_id, Mark::RealtimeRegistered, now).await.map_err(|e| e.to_string())
    }
}

fn upstream_error(error: OAuthError) -> UpstreamError {
    match error {
        OAuthError::GrantGone(_) => UpstreamError::Refused("smart-me refused the sign-in; please start again".into()),
        OAuthError::Refused(_) => {
            UpstreamError::Refused("smart-me refused our application; the operator must check it".into())
        }
        OAuthError::Unavailable(reason) => UpstreamError::Unavailable(format!("smart-me is unavailable: {reason}")),
    }
}

#[async_trait::async_trait]
impl Upstream for SmartMeAccounts {
    fn provider(&self) -> &'static str {
        super::grant::PROVIDER
    }

    async fn authorization_url(
        &self,
        pending: &Pending,
        state: &str,
        redirect_uri: &str,
    ) -> Result<String, UpstreamError> {
        let challenge = pkce::challenge_of(&pending.verifier);
        self.access
            .oauth
            .authorization_url(self.secrets(), state, &challenge, redirect_uri)
            .await
            .map_err(upstream_error)
    }

    async fn complete(
        &self,
        pending: &Pending,
        callback: &Callback,
        redirect_uri: &str,
        now: i64,
    ) -> Result<String, UpstreamError> {
        let oauth = &self.access.oauth;
        let tokens = oauth
            .exchange_code(self.secrets(), &callback.code, &pending.verifier, redirect_uri)
            .await
            .map_err(upstream_error)?;
        let auth = format!("Bearer {}", tokens.access_token);
        let account = self.rest.user(&auth).await.map_err(|error| match error {
            RestError::Failed(reason) => {
                UpstreamError::Unavailable(format!("smart-me did not say who signed in: {reason}"))
            }
            other => UpstreamError::Refused(format!("smart-me did not say who signed in: {other}")),
        })?;
        let identity = UpstreamIdentity {
            provider: self.provider(),
            subject: &account.id,
            label: &account.id,
            display: account.username.as_deref(),
        };
        let unavailable = |error: String| {
            tracing::error!(error, "smart-me sign-in not recorded");
            UpstreamError::Unavailable("sign-in is not available right now".into())
        };
        let user = identities::resolve(self.store(), &identity, now).await.map_err(|e| unavailable(e.to_string()))?;
        let grants = self.access.grants();
        grants.store_new(&user.id, &account.id, &tokens, now).await.map_err(|e| unavailable(e.to_string()))?;
        // The person is signed in from here on; the meters and the subscription follow as well as smart-me lets
        // them (a partner's next device request, or the next sign-in, completes what failed now).
        if let Err(error) = self.sync_meters(&user.id, &auth, now).await {
            tracing::warn!(%error, user_id = user.id, "meters not read at sign-in");
        }
        let registered = grants.state(&user.id).await.ok().flatten().and_then(|s| s.realtime_registered_at);
        if registered.is_none() {
            let base = redirect_uri.trim_end_matches("/oauth/callback");
            if let Err(error) = self.subscribe(&user.id, &auth, &format!("{base}/smartme/realtime"), now).await {
                tracing::warn!(error, user_id = user.id, "meters not subscribed to the Realtime API at sign-in");
            }
        }
        tracing::info!(user_id = user.id, provider = "smartme", "signed in upstream");
        Ok(user.id)
    }
}

impl SmartMeAccounts {
    /// The `Authorization` that acts for `user_id` at `now`, as the control port's errors.
    async fn acting_for(&self, user_id: &str, now: i64) -> Result<String, ControlError> {
        self.access.authorization(user_id, now).await.map_err(|error| match error {
            AccessError::Revoked => ControlError::Revoked,
            AccessError::Unavailable(reason) => ControlError::Failed(reason),
        })
    }
}

fn control_error(error: RestError) -> ControlError {
    match error {
        RestError::NotFound => ControlError::NotSwitchable,
        other => ControlError::Failed(other.to_string()),
    }
}

#[async_trait::async_trait]
impl DeviceControl for SmartMeAccounts {
    async fn switch(&self, command: &SwitchCommand<'_>) -> Result<String, ControlError> {
        let auth = self.acting_for(command.user_id, command.now).await?;
        let obis = match command.action {
            Some(known) => known.to_owned(),
            None => main_switch(&self.rest.actions(&auth, command.device_id).await.map_err(control_error)?)
                .ok_or(ControlError::NotSwitchable)?,
        };
        let value = if command.on { 1.0 } else { 0.0 };
        self.rest.run_action(&auth, command.device_id, &obis, value).await.map_err(control_error)?;
        Ok(obis)
    }

    async fn switch_action(&self, user_id: &str, device_id: &str, now: i64) -> Result<Option<String>, ControlError> {
        let auth = self.acting_for(user_id, now).await?;
        Ok(main_switch(&self.rest.actions(&auth, device_id).await.map_err(control_error)?))
    }

    async fn refresh_meters(&self, user_id: &str, now: i64) -> Result<(), ControlError> {
        match SmartMeAccounts::refresh_meters(self, user_id, now).await {
            Ok(_) => Ok(()),
            Err(AccessError::Revoked) => Err(ControlError::Revoked),
            Err(AccessError::Unavailable(reason)) => Err(ControlError::Failed(reason)),
        }
    }
}
