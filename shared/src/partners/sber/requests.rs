//! Strict parsing of Sber's `query` and `command` bodies. What cannot be tied to a device (not JSON, unknown
//! fields, `devices` of the wrong shape, oversized lists) refuses the whole request with Sber's common error (400);
//! a malformed device id or a malformed device entry is that device's error, and the rest is answered.

use serde_json::Value;

/// Most devices one request may name.
pub const MAX_DEVICES: usize = 100;
/// Most states one device's command may carry.
pub const MAX_STATES: usize = 16;

/// One state of a command: a function and its typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum StateValue {
    Bool(bool),
    Integer(i64),
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandState {
    pub key: String,
    pub value: StateValue,
}

fn device_id(text: &str) -> Result<String, String> {
    crate::identity::users::normalize_device_id(text)
        .map_err(|_| format!("device id `{}` is not a device GUID", truncate(text)))
}

fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}

fn object<'v>(value: &'v Value, what: &str, allowed: &[&str]) -> Result<&'v serde_json::Map<String, Value>, String> {
    let Value::Object(fields) = value else { return Err(format!("{what} must be a JSON object")) };
    if let Some(name) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("{what} has an unknown field `{}`", truncate(name)));
    }
    Ok(fields)
}

/// One device's entry: its normalized id, or the id as sent with why it is refused.
pub type Entry<T> = Result<T, (String, String)>;

/// One device's command: its id and the states to set.
pub type DeviceCommand = (String, Vec<CommandState>);

/// `{"devices": ["id", ...]}`: the distinct entries, in order; a malformed id is an entry of its own.
pub fn query(body: &[u8]) -> Result<Vec<Entry<String>>, String> {
    let value: Value =
        crate::codec::json::parse_strict(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let fields = object(&value, "the body", &["devices"])?;
    let Some(Value::Array(ids)) = fields.get("devices") else {
        return Err("`devices` must be a list of device ids".into());
    };
    if ids.len() > MAX_DEVICES {
        return Err(format!("at most {MAX_DEVICES} devices per request"));
    }
    let mut out: Vec<Entry<String>> = Vec::with_capacity(ids.len());
    for id in ids {
        let Value::String(id) = id else { return Err("`devices` must hold strings".into()) };
        let entry = device_id(id).map_err(|reason| (truncate(id), reason));
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    Ok(out)
}

/// `{"devices": {"id": {"states": [{"key", "value": {"type", ...}}]}}}`: one entry per device, a malformed id or
/// malformed states refusing that device only.
pub fn command(body: &[u8]) -> Result<Vec<Entry<DeviceCommand>>, String> {
    let value: Value =
        crate::codec::json::parse_strict(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let fields = object(&value, "the body", &["devices"])?;
    let Some(Value::Object(devices)) = fields.get("devices") else {
        return Err("`devices` must be an object from device id to states".into());
    };
    if devices.len() > MAX_DEVICES {
        return Err(format!("at most {MAX_DEVICES} devices per request"));
    }
    Ok(devices
        .iter()
        .map(|(raw, device)| device_command(raw, device).map_err(|reason| (truncate(raw), reason)))
        .collect())
}

fn device_command(raw: &str, device: &Value) -> Result<DeviceCommand, String> {
    let id = device_id(raw)?;
    {
        let device = object(device, "a device", &["states"])?;
        let Some(Value::Array(states)) = device.get("states") else {
            return Err(format!("device {id}: `states` must be a list"));
        };
        if states.is_empty() || states.len() > MAX_STATES {
            return Err(format!("device {id}: 1 to {MAX_STATES} states"));
        }
        let mut parsed = Vec::with_capacity(states.len());
        for state in states {
            let state = object(state, "a state", &["key", "value"])?;
            let Some(Value::String(key)) = state.get("key") else {
                return Err(format!("device {id}: every state needs a string `key`"));
            };
            parsed.push(CommandState { key: truncate(key), value: state_value(&id, state.get("value"))? });
        }
        Ok((id, parsed))
    }
}

fn state_value(id: &str, value: Option<&Value>) -> Result<StateValue, String> {
    let bad = |what: &str| Err(format!("device {id}: {what}"));
    let Some(Value::Object(value)) = value else { return bad("every state needs a `value` object") };
    match value.get("type").and_then(Value::as_str) {
        Some("BOOL") => match value.get("bool_value") {
            Some(Value::Bool(b)) => Ok(StateValue::Bool(*b)),
            _ => bad("a BOOL value needs a boolean `bool_value`"),
        },
        Some("INTEGER") => match value.get("integer_value") {
            Some(Value::String(s)) => {
                s.parse().map(StateValue::Integer).or_else(|_| bad("`integer_value` must hold an int64"))
            }
            _ => bad("an INTEGER value needs `integer_value` as a string"),
        },
        Some(other @ ("FLOAT" | "STRING" | "ENUM" | "COLOUR")) => Ok(StateValue::Other(other.to_owned())),
        _ => bad("`value.type` must be BOOL, INTEGER, FLOAT, STRING, ENUM or COLOUR"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1";

    #[test]
    fn queries() {
        let body = format!(r#"{{"devices": ["{}", "{ID}"]}}"#, ID.to_uppercase());
        assert_eq!(query(body.as_bytes()).unwrap(), vec![Ok(ID.to_owned())], "normalized and deduplicated");
        let mixed = query(format!(r#"{{"devices": ["not-a-guid", "{ID}"]}}"#).as_bytes()).unwrap();
        assert_eq!(mixed[0].as_ref().unwrap_err().0, "not-a-guid", "a malformed id is its own entry");
        assert_eq!(mixed[1], Ok(ID.to_owned()));
        for bad in [
            "".to_owned(),
            "[]".to_owned(),
            r#"{"devices": "x"}"#.to_owned(),
            r#"{"devices": [1]}"#.to_owned(),
            format!(r#"{{"devices": ["{ID}"], "extra": 1}}"#),
            format!(r#"{{"devices": [{}]}}"#, vec![format!("\"{ID}\""); MAX_DEVICES + 1].join(",")),
        ] {
            assert!(query(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn commands() {
        let body = format!(
            r#"{{"devices": {{"{ID}": {{"states": [{{"key": "on_off", "value": {{"type": "BOOL", "bool_value": false}}}}]}}}}}}"#
        );
        let parsed = command(body.as_bytes()).unwrap();
        assert_eq!(
            parsed,
            vec![Ok((ID.to_owned(), vec![CommandState { key: "on_off".into(), value: StateValue::Bool(false) }]))]
        );
        // Malformed entries are refused one by one.
        for bad in [
            format!(r#"{{"devices": {{"{ID}": {{"states": []}}}}}}"#),
            format!(
                r#"{{"devices": {{"{ID}": {{"states": [{{"key": "on_off", "value": {{"type": "BOOL", "bool_value": "yes"}}}}]}}}}}}"#
            ),
            format!(
                r#"{{"devices": {{"{ID}": {{"states": [{{"key": "power", "value": {{"type": "INTEGER", "integer_value": 5}}}}]}}}}}}"#
            ),
            format!(
                r#"{{"devices": {{"{ID}": {{"states": [{{"key": 1, "value": {{"type": "BOOL", "bool_value": true}}}}]}}}}}}"#
            ),
            r#"{"devices": {"nope": {"states": []}}}"#.to_owned(),
        ] {
            let entries = command(bad.as_bytes()).unwrap();
            assert!(entries.len() == 1 && entries[0].is_err(), "{bad}");
        }
        for bad in [r#"{"devices": []}"#, "{}", r#"{"devices": {}, "x": 1}"#] {
            assert!(command(bad.as_bytes()).is_err(), "{bad}: nothing to tie to a device");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = query(&body);
            let _ = command(&body);
        }

        #[test]
        fn arbitrary_json_shapes_never_panic(key in "[a-z_]{0,8}", n in any::<i64>(), b in any::<bool>()) {
            let body = serde_json::json!({"devices": {ID: {"states": [{"key": key, "value": {"type": "INTEGER", "integer_value": n.to_string()}}, {"key": "on_off", "value": {"type": "BOOL", "bool_value": b}}]}}});
            let parsed = command(body.to_string().as_bytes()).unwrap();
            prop_assert_eq!(&parsed[0].as_ref().unwrap().1[0].value, &StateValue::Integer(n));
        }
    }
}
