// Shared body of the per-scheme webhook fuzz targets: `SCHEME` is set by the including target.
use libfuzzer_sys::fuzz_target;
use shared::partners::webhooks::{SigningKeys, verify};

const NAMES: [&str; 12] = [
    "x-signature", "webhook-id", "webhook-timestamp", "webhook-signature", "svix-id", "svix-timestamp",
    "svix-signature", "stripe-signature", "x-hub-signature-256", "x-github-delivery", "x-slack-signature",
    "x-slack-request-timestamp",
];

fuzz_target!(|data: &[u8]| {
    // Header values and the body, separated by NUL bytes.
    let mut parts = data.split(|b| *b == 0);
    let mut headers = http::HeaderMap::new();
    for name in NAMES {
        if let Some(value) = parts.next().and_then(|v| http::HeaderValue::from_bytes(v).ok()) {
            headers.insert(name, value);
        }
    }
    let body = parts.next().unwrap_or_default();
    let keys = SigningKeys::new(SCHEME, &["whsec_dW5ndWVzc2FibGUtZnV6ei1rZXk=".to_owned()]).unwrap();
    let _ = verify(SCHEME, &keys, 300, &headers, body, 1_795_374_238);
    // Slack's URL check is read from the (verified) body: bounded, and taken from the body as sent.
    if let Some(challenge) = shared::partners::webhooks::slack::url_check(body) {
        assert!(!challenge.is_empty() && challenge.len() <= 512);
    }
});
