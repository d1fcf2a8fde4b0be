//! smart-me's REST API (`SMARTME_API_URL`), called with whichever credentials act for the meter's owner (a user's
//! OAuth access token, or the vendor's API key): who the account is (`GET /api/User`), its meters
//! (`GET /api/Devices`), their actions (`GET /api/Actions/{id}`, `POST /api/Actions`) and the realtime
//! subscription (`POST /api/RegisterForRealtimeApi`). Field names are smart-me's (swagger at smart-me.com).

use crate::ports::partner_http::{CallFailure, PartnerClient};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// smart-me's REST API in production.
pub const DEFAULT_URL: &str = "https://smart-me.com";

/// Why a REST call did not answer what we asked. Messages never carry credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestError {
    /// 401 or 403: the credentials do not (or no longer) allow it.
    #[error("smart-me refused the credentials (HTTP {0})")]
    Unauthorized(u16),
    #[error("smart-me has no such resource")]
    NotFound,
    #[error("smart-me did not answer as expected: {0}")]
    Failed(String),
}

/// The account a token acts for (`GET /api/User`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartMeUser {
    /// smart-me's id of the account (a number in smart-me's answers, kept as text).
    pub id: String,
    pub username: Option<String>,
}

/// One meter of the account (`GET /api/Devices`): the fields we use, whatever else smart-me sends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SmartMeDevice {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub serial: Option<Value>,
    /// The unit of the meter's power readings (`W`, `kW`), when smart-me says.
    #[serde(default)]
    pub active_power_unit: Option<String>,
    /// The unit of its counter readings (`kWh`, `Wh`, `m3`), when smart-me says.
    #[serde(default)]
    pub counter_reading_unit: Option<String>,
    /// Whether its relay is on, for meters that have one.
    #[serde(default)]
    pub switch_on: Option<bool>,
}

/// The account in an answer of `GET /api/User`: its `Id` (a number, or text of letters, digits and dashes, at most
/// 64), and its user name when there is one.
pub fn parse_user(answer: &Value) -> Result<SmartMeUser, RestError> {
    let id = match &answer["Id"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => return Err(RestError::Failed("/api/User answered no Id".into())),
    };
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(RestError::Failed("/api/User answered an Id we cannot use".into()));
    }
    let username = answer["Username"].as_str().or(answer["UserName"].as_str()).map(str::to_owned);
    Ok(SmartMeUser { id, username })
}

/// The meters in an answer of `GET /api/Devices` (a list; entries we cannot read are skipped).
pub fn parse_devices(answer: &Value) -> Result<Vec<SmartMeDevice>, RestError> {
    let entries = answer.as_array().ok_or_else(|| RestError::Failed("/api/Devices answered no list".into()))?;
    Ok(entries.iter().filter_map(|d| serde_json::from_value::<SmartMeDevice>(d.clone()).ok()).collect())
}

/// The REST API at one base URL.
pub struct SmartMeClient {
    base: String,
    http: PartnerClient,
}

fn failed(failure: CallFailure) -> RestError {
    RestError::Failed(match failure {
        CallFailure::Timeout(ms) => format!("no answer within {ms} ms"),
        CallFailure::Unreachable => "unreachable".into(),
        CallFailure::BodyLost { status } => format!("HTTP {status} without a readable body"),
    })
}

fn judged(status: u16, what: &str) -> Result<(), RestError> {
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err(RestError::Unauthorized(status)),
        404 => Err(RestError::NotFound),
        _ => Err(RestError::Failed(format!("{what} answered HTTP {status}"))),
    }
}

impl SmartMeClient {
    pub fn new(base: &str, timeout: Duration) -> Self {
        Self { base: base.trim_end_matches('/').to_owned(), http: PartnerClient::new("smartme", timeout) }
    }

    /// `SMARTME_API_URL` and `SMARTME_TIMEOUT_MS`.
    pub fn from_vars(vars: &crate::env::Vars) -> Result<Self, crate::env::ConfigError> {
        let base = vars.get_or("SMARTME_API_URL", DEFAULT_URL);
        if url::Url::parse(base).is_err() {
            return Err(crate::env::ConfigError::new("SMARTME_API_URL", "must be an absolute URL"));
        }
        Ok(Self::new(base, Duration::from_millis(vars.parse_or("SMARTME_TIMEOUT_MS", 5_000)?)))
    }

    async fn get(&self, authorization: &str, path: &str) -> Result<Value, RestError> {
        let url = format!("{}{path}", self.base);
        let (status, body) = self
            .http
            .exchange(|http| http.get(&url).header("authorization", authorization).header("accept", "application/json"))
            .await
            .map_err(failed)?;
        judged(status, path)?;
        serde_json::from_slice(&body)
            .map_err(|_| RestError::Failed(format!("{path} answered something other than JSON")))
    }

    async fn post(&self, authorization: &str, path: &str, body: &Value) -> Result<(u16, Vec<u8>), RestError> {
        let url = format!("{}{path}", self.base);
        let (status, answer) = self
            .http
            .exchange(|http| {
                http.post(&url)
                    .header("authorization", authorization)
                    .header("content-type", "application/json")
                    .header("accept", "application/json")
                    .body(body.to_string())
            })
            .await
            .map_err(failed)?;
        judged(status, path)?;
        Ok((status, answer))
    }

    /// `GET /api/User`: the account the credentials act for.
    pub async fn user(&self, authorization: &str) -> Result<SmartMeUser, RestError> {
        parse_user(&self.get(authorization, "/api/User").await?)
    }

    /// `GET /api/Devices`: the account's meters (entries we cannot read are skipped).
    pub async fn devices(&self, authorization: &str) -> Result<Vec<SmartMeDevice>, RestError> {
        parse_devices(&self.get(authorization, "/api/Devices").await?)
    }

    /// `GET /api/Actions/{id}`: the meter's actions (`[]` when it has none, or smart-me does not know it).
    pub async fn actions(&self, authorization: &str, device_id: &str) -> Result<Vec<Value>, RestError> {
        match self.get(authorization, &format!("/api/Actions/{device_id}")).await {
            Ok(Value::Array(actions)) => Ok(actions),
            Ok(_) => Err(RestError::Failed("/api/Actions answered no list".into())),
            Err(RestError::NotFound) => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }

    /// `POST /api/Actions`: `{"DeviceID", "Actions": [{"ObisCode", "Value"}...]}`, one entry per code of `action`
    /// (see [`super::control::main_switch`]); `Ok` once smart-me accepted it.
    pub async fn run_action(
        &self,
        authorization: &str,
        device_id: &str,
        action: &str,
        value: f64,
    ) -> Result<(), RestError> {
        let actions: Vec<serde_json::Value> = super::control::action_codes(action)
            .map(|obis| serde_json::json!({"ObisCode": obis, "Value": value}))
            .collect();
        let body = serde_json::json!({"DeviceID": device_id, "Actions": actions});
        self.post(authorization, "/api/Actions", &body).await.map(|_| ())
    }

    /// `POST /api/RegisterForRealtimeApi` with `body` (see [`super::registration::body`]); smart-me's answer.
    pub async fn register_realtime(&self, authorization: &str, body: &Value) -> Result<Value, RestError> {
        let (_, answer) = self.post(authorization, "/api/RegisterForRealtimeApi", body).await?;
        Ok(serde_json::from_slice(&answer).unwrap_or(Value::Null))
    }
}
