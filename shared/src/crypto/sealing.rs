//! Sealing: authenticated encryption of the credentials we must keep to act for a user later (a partner's refresh
//! token). AES-256-GCM under a key derived (HKDF-SHA256) from a key secret the stack owns, with a fresh random
//! nonce per seal and the owner's identity as associated data, so a sealed value moved to another user's item
//! does not open.
//!
//! A sealed value is text: `v1.<kid>.<base64url(nonce || ciphertext || tag)>`. The first key seals, every key
//! opens: to rotate, put a new key first and keep the old ones until every value they sealed was sealed again
//! (grants are sealed again at every refresh).

use super::{from_base64url, to_base64url};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// Shortest key secret accepted (bytes of text): a random string of at least this many characters.
pub const MIN_SECRET_LEN: usize = 32;

const VERSION: &str = "v1";

/// One key: its id and the AES-256 key derived from its secret.
struct SealingKey {
    kid: String,
    key: LessSafeKey,
}

/// The keys of one key secret; the first seals.
pub struct SealingKeys {
    keys: Vec<SealingKey>,
}

impl std::fmt::Debug for SealingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("SealingKeys").field("kids", &kids).finish_non_exhaustive()
    }
}

/// Why keys could not be made, or a value not opened. Messages never carry key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealingError {
    #[error("sealing keys need at least one key, distinct non-empty kids, and secrets of {MIN_SECRET_LEN}+ bytes")]
    BadKeys,
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("the sealed value names a key that is not configured")]
    UnknownKey,
    #[error("the sealed value does not open with its key (altered, or sealed for another owner)")]
    Refused,
}

/// AES-256 from a key secret: HKDF-SHA256 with a fixed salt and an info naming its use, so the same secret text
/// could never yield the key of anything else.
fn derive(secret: &str) -> LessSafeKey {
    use aws_lc_rs::hkdf::{HKDF_SHA256, KeyType, Salt};
    struct Aes256;
    impl KeyType for Aes256 {
        fn len(&self) -> usize {
            32
        }
    }
    let prk = Salt::new(HKDF_SHA256, b"switchyard sealing").extract(secret.as_bytes());
    let mut bytes = [0u8; 32];
    // Expanding 32 bytes from SHA-256 cannot fail (at most 255 blocks).
    if let Ok(okm) = prk.expand(&[b"aes-256-gcm v1"], Aes256) {
        let _ = okm.fill(&mut bytes);
    }
    let unbound = UnboundKey::new(&AES_256_GCM, &bytes).unwrap_or_else(|_| unreachable!("a 32-byte AES-256 key"));
    LessSafeKey::new(unbound)
}

impl SealingKeys {
    /// Keys from `(kid, secret)` pairs; the first seals.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, SealingError> {
        let mut keys: Vec<SealingKey> = Vec::new();
        for (kid, secret) in pairs {
            let valid_kid = !kid.is_empty() && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid_kid || secret.len() < MIN_SECRET_LEN || keys.iter().any(|k| k.kid == kid) {
                return Err(SealingError::BadKeys);
            }
            keys.push(SealingKey { kid: kid.to_owned(), key: derive(secret) });
        }
        if keys.is_empty() {
            return Err(SealingError::BadKeys);
        }
        Ok(Self { keys })
    }

    /// Seals `plaintext` for `owner` (associated data: it opens only for the same owner) under the first key.
    pub fn seal(&self, owner: &str, plaintext: &[u8]) -> String {
        let key = &self.keys[0];
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let mut sealed = plaintext.to_vec();
        let nonce = Nonce::assume_unique_for_key(nonce_bytes);
        // Sealing in place with a 12-byte nonce and a 32-byte key has no failure mode.
        let _ = key.key.seal_in_place_append_tag(nonce, Aad::from(owner.as_bytes()), &mut sealed);
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        format!("{VERSION}.{}.{}", key.kid, to_base64url(&out))
    }

    /// Opens a value [`Self::seal`] made for `owner`.
    pub fn open(&self, owner: &str, sealed: &str) -> Result<Vec<u8>, SealingError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SealingError::Malformed);
        };
        let key = self.keys.iter().find(|k| k.kid == kid).ok_or(SealingError::UnknownKey)?;
        let bytes = from_base64url(body).ok_or(SealingError::Malformed)?;
        if bytes.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(SealingError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealingError::Malformed)?;
        let mut buffer = ciphertext.to_vec();
        let opened = key
            .key
            .open_in_place(nonce, Aad::from(owner.as_bytes()), &mut buffer)
            .map_err(|_| SealingError::Refused)?;
        Ok(opened.to_vec())
    }

    /// Whether `sealed` was sealed with a key other than the current one (worth sealing again).
    pub fn is_stale(&self, sealed: &str) -> bool {
        sealed.split('.').nth(1).is_none_or(|kid| kid != self.keys[0].kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "first-sealing-secret-of-enough-length";
    const TWO: &str = "second-sealing-secret-of-enough-length";

    #[test]
    fn seals_for_one_owner_with_rotation() {
        let old = SealingKeys::new([("k1", ONE)]).unwrap();
        let sealed = old.seal("user-1", b"refresh-token");
        assert!(sealed.starts_with("v1.k1.") && !sealed.contains("refresh-token"));
        assert_eq!(old.open("user-1", &sealed).unwrap(), b"refresh-token");
        assert_eq!(old.open("user-2", &sealed), Err(SealingError::Refused), "another owner's item");
        assert_ne!(old.seal("user-1", b"refresh-token"), sealed, "a fresh nonce each time");

        let rotated = SealingKeys::new([("k2", TWO), ("k1", ONE)]).unwrap();
        assert_eq!(rotated.open("user-1", &sealed).unwrap(), b"refresh-token", "old keys still open");
        assert!(rotated.is_stale(&sealed) && !rotated.is_stale(&rotated.seal("user-1", b"x")));
        assert_eq!(SealingKeys::new([("k2", TWO)]).unwrap().open("user-1", &sealed), Err(SealingError::UnknownKey));
        assert_eq!(SealingKeys::new([("k1", TWO)]).unwrap().open("user-1", &sealed), Err(SealingError::Refused));
    }

    #[test]
    fn refuses_weak_keys_and_malformed_values() {
        assert_eq!(SealingKeys::new([("k", "short")]).unwrap_err(), SealingError::BadKeys);
        assert_eq!(SealingKeys::new([("k", ONE), ("k", TWO)]).unwrap_err(), SealingError::BadKeys);
        assert_eq!(SealingKeys::new([("a.b", ONE)]).unwrap_err(), SealingError::BadKeys);
        assert_eq!(SealingKeys::new(std::iter::empty()).unwrap_err(), SealingError::BadKeys);
        let keys = SealingKeys::new([("k1", ONE)]).unwrap();
        let sealed = keys.seal("u", b"secret");
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(keys.open("u", std::str::from_utf8(&flipped).unwrap()), Err(SealingError::Refused));
        for junk in ["", "v1", "v1.k1", "v2.k1.AAAA", "v1.k1.!!!", "v1.k1.AAAA"] {
            assert!(keys.open("u", junk).is_err(), "{junk}");
        }
        assert!(!format!("{keys:?}").contains(ONE));
    }

    proptest::proptest! {
        #[test]
        fn any_plaintext_round_trips_and_any_text_is_refused_safely(
            plaintext in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
            junk in ".{0,200}",
        ) {
            let keys = SealingKeys::new([("k1", ONE)]).unwrap();
            proptest::prop_assert_eq!(keys.open("owner", &keys.seal("owner", &plaintext)).unwrap(), plaintext);
            proptest::prop_assert!(keys.open("owner", &junk).is_err());
        }
    }
}
