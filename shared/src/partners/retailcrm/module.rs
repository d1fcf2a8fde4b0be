//! The module's side of the simple connection: registration, and the activity and settings callbacks.
//!
//! Knows nothing of Lambda: it takes form bodies and answers with JSON or a [`Failure`] the function renders in the
//! CRM's envelope.

use super::account::{Account, Accounts};
use super::crm_api::{CrmApi, CrmError};
use super::registration::RegisterRequest;
use super::system_url::AllowedHosts;
use crate::Deps;
use crate::codec::Form;
use crate::crypto;
use crate::env::{ConfigError, Vars};
use crate::ports::secrets::SecretError;
use crate::ports::store::StoreError;
use serde_json::{Value, json};
use std::time::Duration;

/// Our own account page (`GET`/`POST /retailcrm/account`).
pub const DEFAULT_ACCOUNT_URL: &str = "{base}/retailcrm/account";

/// Module settings from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSettings {
    pub integration_code: String,
    pub name: String,
    pub logo: String,
    /// The account page the CRM sends its user to: `{base}` is the public base URL, `{clientId}` (optional: the
    /// CRM posts `clientId` to the page anyway) the installation.
    pub account_url: String,
    pub public_url: Option<String>,
    pub timeout: Duration,
}

impl ModuleSettings {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let integration_code = vars.get_or("RETAILCRM_INTEGRATION_CODE", "switchyard").to_owned();
        if integration_code.is_empty()
            || !integration_code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ConfigError {
                name: "RETAILCRM_INTEGRATION_CODE".into(),
                reason: "use letters, digits, `-` and `_`".into(),
            });
        }
        let account_url = vars.get_or("RETAILCRM_ACCOUNT_URL", DEFAULT_ACCOUNT_URL).to_owned();
        let example = account_url.replace("{base}", "https://api.example.com").replace("{clientId}", "id");
        if url::Url::parse(&example).is_err() {
            return Err(ConfigError {
                name: "RETAILCRM_ACCOUNT_URL".into(),
                reason: "it must be an absolute URL (with {base} and {clientId} as placeholders)".into(),
            });
        }
        Ok(Self {
            integration_code,
            name: vars.get_or("RETAILCRM_MODULE_NAME", "Switchyard").to_owned(),
            logo: vars.get_or("RETAILCRM_LOGO_URL", "").to_owned(),
            account_url,
            public_url: vars.public_url()?,
            timeout: Duration::from_millis(vars.parse_or("RETAILCRM_TIMEOUT_MS", 5_000u64)?),
        })
    }
}

/// A request the module refuses: the message is shown to the CRM user, `retryable` says it is our side's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub retryable: bool,
}

impl Failure {
    fn user(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: false }
    }

    fn ours(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: true }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "store failed");
        Self::ours("the module could not save the connection; try again")
    }
}

#[derive(serde::Deserialize)]
struct ModuleSecret {
    secret: String,
}

/// The module.
pub struct Module {
    deps: Deps,
    settings: ModuleSettings,
    hosts: AllowedHosts,
    crm: CrmApi,
}

impl Module {
    pub fn new(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        let settings = ModuleSettings::from_vars(vars)?;
        let crm = CrmApi::new(settings.timeout);
        Ok(Self { deps, hosts: AllowedHosts::from_vars(vars)?, settings, crm })
    }

    pub fn settings(&self) -> &ModuleSettings {
        &self.settings
    }

    async fn module_secret(&self) -> Result<Vec<u8>, Failure> {
        let value = self.deps.secrets.get("retailcrm").await.map_err(|error| {
            tracing::error!(%error, "retailcrm secret unavailable");
            match error {
                SecretError::Unavailable { .. } => Failure::ours("the module is temporarily unavailable; try again"),
                _ => Failure::ours("the module is not configured; contact its developer"),
            }
        })?;
        let parsed: ModuleSecret = value.json("retailcrm").map_err(|error| {
            tracing::error!(%error, "retailcrm secret malformed");
            Failure::ours("the module is not configured; contact its developer")
        })?;
        if parsed.secret.is_empty() {
            return Err(Failure::ours("the module is not configured; contact its developer"));
        }
        Ok(parsed.secret.into_bytes())
    }

    /// Handles a registration: verify, call the CRM, store; answers the CRM's success body with `accountUrl`.
    pub async fn register(&self, body: &[u8], base_url: &str) -> Result<Value, Failure> {
        let form = Form::parse(body).map_err(|e| Failure::user(e.to_string()))?;
        let request = RegisterRequest::from_form(&form).map_err(|e| Failure::user(e.to_string()))?;
        // The token is checked before anything else happens (no lookup, no call).
        let module_secret = self.module_secret().await?;
        if !request.token_is_valid(&module_secret) {
            tracing::warn!(system_url = %request.system_url, "registration with an invalid token");
            return Err(Failure::user(
                "invalid token: the request does not come from the CRM this module is published in",
            ));
        }
        let system_url = self.hosts.check(&request.system_url).map_err(|e| Failure::user(e.to_string()))?;
        let accounts = Accounts::new(self.deps.store.as_ref());
        // An installation is reused only when it is this CRM's: its stored systemUrl, which only a signed
        // registration sets, is the registering one (the index alone is not trusted).
        let existing = match accounts.client_id_for(&system_url).await? {
            Some(client_id) => accounts.by_client_id(&client_id).await?.filter(|a| a.system_url == system_url),
            None => None,
        };
        let client_id =
            existing.as_ref().map_or_else(|| first_client_id(&module_secret, &system_url), |a| a.client_id.clone());
        let code = existing.as_ref().map_or_else(|| self.module_code(&client_id), |a| a.code.clone());
        let account_url = self.settings.account_url.replace("{base}", base_url).replace("{clientId}", &client_id);
        let module = json!({
            "code": code,
            "integrationCode": self.settings.integration_code,
            "active": true,
            "name": self.settings.name,
            "logo": self.settings.logo,
            "clientId": client_id,
            "baseUrl": base_url,
            "accountUrl": account_url,
            "actions": {"activity": "/retailcrm/activity", "settings": "/retailcrm/settings"},
        });
        if let Err(error) = self.crm.edit_module(&system_url, &request.api_key, &code, &module).await {
            tracing::warn!(%system_url, %error, "the CRM did not accept the module");
            return Err(match error {
                CrmError::Refused(_) => Failure::user(error.to_string()),
                _ => Failure::ours(error.to_string()),
            });
        }
        let now = self.deps.clock.now();
        let account = Account {
            client_id,
            code,
            system_url,
            api_key: request.api_key,
            active: true,
            freeze: false,
            settings: existing.as_ref().and_then(|a| a.settings.clone()),
            created_at: existing.as_ref().map_or(now, |a| a.created_at),
            updated_at: now,
        };
        accounts.save(&account).await?;
        tracing::info!(client_id = %account.client_id, system_url = %account.system_url, renewed = existing.is_some(), "module registered");
        Ok(json!({"success": true, "accountUrl": account_url}))
    }

    /// A unique module code per installation, derived from the clientId (which stays secret-ish: only a hash).
    fn module_code(&self, client_id: &str) -> String {
        let digest = crypto::sha256(client_id.as_bytes());
        format!("{}-{}", self.settings.integration_code, &crypto::to_hex(&digest)[..12])
    }

    async fn known_account(&self, form: &Form) -> Result<Account, Failure> {
        let client_id = form.require("clientId").map_err(|e| Failure::user(e.to_string()))?;
        Accounts::new(self.deps.store.as_ref())
            .by_client_id(client_id)
            .await?
            .ok_or_else(|| Failure::user("unknown clientId"))
    }

    /// The activity callback: `clientId`, `systemUrl`, `activity={"active": bool, "freeze": bool}` (each flag
    /// optional, as RetailCRM's own client sends them). The callback is not signed: it may switch the flags of the
    /// installation whose clientId it names, never its systemUrl. A CRM that moved registers again from its new
    /// address (a signed registration), which installs the module there; the old installation is kept as it was.
    pub async fn activity(&self, body: &[u8]) -> Result<Value, Failure> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Activity {
            active: Option<bool>,
            freeze: Option<bool>,
        }
        let form = Form::parse(body).map_err(|e| Failure::user(e.to_string()))?;
        let raw = form.require("activity").map_err(|e| Failure::user(e.to_string()))?;
        let activity: Activity = crate::codec::json::parse_strict(raw.as_bytes())
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| Failure::user("field `activity` must be JSON {\"active\": bool, \"freeze\": bool}"))?;
        let account = self.known_account(&form).await?;
        if let Some(url) = form.get("systemUrl").map_err(|e| Failure::user(e.to_string()))?.filter(|u| !u.is_empty())
            && url.trim_end_matches('/') != account.system_url.trim_end_matches('/')
        {
            tracing::warn!(client_id = %account.client_id, claimed = url, "activity names another systemUrl; ignored (only a registration sets it)");
        }
        Accounts::new(self.deps.store.as_ref())
            .record_activity(&account.client_id, activity.active, activity.freeze, self.deps.clock.now())
            .await?;
        tracing::info!(client_id = %account.client_id, active = ?activity.active, freeze = ?activity.freeze, "activity");
        Ok(json!({"success": true}))
    }

    /// The installation `client_id` names, for its account page; `None` when there is none.
    pub async fn installation(&self, client_id: &str) -> Result<Option<Account>, Failure> {
        if client_id.is_empty() || client_id.len() > 64 {
            return Ok(None);
        }
        Ok(Accounts::new(self.deps.store.as_ref()).by_client_id(client_id).await?)
    }

    /// The settings callback: `clientId`, `settings=<JSON>`.
    pub async fn settings_callback(&self, body: &[u8]) -> Result<Value, Failure> {
        let form = Form::parse(body).map_err(|e| Failure::user(e.to_string()))?;
        let raw = form.require("settings").map_err(|e| Failure::user(e.to_string()))?;
        let settings = crate::codec::json::parse_strict(raw.as_bytes())
            .map_err(|_| Failure::user("field `settings` must be a JSON object with unique keys"))?;
        if !settings.is_object() {
            return Err(Failure::user("field `settings` must be a JSON object"));
        }
        let account = self.known_account(&form).await?;
        Accounts::new(self.deps.store.as_ref())
            .record_settings(&account.client_id, &settings.to_string(), self.deps.clock.now())
            .await?;
        tracing::info!(client_id = %account.client_id, "settings stored");
        Ok(json!({"success": true}))
    }
}

/// The clientId of a CRM's first installation: 192 bits derived from the module secret and the CRM's systemUrl.
/// A registration the CRM retries after a failure (the CRM already holds the module, our store does not) gets the
/// same clientId and module code, so the CRM never keeps an orphaned module; only a holder of the module secret
/// can compute it.
fn first_client_id(module_secret: &[u8], system_url: &str) -> String {
    let digest = crypto::hmac_sha256(module_secret, &[b"retailcrm clientId\0", system_url.as_bytes()]);
    crypto::to_base64url(&digest[..24])
}
