//! CSRF protection for the login form, without server-side state: a signed double-submit token. The form carries
//! `nonce.expiry.mac`; a `SameSite=Strict` cookie carries the nonce. A cross-site page can neither read our cookie
//! nor make the browser send it with its own POST, so it cannot log a victim in to the attacker's account.

use crate::crypto::{constant_time_eq, from_base64url, hmac_sha256, random_token, to_base64url};

/// The cookie carrying the nonce (`__Host-switchyard_csrf` over HTTPS).
pub const COOKIE: crate::codec::cookie::HostCookie =
    crate::codec::cookie::HostCookie { name: "switchyard_csrf", same_site: "Strict", max_age_s: LIFETIME_S };

/// How long a rendered form stays usable, in seconds.
pub const LIFETIME_S: i64 = 600;

/// What one rendering of the form hands out.
pub struct CsrfPair {
    pub cookie_value: String,
    pub form_token: String,
}

fn mac(key: &[u8], nonce: &str, expiry: &str) -> [u8; 32] {
    // A label keeps these MACs distinct from anything else the OAuth key signs.
    hmac_sha256(key, &[b"switchyard-csrf\0", nonce.as_bytes(), b".", expiry.as_bytes()])
}

/// A fresh pair, valid until `now + LIFETIME_S`.
pub fn issue(key: &[u8], now: i64) -> CsrfPair {
    let nonce = random_token(16);
    let expiry = (now + LIFETIME_S).to_string();
    let form_token = format!("{nonce}.{expiry}.{}", to_base64url(&mac(key, &nonce, &expiry)));
    CsrfPair { cookie_value: nonce, form_token }
}

/// Whether `form_token` was issued by one of `keys`, has not expired, and belongs to the nonce in the cookie.
pub fn verify<'k>(keys: impl IntoIterator<Item = &'k [u8]>, form_token: &str, cookie: Option<&str>, now: i64) -> bool {
    let mut parts = form_token.split('.');
    let (Some(nonce), Some(expiry), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some(tag) = from_base64url(tag) else { return false };
    let cookie_ok = cookie.is_some_and(|c| constant_time_eq(c.as_bytes(), nonce.as_bytes()));
    let fresh = expiry.parse::<i64>().is_ok_and(|e| e > now);
    let signed = keys.into_iter().any(|key| constant_time_eq(&mac(key, nonce, expiry), &tag));
    cookie_ok & fresh & signed
}

/// The `Set-Cookie` value; `secure` when the page was served over HTTPS.
pub fn set_cookie(value: &str, secure: bool) -> String {
    COOKIE.set(value, secure)
}

/// Our cookie's value from a `Cookie` header (`secure`: the request came over HTTPS).
pub fn cookie_value(header: &str, secure: bool) -> Option<&str> {
    COOKIE.value(header, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const OTHER: &[u8] = b"fedcba9876543210fedcba9876543210";

    #[test]
    fn accepts_its_own_pair_only() {
        let pair = issue(KEY, 1_000);
        let cookie = Some(pair.cookie_value.as_str());
        assert!(verify([KEY], &pair.form_token, cookie, 1_000));
        assert!(verify([OTHER, KEY], &pair.form_token, cookie, 1_000), "rotation: any key verifies");
        assert!(!verify([OTHER], &pair.form_token, cookie, 1_000));
        assert!(!verify([KEY], &pair.form_token, None, 1_000), "no cookie");
        assert!(!verify([KEY], &pair.form_token, Some("other-nonce"), 1_000));
        assert!(!verify([KEY], &pair.form_token, cookie, 1_000 + LIFETIME_S), "expired");
        let other = issue(KEY, 1_000);
        assert!(!verify([KEY], &other.form_token, cookie, 1_000), "a token of another cookie");
        let forged = pair.form_token.replacen(&(1_000 + LIFETIME_S).to_string(), "99999999", 1);
        assert!(!verify([KEY], &forged, cookie, 1_000), "extended expiry");
        for junk in ["", "a.b", "a.b.c.d", "a.1.!!!"] {
            assert!(!verify([KEY], junk, cookie, 1_000), "{junk}");
        }
    }

    #[test]
    fn cookie_round_trip() {
        let header = set_cookie("abc", true);
        assert!(header.contains("HttpOnly") && header.contains("SameSite=Strict") && header.ends_with("; Secure"));
        assert!(!set_cookie("abc", false).contains("Secure"));
        assert_eq!(cookie_value("a=1; __Host-switchyard_csrf=abc; b=2", true), Some("abc"));
        assert_eq!(cookie_value("a=1; switchyard_csrf=abc", true), None, "over HTTPS only the __Host- cookie");
        assert_eq!(cookie_value("a=1", false), None);
    }
}
