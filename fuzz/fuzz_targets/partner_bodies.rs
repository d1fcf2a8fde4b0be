//! Sber query and command bodies, smallcase transaction bodies, the Gateway's transaction details answers, and
//! the identifying fields of smallcase postbacks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = shared::partners::sber::requests::query(body);
    let _ = shared::partners::sber::requests::command(body);
    if let Ok(request) = shared::partners::smallcase::transaction::parse(body) {
        assert!(shared::partners::smallcase::transaction::INTENTS.contains(&request.intent.as_str()));
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Ok(details) = shared::partners::smallcase::client::parse_details(&value, "TRX_1", "fuzz-secret") {
            assert_eq!(details.transaction_id, "TRX_1");
            assert!(details.smallcase_auth_id.is_none_or(|id| shared::partners::smallcase::client::valid_auth_id(&id)));
        }
        if let Ok(fields) = shared::partners::smallcase::postback::fields(&value) {
            assert!(fields.transaction_id.is_none_or(|id| shared::partners::smallcase::postback::valid_transaction_id(&id)));
        }
    }
});
