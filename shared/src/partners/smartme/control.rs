//! The device-control port, and its smart-me REST implementation: `GET /api/Actions/{id}` finds the meter's
//! on/off action, `POST /api/Actions` `{"DeviceID", "Actions": [{"ObisCode", "Value"}]}` sets it (204 confirms).

use super::secret::SmartMeSecret;
use crate::ports::partner_http::{CallFailure, PartnerClient};
use crate::ports::secrets::Secrets;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Why a switch command did not take effect; messages never contain credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("the device cannot be switched")]
    NotSwitchable,
    #[error("smart-me did not confirm the command: {0}")]
    Failed(String),
}

/// Switches devices and answers only what the device cloud confirmed.
#[async_trait::async_trait]
pub trait DeviceControl: Send + Sync {
    /// Turns `device_id` on or off; `Ok` only once the device cloud accepted the command.
    async fn switch(&self, device_id: &str, on: bool) -> Result<(), ControlError>;
}

/// smart-me's REST API, with credentials read from the `smartme` secret at each call (so rotation needs no
/// redeploy; the secrets port caches them).
pub struct SmartMeApi {
    http: PartnerClient,
    base: String,
    secrets: Arc<dyn Secrets>,
}

impl SmartMeApi {
    pub fn new(base: &str, secrets: Arc<dyn Secrets>, timeout: Duration) -> Self {
        Self { http: PartnerClient::new("smartme", timeout), base: base.trim_end_matches('/').to_owned(), secrets }
    }

    async fn auth(&self) -> Result<String, ControlError> {
        let secret =
            SmartMeSecret::load(self.secrets.as_ref()).await.map_err(|e| ControlError::Failed(e.to_string()))?;
        secret
            .rest_auth()
            .map(|a| a.header())
            .ok_or_else(|| ControlError::Failed("the smartme secret holds no REST API credentials".into()))
    }

    fn failed(failure: CallFailure) -> ControlError {
        ControlError::Failed(match failure {
            CallFailure::Timeout(_) => "timed out".into(),
            CallFailure::Unreachable => "unreachable".into(),
            CallFailure::BodyLost { status } => format!("HTTP {status} without a readable body"),
        })
    }

    /// The ObisCode of the device's on/off action, if it has one.
    async fn on_off_action(&self, device_id: &str, auth: &str) -> Result<Option<String>, ControlError> {
        let request = |client: &reqwest::Client| {
            client
                .get(format!("{}/api/Actions/{device_id}", self.base))
                .header("authorization", auth)
                .header("accept", "application/json")
        };
        let (status, bytes) = self.http.exchange(request).await.map_err(Self::failed)?;
        if status == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            return Err(ControlError::Failed(format!("listing actions answered HTTP {status}")));
        }
        let actions: Value =
            serde_json::from_slice(&bytes).map_err(|_| ControlError::Failed("unreadable actions".into()))?;
        Ok(actions.as_array().into_iter().flatten().find_map(|a| {
            (a["ActionType"] == "OnOffAction").then(|| a["ObisCode"].as_str().map(str::to_owned)).flatten()
        }))
    }
}

#[async_trait::async_trait]
impl DeviceControl for SmartMeApi {
    async fn switch(&self, device_id: &str, on: bool) -> Result<(), ControlError> {
        let auth = self.auth().await?;
        let obis = self.on_off_action(device_id, &auth).await?.ok_or(ControlError::NotSwitchable)?;
        let body = json!({"DeviceID": device_id, "Actions": [{"ObisCode": obis, "Value": if on { 1.0 } else { 0.0 }}]});
        let request = |client: &reqwest::Client| {
            client
                .post(format!("{}/api/Actions", self.base))
                .header("authorization", auth)
                .header("content-type", "application/json")
                .body(body.to_string())
        };
        match self.http.exchange(request).await.map_err(Self::failed)? {
            (200..=299, _) => Ok(()),
            (status, _) => Err(ControlError::Failed(format!("HTTP {status}"))),
        }
    }
}
