//! `Authorization: Basic` header values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|header: &str| {
    if let Some(credentials) = shared::codec::BasicCredentials::parse(header) {
        let _ = credentials.matches("user", "password");
    }
});
