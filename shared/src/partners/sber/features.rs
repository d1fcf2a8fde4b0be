//! How smart-me readings become Sber features (Sber calls a device's capabilities its "functions"; here they are
//! features, a function being a Lambda): the one table of OBIS codes, unit scaling and Sber ranges.
//!
//! | Sber feature | unit | from OBIS (latest reading) | scaling | Sber range |
//! |---|---|---|---|---|
//! | `online` | BOOL | the latest reading's time | true while younger than the online window | |
//! | `on_off` | BOOL | `99-0:12.0.0` (smart-me's switch state bitmap), else the phase switches `99-0:12.0.1` to `.3` | on while any bit (or phase) is on; a meter without a switch reports its supply state (`online`) | |
//! | `power` | INTEGER W | `1-0:16.7.0` net active power, else `1-0:1.7.0` import | x `power_to_w`, rounded | 0..50000 |
//! | `voltage` | INTEGER V | `1-0:32.7.0`, `52.7.0`, `72.7.0` (L1..L3) | mean of the phases present | 0..5000 |
//! | `current` | INTEGER mA | `1-0:31.7.0`, `51.7.0`, `71.7.0` (L1..L3) | sum of the phases, A x 1000 | 0..30000 |
//!
//! Every meter is a `socket`, whose obligatory features are `online` and `on_off`: both are always declared.
//!
//! Energy has no Sber function: import `1-0:1.8.0` and export `1-0:2.8.0` go to `partner_meta` with their unit.
//! Values outside a range are clamped to it (Sber refuses out-of-range states); INTEGER values are strings.

use crate::partners::smartme::obis::Obis;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The readings of one meter's latest state: OBIS code to value.
pub type Values = BTreeMap<Obis, f64>;

pub const NET_POWER: Obis = Obis::electricity(16, 7, 0);
pub const IMPORT_POWER: Obis = Obis::electricity(1, 7, 0);
pub const VOLTAGE_PHASES: [Obis; 3] =
    [Obis::electricity(32, 7, 0), Obis::electricity(52, 7, 0), Obis::electricity(72, 7, 0)];
pub const CURRENT_PHASES: [Obis; 3] =
    [Obis::electricity(31, 7, 0), Obis::electricity(51, 7, 0), Obis::electricity(71, 7, 0)];
pub const ENERGY_IMPORT: Obis = Obis::electricity(1, 8, 0);
pub const ENERGY_EXPORT: Obis = Obis::electricity(2, 8, 0);

/// Sber's ranges for the INTEGER functions.
pub const POWER_RANGE: (i64, i64) = (0, 50_000);
pub const VOLTAGE_RANGE: (i64, i64) = (0, 5_000);
pub const CURRENT_RANGE: (i64, i64) = (0, 30_000);

/// Whether `obis` is smart-me's switch state: the bitmap `99-0:12.0.0` or a phase switch `99-0:12.0.1` to `.3`
/// (whatever F; digital outputs `99-0:12.1.x` are not the meter's supply).
pub fn is_switch_state(obis: &Obis) -> bool {
    matches!(obis.0, [99, 0, 12, 0, 0..=3, _])
}

/// A switch state value as the bitmap it is: a whole number from 0 to `u32::MAX`; anything else is unreadable.
fn bitmap(value: f64) -> Option<u32> {
    (value.is_finite() && value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value)).then_some(value as u32)
}

/// Whether the meter's switch is on, from its switch state bitmap (any bit set), else its phase switches (any on);
/// `None` when the reading carries no readable switch state.
pub fn switch_on(values: &Values) -> Option<bool> {
    let state = |e: u8| values.iter().find(|(k, _)| k.0[..5] == [99, 0, 12, 0, e]).and_then(|(_, v)| bitmap(*v));
    if let Some(bits) = state(0) {
        return Some(bits != 0);
    }
    let phases: Vec<u32> = (1..=3).filter_map(state).collect();
    (!phases.is_empty()).then(|| phases.iter().any(|bits| *bits != 0))
}

/// Unit scaling of the realtime values, which smart-me does not state reliably (`SMARTME_POWER_TO_W`,
/// `SMARTME_ENERGY_UNIT`).
#[derive(Debug, Clone, PartialEq)]
pub struct Units {
    /// Multiplier from the reported active power to watts (1 when smart-me reports W, 1000 for kW).
    pub power_to_w: f64,
    /// The unit the energy counters are reported in, passed to Sber as is.
    pub energy_unit: String,
}

impl Units {
    /// The units of a meter whose smart-me device data names `meter`'s: its power unit (`W`, `kW`, `MW`) and its
    /// counter unit where it tells, these otherwise.
    pub fn for_meter(&self, meter: &crate::identity::users::MeterUnits) -> Units {
        let power_to_w = match meter.power.as_deref().map(str::trim) {
            Some("W") => 1.0,
            Some("kW") => 1_000.0,
            Some("MW") => 1_000_000.0,
            _ => self.power_to_w,
        };
        let energy = meter.energy.as_deref().map(str::trim).filter(|u| !u.is_empty() && u.len() <= 16);
        Units { power_to_w, energy_unit: energy.map_or_else(|| self.energy_unit.clone(), str::to_owned) }
    }
}

impl Default for Units {
    fn default() -> Self {
        Self { power_to_w: 1.0, energy_unit: "Wh".into() }
    }
}

fn clamp(value: f64, (low, high): (i64, i64)) -> i64 {
    if value.is_nan() { low } else { (value.round() as i64).clamp(low, high) }
}

fn phases(values: &Values, codes: &[Obis; 3]) -> Vec<f64> {
    codes.iter().filter_map(|c| values.get(c).copied()).collect()
}

/// The features of a meter nothing is known of yet: Sber's socket features a smart-me meter can report.
pub const ALL_FEATURES: [&str; 5] = ["online", "on_off", "power", "voltage", "current"];

/// Whether a meter reporting `values` can be switched (it reports a readable switch state).
pub fn switchable(values: &Values) -> bool {
    switch_on(values).is_some()
}

/// The features a meter reporting `values` can fill, in Sber's order; `online` and `on_off` always (the socket
/// category's obligatory features).
pub fn features(values: &Values) -> Vec<&'static str> {
    let mut features = vec!["online", "on_off"];
    if values.contains_key(&NET_POWER) || values.contains_key(&IMPORT_POWER) {
        features.push("power");
    }
    if !phases(values, &VOLTAGE_PHASES).is_empty() {
        features.push("voltage");
    }
    if !phases(values, &CURRENT_PHASES).is_empty() {
        features.push("current");
    }
    features
}

/// Sber's INTEGER state value (a string holding an int64).
pub fn integer_state(key: &str, value: i64) -> Value {
    json!({"key": key, "value": {"type": "INTEGER", "integer_value": value.to_string()}})
}

pub fn bool_state(key: &str, value: bool) -> Value {
    json!({"key": key, "value": {"type": "BOOL", "bool_value": value}})
}

/// The state of every feature in `features`, from `values` read at a time that makes the meter `online`. A
/// feature without a current value reports its range's low end (Sber requires every declared feature); `on_off`
/// of a meter without a switch is its supply state: on while it reports.
pub fn states<S: AsRef<str>>(features: &[S], values: &Values, online: bool, units: &Units) -> Vec<Value> {
    features
        .iter()
        .map(|feature| match feature.as_ref() {
            "online" => bool_state("online", online),
            "on_off" => bool_state("on_off", switch_on(values).unwrap_or(online)),
            "power" => {
                let watts = values.get(&NET_POWER).or_else(|| values.get(&IMPORT_POWER)).copied().unwrap_or(0.0);
                integer_state("power", clamp(watts * units.power_to_w, POWER_RANGE))
            }
            "voltage" => {
                let volts = phases(values, &VOLTAGE_PHASES);
                let mean = if volts.is_empty() { 0.0 } else { volts.iter().sum::<f64>() / volts.len() as f64 };
                integer_state("voltage", clamp(mean, VOLTAGE_RANGE))
            }
            "current" => {
                let amperes: f64 = phases(values, &CURRENT_PHASES).iter().sum();
                integer_state("current", clamp(amperes * 1000.0, CURRENT_RANGE))
            }
            other => bool_state(other, false),
        })
        .collect()
}

/// `partner_meta`: the energy counters with their unit (well under Sber's 1024 characters).
pub fn partner_meta(values: &Values, units: &Units) -> Value {
    let mut meta = serde_json::Map::new();
    for (name, code) in [("energy_import", ENERGY_IMPORT), ("energy_export", ENERGY_EXPORT)] {
        if let Some(value) = values.get(&code).filter(|v| v.is_finite()) {
            meta.insert(name.into(), json!({"value": value, "unit": units.energy_unit, "obis": code.to_string()}));
        }
    }
    Value::Object(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(Obis, f64)]) -> Values {
        pairs.iter().copied().collect()
    }

    #[test]
    fn amperes_become_milliamps_and_ranges_clamp() {
        let v = values(&[(CURRENT_PHASES[0], 1.234), (IMPORT_POWER, 24.19), (VOLTAGE_PHASES[0], 231.4)]);
        let f = features(&v);
        assert_eq!(f, ["online", "on_off", "power", "voltage", "current"]);
        let s = states(&f, &v, true, &Units::default());
        assert_eq!(s[1]["value"]["bool_value"], true, "no switch: on_off is the supply state");
        assert_eq!(s[2]["value"]["integer_value"], "24");
        assert_eq!(s[3]["value"]["integer_value"], "231");
        assert_eq!(s[4]["value"]["integer_value"], "1234", "1.234 A is 1234 mA");
        let huge = values(&[(CURRENT_PHASES[0], 80.0), (NET_POWER, -500.0), (IMPORT_POWER, 99.0)]);
        let s = states(&features(&huge), &huge, false, &Units::default());
        assert_eq!(s[0]["value"]["bool_value"], false);
        assert_eq!(s[1]["value"]["bool_value"], false, "offline: off");
        assert_eq!(s[2]["value"]["integer_value"], "0", "net power wins and is clamped at 0");
        assert_eq!(s[3]["value"]["integer_value"], "30000");
        let kw = Units { power_to_w: 1000.0, ..Units::default() };
        let s = states(&["power"], &values(&[(IMPORT_POWER, 1.5)]), true, &kw);
        assert_eq!(s[0]["value"]["integer_value"], "1500");
    }

    #[test]
    fn switch_state_and_three_phases() {
        let switch = Obis([99, 0, 12, 0, 0, 0]);
        let v = values(&[
            (switch, 1.0),
            (VOLTAGE_PHASES[0], 230.0),
            (VOLTAGE_PHASES[1], 232.0),
            (CURRENT_PHASES[0], 1.0),
            (CURRENT_PHASES[2], 2.5),
        ]);
        let f = features(&v);
        assert_eq!(f, ["online", "on_off", "voltage", "current"]);
        let s = states(&f, &v, true, &Units::default());
        assert_eq!(s[1]["value"]["bool_value"], true);
        assert_eq!(s[2]["value"]["integer_value"], "231");
        assert_eq!(s[3]["value"]["integer_value"], "3500");
        let off = values(&[(switch, 0.0)]);
        assert_eq!(states(&["on_off"], &off, true, &Units::default())[0]["value"]["bool_value"], false);
    }

    /// The switch state is a bitmap (smart-me's .NET client: "Switch State (uint32) Bitmap"); without it, the
    /// phase switches; digital outputs and unreadable values are no switch state.
    #[test]
    fn the_switch_state_is_read_as_a_bitmap() {
        let code = |e: u8| Obis([99, 0, 12, 0, e, 255]);
        assert_eq!(switch_on(&values(&[(code(0), 6.0)])), Some(true), "phases 2 and 3 on");
        assert_eq!(switch_on(&values(&[(code(0), 0.0), (code(1), 1.0)])), Some(false), "the bitmap wins");
        assert_eq!(switch_on(&values(&[(code(1), 0.0), (code(2), 1.0)])), Some(true));
        assert_eq!(switch_on(&values(&[(code(1), 0.0), (code(3), 0.0)])), Some(false));
        for unreadable in [0.5, -1.0, 4_294_967_296.0] {
            assert_eq!(switch_on(&values(&[(code(0), unreadable)])), None, "{unreadable}");
        }
        assert_eq!(switch_on(&values(&[(Obis([99, 0, 12, 1, 1, 255]), 1.0)])), None, "a digital output");
        assert!(!switchable(&values(&[(IMPORT_POWER, 5.0)])));
    }

    /// A meter whose smart-me device data names its units is scaled by them; the global setting covers the rest.
    #[test]
    fn a_meter_names_its_own_units() {
        use crate::identity::users::MeterUnits;
        let global = Units { power_to_w: 1.0, energy_unit: "Wh".into() };
        let kw = MeterUnits { power: Some("kW".into()), energy: Some("kWh".into()) };
        assert_eq!(global.for_meter(&kw), Units { power_to_w: 1000.0, energy_unit: "kWh".into() });
        let s = states(&["power"], &values(&[(IMPORT_POWER, 1.5)]), true, &global.for_meter(&kw));
        assert_eq!(s[0]["value"]["integer_value"], "1500");
        let odd = MeterUnits { power: Some("hp".into()), energy: Some("x".repeat(40)) };
        assert_eq!(global.for_meter(&odd), global, "units we cannot read leave the setting");
        assert_eq!(global.for_meter(&MeterUnits::default()), global);
    }

    #[test]
    fn partner_meta_carries_energy_with_units() {
        let v = values(&[(ENERGY_IMPORT, 1_879_583.2), (ENERGY_EXPORT, 0.0)]);
        let meta = partner_meta(&v, &Units::default());
        assert_eq!(meta["energy_import"]["value"], 1_879_583.2);
        assert_eq!(meta["energy_export"]["unit"], "Wh");
        assert!(meta.to_string().len() < 1024);
    }
}
