//! Webhook verifiers: every public vector in `testdata/webhooks/signatures.json`, and for each scheme the cases a
//! receiver must get right (valid, tampered body and timestamp, wrong and rotated secrets, stale and future
//! timestamps, malformed headers).

use http::{HeaderMap, HeaderName, HeaderValue};
use shared::crypto::{hmac_sha256, to_base64, to_hex};
use shared::partners::webhooks::{Scheme, SigningKeys, WebhookError, verify};

fn headers(pairs: &[(&str, String)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| {
            (HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap())
        })
        .collect()
}

#[test]
fn every_public_vector() {
    let path = testkit::workspace_root().join("testdata/webhooks/signatures.json");
    let vectors: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(!vectors.is_empty());
    for vector in vectors {
        let scheme: Scheme = serde_json::from_value(vector["scheme"].clone()).unwrap();
        let keys = SigningKeys::new(scheme, &[vector["secret"].as_str().unwrap().to_owned()]).unwrap();
        let pairs: Vec<(&str, String)> = vector["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap().to_owned()))
            .collect();
        let result = verify(
            scheme,
            &keys,
            300,
            &headers(&pairs),
            vector["body"].as_str().unwrap().as_bytes(),
            vector["now"].as_i64().unwrap(),
        );
        assert_eq!(result.is_ok(), vector["valid"].as_bool().unwrap(), "{}: {result:?}", vector["source"]);
    }
}

const NOW: i64 = 1_795_374_238;
const BODY: &[u8] = br#"{"id":"evt_1","event":"device.alarm"}"#;

/// What a sender of `scheme` sends for `body` at `t`, signed with `secret`.
fn signed(scheme: Scheme, secret: &str, t: i64, body: &[u8]) -> HeaderMap {
    let ts = t.to_string();
    match scheme {
        Scheme::Schurter => {
            let mac = hmac_sha256(secret.as_bytes(), &[ts.as_bytes(), b".", body]);
            headers(&[("x-signature", format!("v=1;t={ts};sig={}", to_hex(&mac)))])
        }
        Scheme::StandardWebhooks => {
            let key = shared::crypto::from_base64(secret.trim_start_matches("whsec_")).unwrap();
            let mac = hmac_sha256(&key, &[b"msg_1.", ts.as_bytes(), b".", body]);
            headers(&[
                ("webhook-id", "msg_1".into()),
                ("webhook-timestamp", ts),
                ("webhook-signature", format!("v1,{}", to_base64(&mac))),
            ])
        }
        Scheme::Stripe => {
            let mac = hmac_sha256(secret.as_bytes(), &[ts.as_bytes(), b".", body]);
            headers(&[("stripe-signature", format!("t={ts},v1={}", to_hex(&mac)))])
        }
        Scheme::Github => {
            let mac = hmac_sha256(secret.as_bytes(), &[body]);
            headers(&[("x-hub-signature-256", format!("sha256={}", to_hex(&mac))), ("x-github-delivery", "d-1".into())])
        }
        Scheme::Slack => {
            let mac = hmac_sha256(secret.as_bytes(), &[b"v0:", ts.as_bytes(), b":", body]);
            headers(&[("x-slack-signature", format!("v0={}", to_hex(&mac))), ("x-slack-request-timestamp", ts)])
        }
        Scheme::Smallcase => HeaderMap::new(),
    }
}

const TIMED: [Scheme; 4] = [Scheme::Schurter, Scheme::StandardWebhooks, Scheme::Stripe, Scheme::Slack];
const ALL_HEADER_SCHEMES: [Scheme; 5] =
    [Scheme::Schurter, Scheme::StandardWebhooks, Scheme::Stripe, Scheme::Github, Scheme::Slack];
const CURRENT: &str = "whsec_Y3VycmVudC1zZWNyZXQtZm9yLXRlc3Rz";
const PREVIOUS: &str = "whsec_cHJldmlvdXMtc2VjcmV0LWZvci10ZXN0cw==";

fn keys(scheme: Scheme, secrets: &[&str]) -> SigningKeys {
    SigningKeys::new(scheme, &secrets.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
}

#[test]
fn valid_rotated_and_wrong_secrets() {
    for scheme in ALL_HEADER_SCHEMES {
        let both = keys(scheme, &[CURRENT, PREVIOUS]);
        let current_only = keys(scheme, &[CURRENT]);
        assert!(verify(scheme, &both, 300, &signed(scheme, CURRENT, NOW, BODY), BODY, NOW).is_ok(), "{scheme:?}");
        assert!(
            verify(scheme, &both, 300, &signed(scheme, PREVIOUS, NOW, BODY), BODY, NOW).is_ok(),
            "{scheme:?} rotated"
        );
        assert_eq!(
            verify(scheme, &current_only, 300, &signed(scheme, PREVIOUS, NOW, BODY), BODY, NOW),
            Err(WebhookError::NoMatchingSignature),
            "{scheme:?}"
        );
    }
}

#[test]
fn tampered_body_and_timestamp_fail() {
    for scheme in ALL_HEADER_SCHEMES {
        let k = keys(scheme, &[CURRENT]);
        let headers = signed(scheme, CURRENT, NOW, BODY);
        assert_eq!(
            verify(scheme, &k, 300, &headers, b"{\"id\":\"evt_2\"}", NOW),
            Err(WebhookError::NoMatchingSignature),
            "{scheme:?}"
        );
    }
    for scheme in TIMED {
        let k = keys(scheme, &[CURRENT]);
        let mut headers = signed(scheme, CURRENT, NOW, BODY);
        let (name, value) = headers
            .iter()
            .find(|(_, v)| v.to_str().unwrap().contains(&NOW.to_string()))
            .map(|(n, v)| (n.clone(), v.to_str().unwrap().replace(&NOW.to_string(), &(NOW + 1).to_string())))
            .unwrap();
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
        assert_eq!(verify(scheme, &k, 300, &headers, BODY, NOW), Err(WebhookError::NoMatchingSignature), "{scheme:?}");
    }
}

#[test]
fn stale_and_future_timestamps_fail_after_the_mac() {
    for scheme in TIMED {
        let k = keys(scheme, &[CURRENT]);
        for t in [NOW - 301, NOW + 301] {
            assert_eq!(
                verify(scheme, &k, 300, &signed(scheme, CURRENT, t, BODY), BODY, NOW),
                Err(WebhookError::TimestampOutsideTolerance),
                "{scheme:?}"
            );
        }
        assert!(verify(scheme, &k, 300, &signed(scheme, CURRENT, NOW - 300, BODY), BODY, NOW).is_ok());
        // A stale delivery with a wrong MAC is reported as a wrong MAC: the MAC is checked first.
        assert_eq!(
            verify(scheme, &k, 300, &signed(scheme, PREVIOUS, NOW - 999, BODY), BODY, NOW),
            Err(WebhookError::NoMatchingSignature)
        );
    }
}

#[test]
fn malformed_headers_are_named() {
    type Case = (Scheme, &'static [(&'static str, &'static str)], &'static str);
    let cases: [Case; 9] = [
        (Scheme::Schurter, &[], "header x-signature is missing"),
        (
            Scheme::Schurter,
            &[("x-signature", "v=2;t=1;sig=00")],
            "header x-signature is malformed: only v=1 is supported",
        ),
        (Scheme::Schurter, &[("x-signature", "v=1;sig=00")], "header x-signature is malformed: t is missing"),
        (
            Scheme::Schurter,
            &[("x-signature", "v=1;t=1;sig=!!")],
            "header x-signature is malformed: sig is neither hex nor base64",
        ),
        (Scheme::Stripe, &[("stripe-signature", "t=1,v0=00")], "header stripe-signature is malformed: no v1 signature"),
        (
            Scheme::Github,
            &[("x-hub-signature-256", "sha1=00")],
            "header x-hub-signature-256 is malformed: expected sha256=<hex>",
        ),
        (
            Scheme::Slack,
            &[("x-slack-request-timestamp", "soon"), ("x-slack-signature", "v0=00")],
            "header x-slack-request-timestamp is malformed: the timestamp is not unix seconds",
        ),
        (
            Scheme::StandardWebhooks,
            &[("webhook-id", "m"), ("webhook-timestamp", "1"), ("webhook-signature", "v1a,xx")],
            "header webhook-signature is malformed: no v1 signature",
        ),
        (Scheme::Smallcase, &[], "the body is malformed: checksum is missing"),
    ];
    for (scheme, pairs, message) in cases {
        let k = keys(scheme, &[CURRENT]);
        let pairs: Vec<(&str, String)> = pairs.iter().map(|(a, b)| (*a, b.to_string())).collect();
        let err = verify(scheme, &k, 300, &headers(&pairs), BODY, NOW).unwrap_err();
        assert_eq!(err.to_string(), message);
        assert!(err.is_malformed());
    }
}

#[test]
fn delivery_ids() {
    let stripe = verify(
        Scheme::Stripe,
        &keys(Scheme::Stripe, &[CURRENT]),
        300,
        &signed(Scheme::Stripe, CURRENT, NOW, BODY),
        BODY,
        NOW,
    )
    .unwrap();
    assert_eq!(stripe.delivery_id, "evt_1");
    let github = verify(
        Scheme::Github,
        &keys(Scheme::Github, &[CURRENT]),
        300,
        &signed(Scheme::Github, CURRENT, NOW, BODY),
        BODY,
        NOW,
    )
    .unwrap();
    // X-GitHub-Delivery is not signed: the signature's SHA-256 is the id, whatever delivery id came with it.
    assert_eq!(github.delivery_id.len(), 64);
    assert_ne!(github.delivery_id, "d-1");
    let mut renamed = signed(Scheme::Github, CURRENT, NOW, BODY);
    renamed.insert("x-github-delivery", "another-id".parse().unwrap());
    let again = verify(Scheme::Github, &keys(Scheme::Github, &[CURRENT]), 300, &renamed, BODY, NOW).unwrap();
    assert_eq!(again.delivery_id, github.delivery_id);
    let a = verify(
        Scheme::Schurter,
        &keys(Scheme::Schurter, &[CURRENT]),
        300,
        &signed(Scheme::Schurter, CURRENT, NOW, BODY),
        BODY,
        NOW,
    )
    .unwrap();
    let b = verify(
        Scheme::Schurter,
        &keys(Scheme::Schurter, &[CURRENT]),
        300,
        &signed(Scheme::Schurter, CURRENT, NOW, BODY),
        BODY,
        NOW,
    )
    .unwrap();
    assert_eq!(a.delivery_id, b.delivery_id, "a replay has the same id (its MAC)");
    assert_eq!(a.delivery_id.len(), 64);
}

#[test]
fn schurter_accepts_base64_and_several_signatures() {
    let k = keys(Scheme::Schurter, &[CURRENT]);
    let mac = hmac_sha256(CURRENT.as_bytes(), &[NOW.to_string().as_bytes(), b".", BODY]);
    let header = format!("v=1;t={NOW};sig={};sig={}", to_hex(&[0u8; 32]), to_base64(&mac));
    assert!(verify(Scheme::Schurter, &k, 300, &headers(&[("x-signature", header)]), BODY, NOW).is_ok());
}

#[test]
fn smallcase_checksum_covers_timestamp_and_auth_id() {
    let api_secret = "smallcase-api-secret";
    let k = keys(Scheme::Smallcase, &[api_secret]);
    let checksum = to_hex(&hmac_sha256(api_secret.as_bytes(), &[b"2026-11-22T19:00:00Z", b"auth-123"]));
    let body = serde_json::json!({"timestamp": "2026-11-22T19:00:00Z", "smallcaseAuthId": "auth-123", "transactionId": "TRX_1", "checksum": checksum});
    let verified = verify(Scheme::Smallcase, &k, 300, &HeaderMap::new(), body.to_string().as_bytes(), NOW).unwrap();
    // What is signed (the MAC's SHA-256), then, by smallcase's delivery rules, the transaction and the status
    // class (none given: OTHER).
    use shared::partners::webhooks::receiver::DeliveryRules;
    let vars = shared::env::Vars::default();
    let gateway = shared::partners::smallcase::client::SmallcaseClient::from_vars(&vars).unwrap();
    let rules = shared::partners::smallcase::postback::PostbackRules { gateway };
    let id = rules.delivery_id(&verified.delivery_id, body.to_string().as_bytes()).unwrap();
    let (signed, rest) = id.split_once('.').unwrap();
    assert_eq!((signed.len(), rest), (64, "TRX_1.OTHER"));
    assert_eq!(signed, verified.delivery_id);
    assert_eq!(verified.timestamp, Some(NOW - 238), "the RFC 3339 timestamp, in seconds");
    let stale = verify(Scheme::Smallcase, &k, 60, &HeaderMap::new(), body.to_string().as_bytes(), NOW);
    assert_eq!(stale, Err(WebhookError::TimestampOutsideTolerance));
    let forged = serde_json::json!({"timestamp": "2026-11-22T19:00:00Z", "smallcaseAuthId": "auth-999", "transactionId": "TRX_1", "checksum": checksum});
    assert_eq!(
        verify(Scheme::Smallcase, &k, 300, &HeaderMap::new(), forged.to_string().as_bytes(), NOW),
        Err(WebhookError::NoMatchingSignature)
    );
}

#[test]
fn keys_never_show_in_debug() {
    let k = keys(Scheme::Github, &["very-secret-key"]);
    assert!(!format!("{k:?}").contains("very-secret-key"));
}
