//! The body of `POST /smallcase/transaction`, validated by intent before anything is sent to the Gateway.

use serde_json::{Map, Value, json};

/// Largest body accepted (bytes).
pub const MAX_BODY: usize = 16 * 1024;

/// The intents we create transactions for (the Gateway's others, such as subscriptions, are refused).
pub const INTENTS: [&str; 4] = ["TRANSACTION", "HOLDINGS_IMPORT", "MF_HOLDINGS_IMPORT", "CONNECT"];

/// The longest `notes` the Gateway takes (characters); it returns them with the transaction's results.
pub const MAX_NOTES: usize = 256;

/// A validated transaction request: the JSON sent to the Gateway as is.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionRequest {
    pub intent: String,
    pub body: Value,
}

/// Checks `body`: a JSON object with a known `intent` and the config object that intent takes, and nothing else.
/// `TRANSACTION` needs `orderConfig` (with `type`); the imports may carry `assetConfig`; `CONNECT` takes neither.
/// Every intent may carry `notes` (a string of at most 256 characters).
pub fn parse(body: &[u8]) -> Result<TransactionRequest, String> {
    let value: Value =
        crate::codec::json::parse_strict(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let Value::Object(fields) = value else { return Err("the body must be a JSON object".into()) };
    let intent = match fields.get("intent") {
        Some(Value::String(intent)) if INTENTS.contains(&intent.as_str()) => intent.clone(),
        Some(Value::String(_)) => return Err(format!("intent must be one of {}", INTENTS.join(", "))),
        Some(_) => return Err("intent must be a string".into()),
        None => return Err("intent is missing".into()),
    };
    let (required, allowed): (Option<&str>, &[&str]) = match intent.as_str() {
        "TRANSACTION" => (Some("orderConfig"), &["orderConfig"]),
        "HOLDINGS_IMPORT" | "MF_HOLDINGS_IMPORT" => (None, &["assetConfig"]),
        _ => (None, &[]),
    };
    if let Some(name) = fields.keys().find(|k| *k != "intent" && *k != "notes" && !allowed.contains(&k.as_str())) {
        return Err(format!("field {name} is not allowed with intent {intent}"));
    }
    if let Some(name) = required.filter(|r| !fields.contains_key(*r)) {
        return Err(format!("intent {intent} requires {name}"));
    }
    let mut out = Map::new();
    out.insert("intent".into(), json!(intent));
    match fields.get("notes") {
        None => {}
        Some(Value::String(notes)) if notes.chars().count() <= MAX_NOTES => {
            out.insert("notes".into(), json!(notes));
        }
        Some(Value::String(_)) => return Err(format!("notes has at most {MAX_NOTES} characters")),
        Some(_) => return Err("notes must be a string".into()),
    }
    for name in allowed {
        match fields.get(*name) {
            None => {}
            Some(Value::Object(config)) => {
                if *name == "orderConfig" && !matches!(config.get("type"), Some(Value::String(t)) if !t.is_empty()) {
                    return Err("orderConfig.type must be a non-empty string".into());
                }
                out.insert((*name).into(), Value::Object(config.clone()));
            }
            Some(_) => return Err(format!("{name} must be a JSON object")),
        }
    }
    Ok(TransactionRequest { intent, body: Value::Object(out) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_each_intent_with_its_config() {
        let order = br#"{"intent":"TRANSACTION","orderConfig":{"type":"SECURITIES","securities":[{"ticker":"TCS","quantity":10,"type":"BUY"}]}}"#;
        let parsed = parse(order).unwrap();
        assert_eq!(parsed.intent, "TRANSACTION");
        assert_eq!(parsed.body["orderConfig"]["securities"][0]["ticker"], "TCS");
        assert!(parse(br#"{"intent":"HOLDINGS_IMPORT","assetConfig":{"mfHoldings":"true"}}"#).is_ok());
        assert!(parse(br#"{"intent":"HOLDINGS_IMPORT"}"#).is_ok());
        assert!(parse(br#"{"intent":"MF_HOLDINGS_IMPORT"}"#).is_ok());
        assert_eq!(parse(br#"{"intent":"CONNECT"}"#).unwrap().body, json!({"intent": "CONNECT"}));
        let notes = json!({"intent": "HOLDINGS_IMPORT", "notes": "é".repeat(MAX_NOTES)});
        assert_eq!(parse(notes.to_string().as_bytes()).unwrap().body, notes, "256 characters, not bytes");
    }

    #[test]
    fn refuses_what_the_intent_does_not_take() {
        for bad in [
            &b""[..],
            b"[]",
            b"{}",
            br#"{"intent":"SELL"}"#,
            br#"{"intent":7}"#,
            br#"{"intent":"TRANSACTION"}"#,
            br#"{"intent":"TRANSACTION","orderConfig":[]}"#,
            br#"{"intent":"TRANSACTION","orderConfig":{}}"#,
            br#"{"intent":"TRANSACTION","orderConfig":{"type":"SECURITIES"},"assetConfig":{}}"#,
            br#"{"intent":"CONNECT","orderConfig":{"type":"SECURITIES"}}"#,
            br#"{"intent":"HOLDINGS_IMPORT","assetConfig":"yes"}"#,
            br#"{"intent":"CONNECT","extra":1}"#,
            br#"{"intent":"CONNECT","notes":7}"#,
            br#"{"intent":"SUBSCRIPTION"}"#,
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let long = json!({"intent": "CONNECT", "notes": "x".repeat(MAX_NOTES + 1)}).to_string();
        assert_eq!(parse(long.as_bytes()).unwrap_err(), "notes has at most 256 characters");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(&body);
        }

        #[test]
        fn accepted_bodies_only_carry_known_fields(intent in prop::sample::select(INTENTS.to_vec()),
                                                   config in prop::option::of("[a-z]{1,8}")) {
            let body = match &config {
                Some(t) => json!({"intent": intent, "orderConfig": {"type": t}}),
                None => json!({"intent": intent}),
            };
            if let Ok(parsed) = parse(body.to_string().as_bytes()) {
                let keys: Vec<&String> = parsed.body.as_object().unwrap().keys().collect();
                prop_assert!(keys.iter().all(|k| ["intent", "orderConfig", "assetConfig"].contains(&k.as_str())));
                prop_assert_eq!(parsed.intent, intent);
            }
        }
    }
}
