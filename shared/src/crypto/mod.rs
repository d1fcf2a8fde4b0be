//! HMAC-SHA256 signing and constant-time verification, the text encodings signatures travel in, and sealing
//! (authenticated encryption of credentials we must keep, [`sealing`]).

pub mod sealing;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length in bytes of an HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;

/// Computes HMAC-SHA256 of the concatenation of `parts`, keyed with `key`.
///
/// Taking the message in parts lets verifiers sign `t.body` without copying the body.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; TAG_LEN] {
    let mut mac = new_mac(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Checks `tag` against HMAC-SHA256 of `parts` in constant time (length checked, no early exit on content).
pub fn verify_hmac_sha256(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    let mut mac = new_mac(key);
    for part in parts {
        mac.update(part);
    }
    // `verify_slice` compares with `subtle::ConstantTimeEq` after a public length check.
    mac.verify_slice(tag).is_ok()
}

/// Compares two byte strings in constant time with respect to their contents.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length (long keys are hashed), so this cannot fail.
    <HmacSha256 as hmac::KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Decodes hex (either case); `None` for odd length or a non-hex digit.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok()
}

/// Standard base64 with padding.
pub fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard base64 (padding optional); `None` when malformed.
pub fn from_base64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .ok()
}

/// Decodes URL-safe base64 without padding (JWTs, random tokens); `None` when malformed.
pub fn from_base64url(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()
}

/// URL-safe base64 without padding.
pub fn to_base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A random URL-safe token carrying `bytes` bytes of entropy from the OS generator.
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    // ThreadRng is a CSPRNG seeded from the OS and reseeded periodically.
    rand::rng().fill_bytes(&mut buf);
    to_base64url(&buf)
}

/// SHA-256 of `data`, for storing hashes of bearer secrets (refresh tokens, codes) instead of the secrets.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 test case 2.
    #[test]
    fn hmac_matches_rfc4231() {
        let tag = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(to_hex(&tag), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(verify_hmac_sha256(b"Jefe", &[b"what do ya want for nothing?"], &tag));
    }

    #[test]
    fn verify_rejects_wrong_tag_truncation_and_wrong_key() {
        let tag = hmac_sha256(b"key", &[b"message"]);
        let mut flipped = tag;
        flipped[31] ^= 1;
        assert!(!verify_hmac_sha256(b"key", &[b"message"], &flipped));
        assert!(!verify_hmac_sha256(b"key", &[b"message"], &tag[..16]));
        assert!(!verify_hmac_sha256(b"other", &[b"message"], &tag));
        assert!(!verify_hmac_sha256(b"key", &[b"message"], &[]));
    }

    #[test]
    fn encodings_round_trip_and_reject_garbage() {
        let bytes = [0u8, 1, 0xfe, 0xff];
        assert_eq!(from_hex(&to_hex(&bytes)).unwrap(), bytes);
        assert_eq!(from_hex("00AB").unwrap(), [0, 0xab]);
        assert!(from_hex("abc").is_none());
        assert!(from_hex("zz").is_none());
        assert_eq!(from_base64(&to_base64(&bytes)).unwrap(), bytes);
        assert_eq!(from_base64("AAH+/w").unwrap(), bytes);
        assert!(from_base64("***").is_none());
        assert_eq!(from_base64url(&to_base64url(&bytes)).unwrap(), bytes);
    }

    #[test]
    fn random_tokens_are_url_safe_and_distinct() {
        let a = random_token(16);
        let b = random_token(16);
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn constant_time_eq_checks_length_and_content() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
