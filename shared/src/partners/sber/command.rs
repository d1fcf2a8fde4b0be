//! `POST /v1/command`: Sber sends one command for a room or a group, so one call may switch many meters. They are
//! switched concurrently (at most `SBER_COMMAND_CONCURRENCY` at once) under one deadline
//! (`SBER_COMMAND_DEADLINE_MS`) that leaves the function time to answer in Sber's envelope: a meter not done by
//! then is a per-device 503, and its real outcome reaches Sber with the state push that follows its next reading.
//! Only confirmed states are answered; a confirmed switch is written into the meter's latest state so that Sber's
//! other clients hear of it through the push like any other change.

use super::requests::{DeviceCommand, Entry, StateValue};
use super::{OwnedMeter, SberHome, device_error, features, offered_meter, within};
use crate::identity::users::MeterOwner;
use crate::partners::smartme::control::{ControlError, SwitchCommand};
use crate::partners::smartme::latest::LatestState;
use crate::ports::store::{Condition, StoreError};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// One meter to switch.
struct Switch<'a> {
    meter: &'a OwnedMeter,
    on: bool,
}

impl SberHome {
    /// Answers `commands` of `user_id` at `now`.
    pub async fn command(
        &self,
        user_id: &str,
        commands: &[Entry<DeviceCommand>],
        now: i64,
    ) -> Result<Value, StoreError> {
        let meters = self.offered(user_id).await?;
        let mut errors = Vec::new();
        let mut switches: Vec<Switch> = Vec::new();
        for entry in commands {
            let named = entry.as_ref().map(|(id, states)| (id, states));
            let Some((meter, states)) = offered_meter(&meters, named, &mut errors) else { continue };
            let id = &meter.device.id;
            let switchable = meter.device.switchable == Some(true);
            let mut on = None;
            for state in states {
                match (state.key.as_str(), &state.value) {
                    ("on_off", StateValue::Bool(value)) if switchable => on = Some(*value),
                    ("on_off", StateValue::Bool(_)) => {
                        errors.push(device_error(id, 400, "this meter cannot be switched"))
                    }
                    ("on_off", _) => errors.push(device_error(id, 400, "on_off takes a BOOL value")),
                    (key, _) => errors.push(device_error(id, 400, &format!("function `{key}` cannot be set"))),
                }
            }
            // One switch per meter: a command repeating `on_off` means its last value.
            if let Some(on) = on {
                switches.push(Switch { meter, on });
            }
        }
        // Collected first: a stream over a closure's futures is not provably `Send` for the handler.
        let runs: Vec<_> = switches
            .iter()
            .enumerate()
            .map(|(n, switch)| async move { (n, self.switch(user_id, switch, now).await) })
            .collect();
        let runs = futures_util::stream::iter(runs).buffer_unordered(self.settings.command_concurrency);
        let finished = within(self.settings.command_deadline, runs).await;
        let mut confirmed = serde_json::Map::new();
        let mut done = vec![false; switches.len()];
        let mut cut_off = false;
        for (n, outcome) in finished {
            done[n] = true;
            let Switch { meter, on } = &switches[n];
            let id = &meter.device.id;
            match outcome {
                Ok(()) => {
                    confirmed.insert(id.clone(), json!({"states": [features::bool_state("on_off", *on)]}));
                }
                Err(ControlError::NotSwitchable) => errors.push(device_error(id, 400, "this meter cannot be switched")),
                Err(ControlError::Revoked) => {
                    cut_off = true;
                    errors.push(device_error(id, 403, "the account's smart-me access was revoked"));
                }
                Err(error) => {
                    tracing::warn!(%error, device_id = id, "switch command failed");
                    errors.push(device_error(id, 503, "the meter did not confirm the command; try again"));
                }
            }
        }
        for (switch, _) in switches.iter().zip(&done).filter(|(_, done)| !**done) {
            let id = &switch.meter.device.id;
            tracing::warn!(device_id = id, "switch not confirmed before the command's deadline");
            errors.push(device_error(id, 503, "the meter did not confirm in time; its state follows when it reports"));
        }
        if cut_off {
            self.cut_off(user_id, now).await?;
        }
        let mut answer = json!({"devices": confirmed});
        if !errors.is_empty() {
            answer["errors"] = Value::Array(errors);
        }
        Ok(answer)
    }

    /// Switches one meter and records what was confirmed: the state in its latest state, the action that switched
    /// it on its owner item when it was not known (the next command needs one smart-me call, not two).
    async fn switch(&self, user_id: &str, switch: &Switch<'_>, now: i64) -> Result<(), ControlError> {
        let device = &switch.meter.device;
        let known = switch.meter.switch_action.as_deref();
        let command = SwitchCommand { user_id, device_id: &device.id, action: known, on: switch.on, now };
        let action = self.control.switch(&command).await?;
        if let Err(error) = self.record_switch(&device.id, switch.on).await {
            tracing::warn!(%error, device_id = device.id, "confirmed switch state not recorded");
        }
        if known.is_none() {
            let key = MeterOwner::key(&device.id, user_id);
            let update = MeterOwner::switch_known(Some(&action), false);
            if let Err(error) = self.store.update(&key, update, Condition::ItemPresent).await {
                tracing::warn!(%error, device_id = device.id, "the meter's switch action not recorded");
            }
        }
        Ok(())
    }

    /// Writes a confirmed switch state into the meter's latest state (until its next reading reports it), so the
    /// change reaches Sber's other clients through the push like any other.
    async fn record_switch(&self, device_id: &str, on: bool) -> Result<(), StoreError> {
        let key = LatestState::key(device_id);
        let Some(item) = self.store.get(&key).await? else { return Ok(()) };
        let state = LatestState::from_item(Some(&item));
        let switches: Vec<_> = state.values.keys().copied().filter(features::is_switch_state).collect();
        if switches.is_empty() {
            return Ok(());
        }
        let mut values = state.values.clone();
        // Every switch state it reports (bitmap and phases) says what was confirmed: all on, or all off.
        for switch in switches {
            values.insert(switch, if on { 1.0 } else { 0.0 });
        }
        // Only over the reading it was read from: a newer reading knows better.
        let (update, same_reading) = state.replace_values(&values);
        match self.store.update(&key, update, same_reading).await {
            Err(error) if !error.is_condition_failed() => Err(error),
            _ => Ok(()),
        }
    }
}
