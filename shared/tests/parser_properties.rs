//! Property twins of the cargo-fuzz targets for the parsers without a proptest next to their code, so stable
//! `scripts/test` covers them too: webhook signature headers of every scheme, OAuth authorization requests
//! with client authentication, smallcase postbacks and the Gateway's transaction details, and what identity
//! providers and smart-me answer at sign-in (ID tokens against JWKS documents, token, user and device answers).

use proptest::prelude::*;
use shared::codec::Form;
use shared::identity::oauth::settings::{Client, OAuthSettings, SigningKey};
use shared::partners::webhooks::{Scheme, SigningKeys, verify};

const HEADER_SCHEMES: [Scheme; 5] =
    [Scheme::Schurter, Scheme::StandardWebhooks, Scheme::Stripe, Scheme::Github, Scheme::Slack];
const NAMES: [&str; 12] = [
    "x-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "stripe-signature",
    "x-hub-signature-256",
    "x-github-delivery",
    "x-slack-signature",
    "x-slack-request-timestamp",
];
const NOW: i64 = 1_795_374_238;
const SECRET: &str = "whsec_dW5ndWVzc2FibGUtcHJvcC1rZXk=";

fn keys(scheme: Scheme) -> SigningKeys {
    SigningKeys::new(scheme, &[SECRET.to_owned()]).unwrap()
}

/// A header value as senders and attackers write them: signature-ish text, or any visible bytes.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "(v=1;t=[0-9]{0,12};sig=[0-9a-f]{0,64})",
        "(t=[0-9]{0,12},v1=[0-9a-f]{0,64}(,v0=[0-9a-f]{0,8})?)",
        "((sha256|v0)=[0-9a-zA-Z+/=]{0,70})",
        "(v1,[A-Za-z0-9+/=]{0,50}( v1,[A-Za-z0-9+/=]{0,8})?)",
        "[ -~]{0,80}",
    ]
}

proptest! {
    /// Any headers and body: each scheme verifies or refuses without panicking, and never accepts what was not
    /// signed with the key.
    #[test]
    fn unsigned_headers_never_verify(
        values in prop::collection::vec(prop::option::of(header_value()), NAMES.len()),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut headers = http::HeaderMap::new();
        for (name, value) in NAMES.iter().zip(&values) {
            if let Some(value) = value.as_ref().and_then(|v| http::HeaderValue::from_str(v).ok()) {
                headers.insert(*name, value);
            }
        }
        for scheme in HEADER_SCHEMES {
            prop_assert!(verify(scheme, &keys(scheme), 300, &headers, &body, NOW).is_err(), "{:?}", scheme);
        }
        prop_assert!(verify(Scheme::Smallcase, &keys(Scheme::Smallcase), 300, &headers, &body, NOW).is_err());
    }

    /// What `sign_headers` signs verifies, for any body; one flipped body byte does not.
    #[test]
    fn signed_bodies_verify_and_tampered_ones_do_not(
        body in prop::collection::vec(any::<u8>(), 1..256),
        flip in any::<prop::sample::Index>(),
        scheme in prop::sample::select(HEADER_SCHEMES.to_vec()),
    ) {
        let signed = shared::partners::webhooks::signing::sign_headers(scheme, SECRET, &body, NOW, "msg_prop").unwrap();
        let mut headers = http::HeaderMap::new();
        for (name, value) in signed {
            headers.insert(http::HeaderName::try_from(name.as_str()).unwrap(), value.parse().unwrap());
        }
        prop_assert!(verify(scheme, &keys(scheme), 300, &headers, &body, NOW).is_ok());
        let mut tampered = body.clone();
        tampered[flip.index(body.len())] ^= 1;
        prop_assert!(verify(scheme, &keys(scheme), 300, &headers, &tampered, NOW).is_err());
    }

    /// Authorization requests and client authentication from any form and Authorization header: no panic, and
    /// only the configured clients with their exact secrets authenticate.
    #[test]
    fn oauth_requests_from_any_input(
        body in prop_oneof![
            "[a-z_]{1,14}=[a-zA-Z0-9%:/._-]{0,40}(&[a-z_]{1,14}=[a-zA-Z0-9%:/._-]{0,40}){0,6}",
            "[ -~]{0,120}",
        ],
        authorization in prop::option::of(prop_oneof!["Basic [A-Za-z0-9+/=]{0,40}", "[ -~]{0,40}"]),
    ) {
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
            clients: vec![client("web", Some("prop-client-secret")), client("app", None)],
        };
        if let Ok(form) = Form::parse(body.as_bytes()) {
            let _ = shared::identity::oauth::authorize::validate(&settings, &form);
            if let Ok(authenticated) = shared::identity::oauth::client_auth::authenticate(&settings, authorization.as_deref(), &form) {
                // Only the public client can authenticate without knowing a secret the generator cannot produce.
                prop_assert_eq!(authenticated.client_id.as_str(), "app");
            }
        }
    }
}

/// JSON as a partner might send it: the documented fields with arbitrary values, and anything else.
fn smallcase_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[ -~]{0,40}".prop_map(serde_json::Value::from),
        prop::sample::select(vec!["COMPLETED", "PROCESSING", "TRX_1", "2026-11-22T19:00:00Z", "1795374200"])
            .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        let keys = prop::sample::select(vec![
            "success",
            "data",
            "transactionId",
            "transactionDetails",
            "status",
            "intent",
            "smallcaseAuthId",
            "smallcaseAuthToken",
            "authToken",
            "timestamp",
            "checksum",
            "x",
        ]);
        prop::collection::btree_map(keys, inner, 0..6)
            .prop_map(|m| serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
    })
}

proptest! {
    #[test]
    fn gateway_details_and_postback_fields_never_panic_and_keep_their_bounds(value in smallcase_json()) {
        if let Ok(details) = shared::partners::smallcase::client::parse_details(&value, "TRX_1", "secret") {
            prop_assert_eq!(details.transaction_id, "TRX_1");
            prop_assert!(details.smallcase_auth_id.is_none_or(|id| shared::partners::smallcase::client::valid_auth_id(&id)));
        }
        if let Ok(fields) = shared::partners::smallcase::postback::fields(&value) {
            prop_assert!(fields.transaction_id.is_none_or(|id| shared::partners::smallcase::postback::valid_transaction_id(&id)));
            let classes = ["INITIALIZED", "USED", "PROCESSING", "ACTION_REQUIRED", "ERRORED", "COMPLETED", "OTHER"];
            prop_assert!(classes.contains(&fields.status_class));
        }
        let body = value.to_string();
        let k = SigningKeys::new(Scheme::Smallcase, &["api-secret".to_owned()]).unwrap();
        let _ = verify(Scheme::Smallcase, &k, 300, &http::HeaderMap::new(), body.as_bytes(), NOW);
    }
}

proptest! {
    /// Any ID token against any key set is refused without panicking; smart-me's answers parse or are refused.
    #[test]
    fn upstream_answers_never_panic(
        token in "[A-Za-z0-9_.-]{0,300}",
        body in prop_oneof![
            Just(r#"{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "k"}]}"#.to_owned()),
            Just(r#"[{"Id": "2c6d6e4b-3f29-4f2b-9b5e-0c7a36f2a0e1", "Name": "x", "SwitchOn": 1}]"#.to_owned()),
            Just(r#"{"Id": 12, "Username": "u", "access_token": "t"}"#.to_owned()),
            "[ -~]{0,200}",
        ],
        status in 100u16..600,
    ) {
        use shared::identity::upstream::oidc::{parse_jwks, verify_id_token};
        if let Ok(document) = serde_json::from_str::<serde_json::Value>(&body) {
            prop_assert!(verify_id_token(&token, &parse_jwks(&document), "https://id.example.com", "c", "n", NOW).is_err());
            let _ = shared::partners::smartme::client::parse_user(&document);
            let _ = shared::partners::smartme::client::parse_devices(&document);
        }
        if let Ok(tokens) = shared::partners::smartme::oauth::parse_token_answer(status, body.as_bytes()) {
            prop_assert!((200..300).contains(&status) && !tokens.access_token.is_empty());
        }
        for secure in [true, false] {
            if let Some(value) = shared::identity::upstream::pending::cookie_value(&body, secure) {
                prop_assert!(body.contains(value));
            }
        }
    }
}
