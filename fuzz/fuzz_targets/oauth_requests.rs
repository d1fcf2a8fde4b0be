//! Authorization requests (query or form) and token-endpoint client authentication, from arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::codec::Form;
use shared::identity::oauth::settings::{Client, OAuthSettings, SigningKey};

fuzz_target!(|input: (&[u8], Option<&str>)| {
    let (body, authorization) = input;
    let client = |id: &str, secret: Option<&str>| Client {
        client_id: id.into(),
        client_secret: secret.map(Into::into),
        redirect_uris: vec!["https://client.example.com/cb".into()],
        scopes: vec!["read".into()],
        audience: "api".into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
    };
    let settings = OAuthSettings {
        issuer: "iss".into(),
        keys: vec![SigningKey { kid: "k".into(), secret: "k".repeat(32) }],
        clients: vec![client("web", Some("secret")), client("app", None)],
    };
    if let Ok(form) = Form::parse(body) {
        let _ = shared::identity::oauth::authorize::validate(&settings, &form);
        let _ = shared::identity::oauth::client_auth::authenticate(&settings, authorization, &form);
        if let Ok(Some(verifier)) = form.get("code_verifier") {
            let _ = shared::identity::oauth::pkce::verifies(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        }
    }
});
