//! What identity providers and smart-me answer us at sign-in, from arbitrary bytes: ID tokens against a JWKS
//! document, smart-me's token, user and device answers, sealed grants, and the sign-in cookie.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::identity::upstream::oidc::{parse_jwks, verify_id_token};

fuzz_target!(|input: (&str, &[u8], u16)| {
    let (text, body, status) = input;
    if let Ok(document) = serde_json::from_slice::<serde_json::Value>(body) {
        let keys = parse_jwks(&document);
        assert!(verify_id_token(text, &keys, "https://id.example.com", "c", "n", 1_795_374_238).is_err());
        let _ = shared::partners::smartme::client::parse_user(&document);
        let _ = shared::partners::smartme::client::parse_devices(&document);
    }
    if let Ok(tokens) = shared::partners::smartme::oauth::parse_token_answer(status, body) {
        assert!((200..300).contains(&status) && !tokens.access_token.is_empty());
    }
    let keys = shared::crypto::sealing::SealingKeys::new([("k1", "fuzz-sealing-secret-fuzz-sealing-secret")]).unwrap();
    assert!(keys.open("owner", text).is_err(), "nothing unsealed opens");
    for secure in [true, false] {
        let _ = shared::identity::upstream::pending::cookie_value(text, secure);
    }
});
