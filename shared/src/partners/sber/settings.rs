//! The Sber side's settings, read once and checked once for both functions that speak to Sber (`user` answers Sber's
//! calls, `notify` pushes to it): units, which meters Sber is offered, when a meter counts as online, and how long
//! a command may take.

use super::features::Units;
use super::online::OnlineRule;
use crate::env::{ConfigError, Vars};
use crate::identity::users::Device;
use std::time::Duration;

/// What Sber is offered of a meter that cannot switch (no relay): `SBER_UNSWITCHABLE_METERS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unswitchable {
    /// Not offered (the default): Sber's `socket` makes `on_off` obligatory, and a socket that never switches is
    /// what moderation and users see as broken.
    Hide,
    /// Offered as a `socket` whose `on_off` is the supply state (on while it reports).
    Socket,
}

/// The Sber settings of one deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct SberSettings {
    pub units: Units,
    pub online: OnlineRule,
    pub unswitchable: Unswitchable,
    /// How long the switching of one command may take before it is answered (`SBER_COMMAND_DEADLINE_MS`).
    pub command_deadline: Duration,
    /// How many meters of one command are switched at once (`SBER_COMMAND_CONCURRENCY`).
    pub command_concurrency: usize,
}

impl SberSettings {
    /// `SMARTME_POWER_TO_W`, `SMARTME_ENERGY_UNIT`, `SBER_ONLINE_WINDOW_S`, `SBER_UNSWITCHABLE_METERS`,
    /// `SBER_COMMAND_DEADLINE_MS`, `SBER_COMMAND_CONCURRENCY`.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let power_to_w: f64 = vars.parse_or("SMARTME_POWER_TO_W", 1.0)?;
        if !(power_to_w.is_finite() && power_to_w > 0.0) {
            return Err(ConfigError::new("SMARTME_POWER_TO_W", "must be a positive number"));
        }
        let units = Units { power_to_w, energy_unit: vars.get_or("SMARTME_ENERGY_UNIT", "Wh").to_owned() };
        let min_window_s: i64 = vars.parse_or("SBER_ONLINE_WINDOW_S", 300)?;
        if min_window_s < 1 {
            return Err(ConfigError::new("SBER_ONLINE_WINDOW_S", "must be a positive number of seconds"));
        }
        let unswitchable = match vars.get_or("SBER_UNSWITCHABLE_METERS", "hide").trim() {
            "hide" => Unswitchable::Hide,
            "socket" => Unswitchable::Socket,
            _ => return Err(ConfigError::new("SBER_UNSWITCHABLE_METERS", "use hide or socket")),
        };
        let deadline_ms: u64 = vars.parse_or("SBER_COMMAND_DEADLINE_MS", 5_000)?;
        if !(100..=8_000).contains(&deadline_ms) {
            return Err(ConfigError::new("SBER_COMMAND_DEADLINE_MS", "must leave time to answer: 100 to 8000 ms"));
        }
        let concurrency: usize = vars.parse_or("SBER_COMMAND_CONCURRENCY", 10)?;
        if concurrency < 1 {
            return Err(ConfigError::new("SBER_COMMAND_CONCURRENCY", "must be at least 1"));
        }
        Ok(Self {
            units,
            online: OnlineRule { min_window_s },
            unswitchable,
            command_deadline: Duration::from_millis(deadline_ms),
            command_concurrency: concurrency,
        })
    }

    /// Whether Sber is offered `device` at all.
    pub fn offers(&self, device: &Device) -> bool {
        self.unswitchable == Unswitchable::Socket || device.switchable == Some(true)
    }
}

impl Default for SberSettings {
    fn default() -> Self {
        Self::from_vars(&Vars::default()).unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_functions_read_the_same_checks() {
        let defaults = SberSettings::default();
        assert_eq!((defaults.unswitchable, defaults.command_concurrency), (Unswitchable::Hide, 10));
        assert_eq!(defaults.command_deadline, Duration::from_secs(5));
        for bad in [
            ("SMARTME_POWER_TO_W", "0"),
            ("SMARTME_POWER_TO_W", "-1"),
            ("SBER_UNSWITCHABLE_METERS", "show"),
            ("SBER_COMMAND_DEADLINE_MS", "9000"),
            ("SBER_COMMAND_CONCURRENCY", "0"),
            ("SBER_ONLINE_WINDOW_S", "0"),
        ] {
            assert_eq!(SberSettings::from_vars(&Vars::from_pairs([bad])).unwrap_err().name, bad.0);
        }
        let socket = SberSettings::from_vars(&Vars::from_pairs([("SBER_UNSWITCHABLE_METERS", "socket")])).unwrap();
        let plain = Device {
            id: "m".into(),
            name: "n".into(),
            linked_at: 0,
            features: None,
            switchable: Some(false),
            units: Default::default(),
        };
        assert!(socket.offers(&plain) && !defaults.offers(&plain));
        assert!(!defaults.offers(&Device { switchable: None, ..plain.clone() }), "unknown: not offered yet");
        assert!(defaults.offers(&Device { switchable: Some(true), ..plain }));
    }
}
