//! Password hashes: Argon2id with the crate's defaults (RFC 9106 / OWASP: 19 MiB, 2 passes, 1 lane), stored as PHC
//! strings so parameters can be raised later without breaking existing hashes.

use argon2::{Argon2, Params, PasswordHasher, PasswordVerifier};

/// Shortest and longest password `user add` accepts (bytes); the upper bound keeps hashing cost bounded.
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 1024;

/// A hash of a password nobody knows, with the same parameters as real hashes: checking a login that does not
/// exist costs the same as checking a wrong password, so response time does not tell which logins exist.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c3dpdGNoeWFyZC1kZWNveQ$TrEKAoBbhbQjeFZl5Ir3m6Yd1ZCzJ9Vd1ZPpZKGpOs8";

/// Why a password cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("a password has {MIN_LEN} to {MAX_LEN} bytes")]
    Length,
    #[error("the password could not be hashed")]
    Hashing,
}

/// The PHC string of an Argon2id hash of `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if !(MIN_LEN..=MAX_LEN).contains(&password.len()) {
        return Err(PasswordError::Length);
    }
    let salt_bytes: [u8; 16] = rand::random();
    hasher()
        .hash_password_with_salt(password.as_bytes(), &salt_bytes)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// Whether `password` matches `stored` (a PHC string); with `None` (no such user) it checks against the decoy so
/// the time spent is the same, and answers false. The digest comparison inside argon2 is constant time.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let (phc, real) = match stored {
        Some(phc) => (phc, true),
        None => (DECOY_HASH, false),
    };
    // Oversized input is refused only after the same work, so length does not shortcut the timing either.
    let candidate = if password.len() > MAX_LEN { &password.as_bytes()[..MAX_LEN] } else { password.as_bytes() };
    let matched = hasher().verify_password(candidate, phc).is_ok();
    matched && real && password.len() <= MAX_LEN
}

fn hasher() -> Argon2<'static> {
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, Params::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let first = hash("correct horse battery").unwrap();
        let second = hash("correct horse battery").unwrap();
        assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        assert!(verify("correct horse battery", Some(&first)));
        assert!(!verify("correct horse batterY", Some(&first)));
        assert!(!verify("", Some(&first)));
    }

    #[test]
    fn unknown_users_never_verify_and_the_decoy_costs_a_real_hash() {
        assert!(!verify("anything", None));
        let decoy = argon2::password_hash::phc::PasswordHash::new(DECOY_HASH).unwrap();
        let params = Params::try_from(&decoy).unwrap();
        let real = Params::default();
        let cost = |p: &Params| (p.m_cost(), p.t_cost(), p.p_cost());
        assert_eq!(cost(&params), cost(&real), "the decoy must cost what a real hash costs");
        assert_eq!(decoy.hash.map(|h| h.len()), Some(Params::DEFAULT_OUTPUT_LEN));
        assert_eq!(decoy.algorithm.as_str(), "argon2id");
    }

    #[test]
    fn length_limits() {
        assert_eq!(hash("short"), Err(PasswordError::Length));
        assert_eq!(hash(&"x".repeat(MAX_LEN + 1)), Err(PasswordError::Length));
        let stored = hash(&"x".repeat(MAX_LEN)).unwrap();
        assert!(verify(&"x".repeat(MAX_LEN), Some(&stored)));
        assert!(!verify(&"x".repeat(MAX_LEN + 1), Some(&stored)), "longer input never matches a truncation");
    }
}
