//! Registering our receiver with smart-me's Realtime API: `POST /api/RegisterForRealtimeApi` with our URL and the
//! Basic credentials smart-me will send.

use super::secret::SmartMeAuth;
use crate::ports::partner_http::{CallFailure, PartnerClient};
use serde_json::{Value, json};
use std::time::Duration;

/// Which devices the registration covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every device of the smart-me user.
    User,
    Meter(String),
    Serial(u64),
}

/// The registration request body (smart-me's `RegisterRealtimeApiData`).
pub fn body(api_url: &str, username: &str, password: &str, scope: &Scope) -> Value {
    let mut body = json!({
        "ApiUrl": api_url,
        "BasicAuthUsername": username,
        "BasicAuthPassword": password,
    });
    match scope {
        Scope::User => body["RegistrationType"] = json!("UserRegistration"),
        Scope::Meter(id) => {
            body["RegistrationType"] = json!("SingleMeterRegistration");
            body["MeterId"] = json!(id);
        }
        Scope::Serial(serial) => {
            body["RegistrationType"] = json!("SingleMeterRegistration");
            body["SerialNumber"] = json!(serial);
        }
    }
    body
}

/// Creates the registration; the answer's JSON (smart-me echoes the registration) on success. Errors never
/// contain credentials.
pub async fn register(base: &str, auth: &SmartMeAuth, body: &Value, timeout: Duration) -> Result<Value, String> {
    let client = PartnerClient::new("smartme", timeout);
    let request = |http: &reqwest::Client| {
        http.post(format!("{}/api/RegisterForRealtimeApi", base.trim_end_matches('/')))
            .header("authorization", auth.header())
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.to_string())
    };
    match client.exchange(request).await {
        Ok((status, bytes)) if (200..300).contains(&status) => {
            Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        }
        Ok((status, _)) => Err(format!("smart-me refused the registration (HTTP {status})")),
        Err(CallFailure::Timeout(ms)) => Err(format!("smart-me did not answer within {ms} ms")),
        Err(_) => Err("smart-me could not be reached".into()),
    }
}
