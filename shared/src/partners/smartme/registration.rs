//! Registering our receiver with smart-me's Realtime API (`POST /api/RegisterForRealtimeApi`, sent by
//! [`super::client::SmartMeClient::register_realtime`]): our URL and the Basic credentials smart-me will send.

use serde_json::{Value, json};

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
