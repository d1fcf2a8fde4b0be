//! The module's side of the simple connection: registration, and the activity and settings callbacks.
//!
//! Knows nothing of Lambda: it takes form bodies and answers with JSON or a [`Failure`] the function renders in the
//! CRM's envelope.

use super::account::{Account, Accounts};
use super::client::{CrmError, RetailCrmClient};
use super::registration::RegisterRequest;
use super::system_url::AllowedHosts;
use crate::codec::Form;
use crate::crypto;
use crate::env::{ConfigError, Vars};
use crate::ports::Deps;
use crate::ports::secrets::SecretError;
use crate::ports::store::StoreError;
use serde_json::{Value, json};
use std::time::Duration;

/// The longest clientId looked up (ours are 32 characters).
const MAX_CLIENT_ID_LEN: usize = 64;

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
    /// The scopes the module requires (`RETAILCRM_SCOPES`, as the connection config requests them).
    pub scopes: Vec<String>,
    /// Where a CRM that says it moved is followed (`RETAILCRM_FOLLOW_MOVES`).
    pub follow_moves: FollowMoves,
}

/// Where the module follows a CRM that says (in an activity callback) that it moved to another `systemUrl`, once
/// the new address proved to be the same account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowMoves {
    /// Only to RetailCRM's own cloud (an address a `*.` allow-list entry admits): the proof sends the stored API
    /// key there, and RetailCRM's cloud is where the key came from. The default.
    Cloud,
    /// To any allowed address, box CRMs and origins included.
    Listed,
    /// Never: a moved CRM registers again from its new address.
    Never,
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
        let follow_moves = match vars.get_or("RETAILCRM_FOLLOW_MOVES", "cloud") {
            "cloud" => FollowMoves::Cloud,
            "listed" => FollowMoves::Listed,
            "never" => FollowMoves::Never,
            _ => {
                return Err(ConfigError {
                    name: "RETAILCRM_FOLLOW_MOVES".into(),
                    reason: "use cloud, listed or never".into(),
                });
            }
        };
        Ok(Self {
            scopes: super::connection::ConnectionConfig::from_vars(vars)?.scopes,
            follow_moves,
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
    crm: RetailCrmClient,
}

impl Module {
    pub fn new(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        let settings = ModuleSettings::from_vars(vars)?;
        let crm = RetailCrmClient::new(settings.timeout);
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
            let system_url = crate::telemetry::excerpt::excerpt(request.system_url.as_bytes());
            tracing::warn!(system_url, "registration with an invalid token");
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
            scopes: Some(self.settings.scopes.clone()),
            created_at: existing.as_ref().map_or(now, |a| a.created_at),
            updated_at: now,
        };
        accounts.save(&account).await?;
        // The module code names the installation in logs: the clientId is a credential of the CRM's callbacks.
        tracing::info!(code = %account.code, system_url = %account.system_url, renewed = existing.is_some(), "module registered");
        Ok(json!({"success": true, "accountUrl": account_url}))
    }

    /// A unique module code per installation, derived from the clientId (which stays secret-ish: only a hash).
    fn module_code(&self, client_id: &str) -> String {
        let digest = crypto::sha256(client_id.as_bytes());
        format!("{}-{}", self.settings.integration_code, &crypto::to_hex(&digest)[..12])
    }

    async fn known_account(&self, form: &Form) -> Result<Account, Failure> {
        let client_id = form.require("clientId").map_err(|e| Failure::user(e.to_string()))?;
        // Ours are 32 characters: anything longer is no clientId, and never becomes a store key.
        if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_LEN {
            return Err(Failure::user("unknown clientId"));
        }
        Accounts::new(self.deps.store.as_ref())
            .by_client_id(client_id)
            .await?
            .ok_or_else(|| Failure::user("unknown clientId"))
    }

    /// The activity callback: `clientId`, `systemUrl`, `activity={"active": bool, "freeze": bool}` (each flag
    /// optional, as RetailCRM's own client sends them; fields the CRM adds are ignored). The callback is not signed:
    /// it switches the flags of the installation whose clientId it names. A `systemUrl` other than the stored one
    /// (the CRM moved) is followed only once the new address proves to hold the same installation (see
    /// [`Module::follow_move`]); the scopes are brought up to what the module requires ([`Module::update_scopes`]).
    pub async fn activity(&self, body: &[u8]) -> Result<Value, Failure> {
        #[derive(serde::Deserialize)]
        struct Activity {
            active: Option<bool>,
            freeze: Option<bool>,
        }
        let form = Form::parse(body).map_err(|e| Failure::user(e.to_string()))?;
        let raw = form.require("activity").map_err(|e| Failure::user(e.to_string()))?;
        let activity: Activity = crate::codec::json::parse_strict(raw.as_bytes())
            .ok()
            .filter(Value::is_object)
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| Failure::user("field `activity` must be JSON {\"active\": bool, \"freeze\": bool}"))?;
        let account = self.known_account(&form).await?;
        let now = self.deps.clock.now();
        Accounts::new(self.deps.store.as_ref())
            .record_activity(&account.client_id, activity.active, activity.freeze, now)
            .await?;
        tracing::info!(code = %account.code, active = ?activity.active, freeze = ?activity.freeze, "activity");
        let claimed = form.get("systemUrl").map_err(|e| Failure::user(e.to_string()))?.filter(|u| !u.is_empty());
        let account = match claimed {
            Some(url) if url.trim_end_matches('/') != account.system_url.trim_end_matches('/') => {
                self.follow_move(account, url).await?
            }
            _ => account,
        };
        if activity.active != Some(false)
            && let Err(failure) = self.update_scopes(&account).await
        {
            // The callback is answered all the same: the next one tries again.
            tracing::warn!(reason = failure.message, "scopes not brought up to date");
        }
        Ok(json!({"success": true}))
    }

    /// Follows the installation `account` to `claimed` (the CRM says it moved) if the new address is allowed, the
    /// setting lets it, and the CRM there knows this installation: `GET .../integration-modules/{code}` with the
    /// stored API key answers our clientId. Otherwise nothing moves (logged). Answers the account as it is now.
    async fn follow_move(&self, account: Account, claimed: &str) -> Result<Account, Failure> {
        let refuse = |reason: &str| {
            tracing::warn!(reason, "the CRM says it moved; not followed (a registration from the new address is)");
        };
        let Ok(system_url) = self.hosts.check(claimed) else {
            refuse("the new address is not one this module calls");
            return Ok(account);
        };
        let allowed = match self.settings.follow_moves {
            FollowMoves::Never => false,
            FollowMoves::Cloud => self.hosts.is_cloud(&system_url),
            FollowMoves::Listed => true,
        };
        if !allowed {
            refuse("moves are followed only within RetailCRM's cloud (RETAILCRM_FOLLOW_MOVES)");
            return Ok(account);
        }
        let there = match self.crm.integration_module(&system_url, &account.api_key, &account.code).await {
            Ok(module) => module,
            Err(error) => {
                refuse(&error.to_string());
                return Ok(account);
            }
        };
        if there.get("clientId").and_then(Value::as_str) != Some(account.client_id.as_str()) {
            refuse("the CRM at the new address does not hold this installation");
            return Ok(account);
        }
        let now = self.deps.clock.now();
        match Accounts::new(self.deps.store.as_ref()).move_to(&account, &system_url, now).await {
            Ok(()) => {
                tracing::info!(from = %account.system_url, to = %system_url, "installation followed its CRM to a new address");
                Ok(Account { system_url, updated_at: now, ..account })
            }
            Err(error) if error.is_condition_failed() => {
                refuse("the installation changed meanwhile, or the new address belongs to another");
                Ok(account)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Brings the installation's scopes up to what the module requires (`RETAILCRM_SCOPES`): `POST
    /// .../integration-modules/{code}/update-scopes`, whose answer is the API key for them, stored. Nothing when
    /// they are already granted (an installation without a record holds the default scopes). Answers whether the
    /// CRM was asked.
    pub async fn update_scopes(&self, account: &Account) -> Result<bool, Failure> {
        let default_scopes = || super::connection::DEFAULT_SCOPES.split(',').map(str::to_owned).collect::<Vec<_>>();
        let mut held = account.scopes.clone().unwrap_or_else(default_scopes);
        let mut wanted = self.settings.scopes.clone();
        held.sort();
        wanted.sort();
        if held == wanted {
            return Ok(false);
        }
        let key = self
            .crm
            .update_scopes(&account.system_url, &account.api_key, &account.code, &self.settings.scopes)
            .await
            .map_err(|error| Failure::ours(error.to_string()))?;
        let now = self.deps.clock.now();
        Accounts::new(self.deps.store.as_ref())
            .record_scopes(&account.client_id, &key, &self.settings.scopes, now)
            .await?;
        tracing::info!(scopes = ?self.settings.scopes, "scopes updated; the CRM's new API key is stored");
        Ok(true)
    }

    /// The installation `client_id` names, for its account page; `None` when there is none.
    pub async fn installation(&self, client_id: &str) -> Result<Option<Account>, Failure> {
        if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_LEN {
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
        tracing::info!(code = %account.code, "settings stored");
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
