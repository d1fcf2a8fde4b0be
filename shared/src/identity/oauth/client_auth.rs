//! Client authentication at the token endpoint (RFC 6749 section 2.3.1): HTTP Basic with form-encoded id and
//! secret, or `client_id` and `client_secret` in the body; exactly one method; public clients send `client_id` only.

use super::error::OAuthError;
use super::settings::{Client, OAuthSettings};
use crate::codec::basic_auth::BasicCredentials;
use crate::codec::form::Form;
use crate::crypto::constant_time_eq;

/// Basic credentials are form-urlencoded before base64 (RFC 6749 section 2.3.1).
fn form_decode(text: &str) -> Option<String> {
    let decoded: String = form_urlencoded::parse(format!("v={text}").as_bytes()).next()?.1.into_owned();
    (!decoded.contains('\u{FFFD}')).then_some(decoded)
}

/// The client the request authenticates as.
pub fn authenticate<'s>(
    settings: &'s OAuthSettings,
    authorization: Option<&str>,
    form: &Form,
) -> Result<&'s Client, OAuthError> {
    let body_id = form.get("client_id").map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let body_secret = form.get("client_secret").map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let (client_id, secret) = match authorization {
        Some(header) => {
            let credentials = BasicCredentials::parse(header)
                .ok_or_else(|| OAuthError::invalid_client("the Authorization header is not valid HTTP Basic"))?;
            let (Some(id), Some(secret)) = (form_decode(&credentials.username), form_decode(&credentials.password))
            else {
                return Err(OAuthError::invalid_client("the Basic credentials are not valid form-encoded UTF-8"));
            };
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not both Basic and client_secret",
                ));
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request("client_id in the body differs from the Basic credentials"));
            }
            (id, Some(secret))
        }
        None => match body_id {
            Some(id) if !id.is_empty() => (id.to_owned(), body_secret.map(str::to_owned)),
            _ => return Err(OAuthError::invalid_client("client authentication is required")),
        },
    };
    let client =
        settings.client(&client_id).ok_or_else(|| OAuthError::invalid_client("unknown client or wrong secret"))?;
    let authenticated = match (&client.client_secret, &secret) {
        (Some(expected), Some(given)) => constant_time_eq(expected.as_bytes(), given.as_bytes()),
        (None, None) => true,
        // A public client with a secret, or a confidential one without: both are misconfigured callers.
        _ => false,
    };
    if authenticated { Ok(client) } else { Err(OAuthError::invalid_client("unknown client or wrong secret")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::oauth::settings::fixtures::{client, settings as with_clients};

    fn settings() -> OAuthSettings {
        with_clients(vec![client("web:1", Some("s3cret+/="), &[], &[]), client("app", None, &[], &[])])
    }

    fn auth(header: Option<&str>, body: &str) -> Result<String, &'static str> {
        let settings = settings();
        authenticate(&settings, header, &Form::parse(body.as_bytes()).unwrap())
            .map(|c| c.client_id.clone())
            .map_err(|e| e.code.as_str())
    }

    #[test]
    fn each_method_and_its_failures() {
        // RFC 6749 section 2.3.1: id and secret are form-encoded inside Basic (":" and "+" escaped).
        let basic = BasicCredentials::header_value("web%3A1", "s3cret%2B%2F%3D");
        assert_eq!(auth(Some(&basic), "grant_type=x"), Ok("web:1".into()));
        assert_eq!(auth(Some(&basic), "client_id=web%3A1"), Ok("web:1".into()));
        assert_eq!(auth(None, "client_id=web%3A1&client_secret=s3cret%2B%2F%3D"), Ok("web:1".into()));
        assert_eq!(auth(None, "client_id=app"), Ok("app".into()));

        let unauthorized = Err("invalid_client");
        assert_eq!(auth(None, "client_id=web%3A1&client_secret=wrong"), unauthorized);
        assert_eq!(auth(None, "client_id=web%3A1"), unauthorized, "confidential client without secret");
        assert_eq!(auth(None, "client_id=app&client_secret=x"), unauthorized, "public client with a secret");
        assert_eq!(auth(None, "client_id=nobody&client_secret=x"), unauthorized);
        assert_eq!(auth(None, "grant_type=x"), unauthorized);
        assert_eq!(auth(Some("Bearer abc"), ""), unauthorized);
        assert_eq!(auth(Some(&BasicCredentials::header_value("web%3A1", "nope")), ""), unauthorized);

        let bad_request = Err("invalid_request");
        assert_eq!(auth(Some(&basic), "client_secret=s3cret%2B%2F%3D"), bad_request, "two methods");
        assert_eq!(auth(Some(&basic), "client_id=app"), bad_request, "two different ids");
        assert_eq!(auth(None, "client_id=app&client_id=app"), bad_request, "repeated parameter");
    }
}
