//! RetailCRM marketplace module, "simple connection": the rules of the CRM's side of the protocol.

pub mod account;
pub mod account_page;
pub mod client;
pub mod connection;
pub mod module;
pub mod registration;
pub mod system_url;

pub use connection::ConnectionConfig;

use crate::env::{ConfigError, Vars};
use http::StatusCode;

/// The HTTP status RetailCRM errors are answered with: the CRM's documentation says 200 (the CRM shows
/// `errorMsg` to the user either way); `RETAILCRM_ERROR_STATUS` may choose another.
pub fn error_status(vars: &Vars) -> Result<StatusCode, ConfigError> {
    let code: u16 = vars.parse_or("RETAILCRM_ERROR_STATUS", 200)?;
    StatusCode::from_u16(code)
        .ok()
        .filter(|s| s.is_success() || s.is_client_error())
        .ok_or_else(|| ConfigError { name: "RETAILCRM_ERROR_STATUS".into(), reason: "use a 2xx or 4xx status".into() })
}
