//! HTTP Basic credentials (RFC 7617), parsed and checked in constant time.

use crate::crypto::{constant_time_eq, from_base64};

/// A user name and password from an `Authorization: Basic ...` header. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials").field("username", &self.username).finish_non_exhaustive()
    }
}

impl BasicCredentials {
    /// Parses an `Authorization` header value; `None` unless it is `Basic <base64 of user:password>` in UTF-8.
    pub fn parse(header: &str) -> Option<Self> {
        let (scheme, encoded) = header.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = String::from_utf8(from_base64(encoded.trim())?).ok()?;
        let (username, password) = decoded.split_once(':')?;
        Some(Self { username: username.to_owned(), password: password.to_owned() })
    }

    /// Whether these are `username` and `password`: both compared in constant time, always both.
    pub fn matches(&self, username: &str, password: &str) -> bool {
        let user_ok = constant_time_eq(self.username.as_bytes(), username.as_bytes());
        let password_ok = constant_time_eq(self.password.as_bytes(), password.as_bytes());
        user_ok & password_ok
    }

    /// The header value for these credentials (for clients and tests).
    pub fn header_value(username: &str, password: &str) -> String {
        format!("Basic {}", crate::crypto::to_base64(format!("{username}:{password}").as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_rfc7617_example() {
        let creds = BasicCredentials::parse("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").unwrap();
        assert_eq!(creds.username, "Aladdin");
        assert_eq!(creds.password, "open sesame");
        assert!(creds.matches("Aladdin", "open sesame"));
        assert!(!creds.matches("Aladdin", "open sesame!"));
        assert!(!creds.matches("aladdin", "open sesame"));
        assert!(!format!("{creds:?}").contains("sesame"));
    }

    #[test]
    fn refuses_other_schemes_and_garbage() {
        for bad in ["", "Basic", "Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Basic ***", "Basic bm9jb2xvbg==", "Basic /w=="]
        {
            assert!(BasicCredentials::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(BasicCredentials::parse("basic YTpiOmM=").unwrap().password, "b:c", "only the first colon splits");
    }

    proptest! {
        #[test]
        fn header_round_trips(user in "[^:]{0,20}", password in "\\PC{0,20}") {
            let parsed = BasicCredentials::parse(&BasicCredentials::header_value(&user, &password)).unwrap();
            prop_assert!(parsed.matches(&user, &password));
        }

        #[test]
        fn parse_never_panics(header in "\\PC{0,64}") {
            let _ = BasicCredentials::parse(&header);
        }
    }
}
