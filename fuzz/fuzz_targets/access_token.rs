//! Access-token verification and Bearer headers: any text is refused or accepted without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::identity::oauth::access_token::{bearer, verify};
use shared::identity::oauth::settings::{OAuthSettings, SigningKey};

fuzz_target!(|text: &str| {
    let settings = OAuthSettings {
        issuer: "https://api.example.com".into(),
        keys: vec![SigningKey { kid: "k1".into(), secret: "fuzz-signing-key-fuzz-signing-key-32".into() }],
        clients: vec![],
    };
    let _ = bearer(text);
    assert!(verify(&settings, text, &["sber"], 1_795_374_238).is_err(), "an unsigned input never verifies");
});
