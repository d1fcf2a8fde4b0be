//! Form bodies with PHP-style bracket keys, and the RetailCRM registration request read from them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(form) = shared::codec::Form::parse(body) {
        let _ = form.group("register");
        let _ = form.require("clientId");
        let _ = shared::partners::retailcrm::registration::RegisterRequest::from_form(&form);
    }
});
