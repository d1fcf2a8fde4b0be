//! Sber query and command bodies and smallcase transaction bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = shared::sber::requests::query(body);
    let _ = shared::sber::requests::command(body);
    if let Ok(request) = shared::smallcase::transaction::parse(body) {
        assert!(shared::smallcase::transaction::INTENTS.contains(&request.intent.as_str()));
    }
});
