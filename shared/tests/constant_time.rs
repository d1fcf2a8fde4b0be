//! Which crate call compares each secret, so a change that swaps one for `==` fails here. Timing itself is not
//! measured in tests (that belongs in benchmarks); these are the calls whose constant-time behaviour the crates
//! document:
//!
//! | what is compared | where | call |
//! |---|---|---|
//! | webhook MACs (every scheme), RetailCRM register token | `crypto::verify_hmac_sha256` | `hmac::Mac::verify_slice` (subtle) |
//! | Basic credentials (smart-me), OAuth client secrets, PKCE challenges, CSRF nonce and tag | `crypto::constant_time_eq` | `subtle::ConstantTimeEq::ct_eq` |
//! | user passwords | `users::password::verify` | `argon2::PasswordVerifier::verify_password` (compares hash outputs with subtle) |
//! | access tokens (HS256) | `oauth::access_token::verify_genuine` | `jsonwebtoken::decode` (aws-lc-rs `hmac::verify`, constant time) |
//! | smallcaseAuthTokens the Gateway returns | `smallcase::auth_token::auth_id_of` | `jsonwebtoken::decode` |
//! | authorization codes, refresh tokens | `oauth::grants` | not compared: looked up by their SHA-256 as the key |
//! | upstream sign-ins' browser binding, OIDC nonces | `upstream::pending::take`, `upstream::oidc::verify_id_token` | `crypto::constant_time_eq` |
//! | OIDC ID tokens (asymmetric signatures) | `upstream::oidc::verify_id_token` | `jsonwebtoken::decode` |
//! | sealed grants (AES-256-GCM tags) | `crypto::sealing::SealingKeys::open` | aws-lc-rs `open_in_place` (constant-time tag check) |

use std::path::Path;

fn source(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(path)).unwrap()
}

/// The text of `fn name` in `file`, up to the end of its body (the first line that closes at its indentation).
fn function(file: &str, name: &str) -> String {
    let text = source(file);
    let start = [format!("fn {name}("), format!("fn {name}<")]
        .iter()
        .find_map(|signature| text.find(signature.as_str()))
        .unwrap_or_else(|| panic!("fn {name} in {file}"));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent = text[line_start..start].len() - text[line_start..start].trim_start().len();
    let closing = format!("\n{}}}", " ".repeat(indent));
    let end = text[start..].find(&closing).map_or(text.len(), |i| start + i);
    text[start..end].to_owned()
}

#[test]
fn each_secret_comparison_goes_through_its_constant_time_call() {
    let sites = [
        ("crypto/mod.rs", "verify_hmac_sha256", ".verify_slice("),
        ("crypto/mod.rs", "constant_time_eq", ".ct_eq("),
        ("partners/webhooks/schemes.rs", "matching", "verify_hmac_sha256("),
        ("partners/retailcrm/registration.rs", "token_is_valid", "verify_hmac_sha256("),
        ("codec/basic_auth.rs", "matches", "constant_time_eq("),
        ("identity/oauth/client_auth.rs", "authenticate", "constant_time_eq(expected"),
        ("identity/oauth/pkce.rs", "verifies", "constant_time_eq("),
        ("identity/oauth/csrf.rs", "verify", "constant_time_eq("),
        ("identity/users/password.rs", "verify", ".verify_password("),
        ("identity/oauth/access_token.rs", "verify_genuine", "jsonwebtoken::decode::<"),
        ("identity/oauth/access_token.rs", "verify", "verify_genuine("),
        ("partners/smallcase/auth_token.rs", "auth_id_of", "jsonwebtoken::decode::<"),
        ("identity/upstream/pending.rs", "take", "constant_time_eq("),
        ("identity/upstream/oidc.rs", "verify_id_token", "constant_time_eq("),
        ("identity/upstream/oidc.rs", "verify_id_token", "jsonwebtoken::decode::<"),
        ("crypto/sealing.rs", "open", ".open_in_place("),
    ];
    for (file, name, call) in sites {
        let body = function(file, name);
        assert!(body.contains(call), "{file}: fn {name} must compare with {call}:\n{body}");
    }
    // The primitives answer correctly, lengths included.
    use shared::crypto::{constant_time_eq, hmac_sha256, verify_hmac_sha256};
    assert!(constant_time_eq(b"secret", b"secret") && !constant_time_eq(b"secret", b"secreT"));
    assert!(!constant_time_eq(b"secret", b"secret-longer"));
    let tag = hmac_sha256(b"key", &[b"body"]);
    assert!(verify_hmac_sha256(b"key", &[b"body"], &tag));
    assert!(!verify_hmac_sha256(b"key", &[b"body"], &tag[..31]));
}
