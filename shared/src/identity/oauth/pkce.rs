//! Proof Key for Code Exchange (RFC 7636), method S256 only: `plain` offers no protection once the authorization
//! request is observed, so it is refused.

use crate::crypto::{constant_time_eq, sha256, to_base64url};

/// Whether `challenge` can be an S256 challenge: base64url without padding of a SHA-256 digest (43 characters).
pub fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` is a well-formed code verifier: 43 to 128 unreserved characters (RFC 7636 section 4.1).
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A fresh code verifier (32 random bytes, base64url: 43 characters), for our own requests to an upstream.
pub fn new_verifier() -> String {
    crate::crypto::random_token(32)
}

/// The S256 challenge of `verifier`.
pub fn challenge_of(verifier: &str) -> String {
    to_base64url(&sha256(verifier.as_bytes()))
}

/// Whether `verifier` is well formed and hashes to `challenge`, compared in constant time.
pub fn verifies(verifier: &str, challenge: &str) -> bool {
    valid_verifier(verifier) && constant_time_eq(challenge_of(verifier).as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(challenge_of(verifier), challenge);
        assert!(valid_challenge(challenge) && valid_verifier(verifier));
        assert!(verifies(verifier, challenge));
        assert!(!verifies("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", challenge));
        assert!(!verifies("short", &challenge_of("short")), "short verifiers are malformed even if they hash right");
        let fresh = new_verifier();
        assert!(valid_verifier(&fresh) && verifies(&fresh, &challenge_of(&fresh)) && fresh != new_verifier());
    }

    proptest! {
        #[test]
        fn every_valid_verifier_has_a_valid_challenge(verifier in "[A-Za-z0-9._~-]{43,128}") {
            prop_assert!(valid_verifier(&verifier));
            let challenge = challenge_of(&verifier);
            prop_assert!(valid_challenge(&challenge));
            prop_assert!(verifies(&verifier, &challenge));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = valid_verifier(&text);
            let _ = valid_challenge(&text);
            let _ = verifies(&text, &text);
        }
    }
}
