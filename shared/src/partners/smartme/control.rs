//! The device-control port (its smart-me implementation is [`super::account::SmartMeAccounts`]: with the
//! credentials that act for the meter's owner, `GET /api/Actions/{id}` finds the meter's main switch, once per
//! meter (the owner item keeps it), and `POST /api/Actions` sets it; a 2xx confirms).

use serde_json::Value;

/// Why a switch command did not take effect; messages never contain credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("the device cannot be switched")]
    NotSwitchable,
    /// The owner's smart-me grant is gone: nothing may act for them.
    #[error("the owner's smart-me access was revoked")]
    Revoked,
    #[error("smart-me did not confirm the command: {0}")]
    Failed(String),
}

/// Turn meter `device_id` of `user_id` on or off at `now` (epoch seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchCommand<'a> {
    pub user_id: &'a str,
    pub device_id: &'a str,
    /// The meter's switch action (its ObisCode), when known; looked up first otherwise.
    pub action: Option<&'a str>,
    pub on: bool,
    pub now: i64,
}

/// Switches devices and answers only what the device cloud confirmed.
#[async_trait::async_trait]
pub trait DeviceControl: Send + Sync {
    /// Carries out `command`; `Ok` with the action used (its ObisCode), only once the device cloud accepted it.
    async fn switch(&self, command: &SwitchCommand<'_>) -> Result<String, ControlError>;

    /// The action that switches `device_id`, a meter of `user_id` (its ObisCode), or `None` when it has no relay.
    async fn switch_action(&self, user_id: &str, device_id: &str, now: i64) -> Result<Option<String>, ControlError>;

    /// Reads `user_id`'s meters from the device cloud again when they come from there (users who signed in with
    /// it) and were not read recently; nothing for others.
    async fn refresh_meters(&self, _user_id: &str, _now: i64) -> Result<(), ControlError> {
        Ok(())
    }
}

/// The ObisCode of the action that switches the whole meter: an `OnOffAction`, preferring the main relay
/// (`99-0:12.0.0`, or a code without a phase) over per-phase switches; the first one otherwise.
pub fn main_switch(actions: &[Value]) -> Option<String> {
    let on_off: Vec<&str> =
        actions.iter().filter(|a| a["ActionType"] == "OnOffAction").filter_map(|a| a["ObisCode"].as_str()).collect();
    on_off.first().map(|first| on_off.iter().find(|code| is_main_relay(code)).unwrap_or(first).to_string())
}

/// Whether an OBIS code names the main relay rather than one phase's (`...12.0.1` to `.3`) or an output.
fn is_main_relay(code: &str) -> bool {
    let without_tariff = code.split('*').next().unwrap_or(code);
    without_tariff.ends_with(":12.0.0") || without_tariff.ends_with(":99.12.0") || without_tariff.ends_with(".12.0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_main_relay_wins_over_phases() {
        let phase = |code: &str| json!({"Name": "Phase", "ActionType": "OnOffAction", "ObisCode": code});
        let actions = [
            phase("99-0:12.0.1*255"),
            json!({"ActionType": "AnalogAction", "ObisCode": "99-0:12.0.0"}),
            phase("99-0:12.0.0*255"),
        ];
        assert_eq!(main_switch(&actions).as_deref(), Some("99-0:12.0.0*255"));
        assert_eq!(main_switch(&[phase("1-0:99.12.0*255")]).as_deref(), Some("1-0:99.12.0*255"));
        assert_eq!(main_switch(&[phase("99-0:12.0.2")]).as_deref(), Some("99-0:12.0.2"), "only a phase: that one");
        assert_eq!(main_switch(&[json!({"ActionType": "AnalogAction", "ObisCode": "x"})]), None);
        assert_eq!(main_switch(&[]), None);
    }
}
