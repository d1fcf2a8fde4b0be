//! The device-control port (its smart-me implementation is [`super::account::SmartMeAccounts`]: with the
//! credentials that act for the meter's owner, `GET /api/Actions/{id}` finds the meter's main switch, once per
//! meter (the owner item keeps it), and `POST /api/Actions` sets it; a 2xx confirms).

use super::obis::Obis;
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

/// smart-me's switch codes (its official .NET client, `SmartMeApiClient.Helpers.ObisCodes`): the switch state
/// bitmap `99-0:12.0.0`, the phase switches `99-0:12.0.1` to `.3`, and digital outputs `99-0:12.1.x`.
fn switch_kind(code: &str) -> SwitchKind {
    let obis = code.trim().split_once('*').map_or(format!("{}*255", code.trim()), |_| code.trim().to_owned());
    match obis.parse::<Obis>().map(|o| o.0) {
        Ok([99, 0, 12, 0, 0, _]) => SwitchKind::Main,
        Ok([99, 0, 12, 0, 1..=3, _]) => SwitchKind::Phase,
        Ok([99, 0, 12, 1, _, _]) => SwitchKind::Output,
        // Older firmware names the relay `1-0:99.12.0`.
        Ok([1, 0, 99, 12, 0, _]) => SwitchKind::Main,
        _ => SwitchKind::Other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SwitchKind {
    Main,
    Phase,
    Output,
    Other,
}

/// Separates the ObisCodes of one switch that takes several actions (a meter's phases).
const ACTIONS_SEPARATOR: char = ',';

/// What switches the whole meter, from its `OnOffAction`s: the main relay; without one, every phase switch at once
/// (the ObisCodes joined by `,`); a lone action of a code we do not know (a single relay named otherwise). Digital
/// outputs never: they drive something else, not the meter's supply. `None`: the meter cannot be switched.
pub fn main_switch(actions: &[Value]) -> Option<String> {
    let on_off: Vec<&str> =
        actions.iter().filter(|a| a["ActionType"] == "OnOffAction").filter_map(|a| a["ObisCode"].as_str()).collect();
    let of_kind = |kind| on_off.iter().copied().filter(move |code| switch_kind(code) == kind);
    if let Some(main) = of_kind(SwitchKind::Main).next() {
        return Some(main.to_owned());
    }
    let phases: Vec<&str> = of_kind(SwitchKind::Phase).collect();
    if !phases.is_empty() {
        return Some(phases.join(&ACTIONS_SEPARATOR.to_string()));
    }
    match on_off.as_slice() {
        [only] if switch_kind(only) == SwitchKind::Other => Some((*only).to_owned()),
        _ => None,
    }
}

/// The ObisCodes one switch action takes (see [`main_switch`]).
pub fn action_codes(action: &str) -> impl Iterator<Item = &str> {
    action.split(ACTIONS_SEPARATOR).map(str::trim).filter(|code| !code.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn on_off(code: &str) -> Value {
        json!({"Name": "Switch", "ActionType": "OnOffAction", "ObisCode": code})
    }

    /// The codes of smart-me's .NET client (`ObisCodes`): the main relay wins, else every phase together, never a
    /// digital output.
    #[test]
    fn the_whole_meter_is_switched_never_an_output() {
        let analog = json!({"ActionType": "AnalogAction", "ObisCode": "99-0:12.0.0*255"});
        let phases = [on_off("99-0:12.0.1*255"), on_off("99-0:12.0.2*255"), on_off("99-0:12.0.3*255")];
        let main = [phases.as_slice(), &[analog.clone(), on_off("99-0:12.0.0*255")]].concat();
        assert_eq!(main_switch(&main).as_deref(), Some("99-0:12.0.0*255"), "the main relay, wherever it is listed");
        let only_phases = [&[on_off("99-0:12.1.1*255")][..], &phases].concat();
        let joined = main_switch(&only_phases).unwrap();
        assert_eq!(joined, "99-0:12.0.1*255,99-0:12.0.2*255,99-0:12.0.3*255");
        assert_eq!(action_codes(&joined).count(), 3);
        assert_eq!(main_switch(&[on_off("99-0:12.1.1*255"), on_off("99-0:12.1.2*255")]), None, "outputs only");
        assert_eq!(main_switch(&[on_off("1-0:99.12.0*255")]).as_deref(), Some("1-0:99.12.0*255"));
        assert_eq!(main_switch(&[on_off("99-0:12.0.0")]).as_deref(), Some("99-0:12.0.0"), "without F");
        assert_eq!(main_switch(&[on_off("7-7:7.7.7*7")]).as_deref(), Some("7-7:7.7.7*7"), "a lone relay");
        assert_eq!(main_switch(&[on_off("7-7:7.7.7*7"), on_off("8-8:8.8.8*8")]), None, "which one? none");
        assert_eq!(main_switch(&[analog]), None);
        assert_eq!(main_switch(&[]), None);
    }
}
