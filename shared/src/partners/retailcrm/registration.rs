//! The registration request the CRM sends when a user presses Connect, and its token check.

use crate::codec::{Form, FormError};
use crate::crypto;

/// A registration request: the API key the CRM generated for the module, the CRM's address, and the token.
#[derive(Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    pub token: String,
    pub api_key: String,
    pub system_url: String,
}

impl std::fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterRequest").field("system_url", &self.system_url).finish_non_exhaustive()
    }
}

/// Why a registration request is malformed (the message is shown to the CRM user).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("{0}")]
    Form(#[from] FormError),
    #[error("the `register` field is not a JSON object with string fields token, apiKey and systemUrl")]
    BadJson,
    #[error("send either the `register` JSON field or `register[...]` fields, not both")]
    BothShapes,
    #[error("field `register[{0}]` is missing or empty")]
    Missing(&'static str),
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonShape {
    token: Option<String>,
    api_key: Option<String>,
    system_url: Option<String>,
}

impl RegisterRequest {
    /// Reads both shapes the CRM may send: `register=<JSON>` (the official clients) and `register[token]=...`
    /// bracket fields (the documentation's notation).
    pub fn from_form(form: &Form) -> Result<Self, RequestError> {
        let json = form.get("register")?;
        let brackets = form.group("register")?;
        let (token, api_key, system_url) = match (json, brackets.is_empty()) {
            (Some(_), false) => return Err(RequestError::BothShapes),
            (Some(text), true) => {
                let shape: JsonShape = serde_json::from_str(text).map_err(|_| RequestError::BadJson)?;
                (shape.token, shape.api_key, shape.system_url)
            }
            (None, _) => {
                let mut brackets = brackets;
                (brackets.remove("token"), brackets.remove("apiKey"), brackets.remove("systemUrl"))
            }
        };
        let required = |value: Option<String>, name: &'static str| {
            value.filter(|v| !v.trim().is_empty()).ok_or(RequestError::Missing(name))
        };
        Ok(Self {
            token: required(token, "token")?,
            api_key: required(api_key, "apiKey")?,
            system_url: required(system_url, "systemUrl")?,
        })
    }

    /// Whether `token` is the HMAC-SHA256 of the API key under the module secret, compared in constant time.
    pub fn token_is_valid(&self, module_secret: &[u8]) -> bool {
        // The CRM sends lowercase hex (PHP's hash_hmac); a token that is not hex cannot match.
        match crypto::from_hex(self.token.trim()) {
            Some(tag) => crypto::verify_hmac_sha256(module_secret, &[self.api_key.as_bytes()], &tag),
            None => false,
        }
    }
}

/// The token the CRM computes for `api_key` (for tests and the fake CRM).
pub fn token_for(module_secret: &[u8], api_key: &str) -> String {
    crypto::to_hex(&crypto::hmac_sha256(module_secret, &[api_key.as_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn form(body: &str) -> Form {
        Form::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn reads_the_json_shape() {
        let json = r#"{"token":"ab","apiKey":"key","systemUrl":"https://x.retailcrm.ru"}"#;
        let body = crate::codec::form::encode([("register", json)]);
        let request = RegisterRequest::from_form(&form(&body)).unwrap();
        assert_eq!(request.api_key, "key");
        assert_eq!(request.system_url, "https://x.retailcrm.ru");
        assert_eq!(request.token, "ab");
    }

    #[test]
    fn reads_the_bracket_shape() {
        let body =
            "register%5Btoken%5D=ab&register%5BapiKey%5D=key&register%5BsystemUrl%5D=https%3A%2F%2Fx.retailcrm.ru";
        let request = RegisterRequest::from_form(&form(body)).unwrap();
        assert_eq!(request.api_key, "key");
        assert_eq!(request.system_url, "https://x.retailcrm.ru");
    }

    #[test]
    fn refuses_missing_mixed_and_malformed() {
        assert_eq!(RegisterRequest::from_form(&form("")).unwrap_err(), RequestError::Missing("token"));
        assert_eq!(
            RegisterRequest::from_form(&form("register[token]=a&register[apiKey]=b")).unwrap_err(),
            RequestError::Missing("systemUrl")
        );
        assert_eq!(RegisterRequest::from_form(&form("register=[1]")).unwrap_err(), RequestError::BadJson);
        assert_eq!(
            RegisterRequest::from_form(&form("register={}&register[token]=a")).unwrap_err(),
            RequestError::BothShapes
        );
        assert!(matches!(
            RegisterRequest::from_form(&form("register[token]=a&register[token]=b")).unwrap_err(),
            RequestError::Form(FormError::Duplicate(_))
        ));
    }

    #[test]
    fn token_is_the_hmac_of_the_api_key() {
        // PHP: hash_hmac('sha256', 'api-key', 'secret')
        let token = token_for(b"secret", "api-key");
        // Computed independently: python3 -c "import hmac,hashlib;print(hmac.new(b'secret',b'api-key',hashlib.sha256).hexdigest())"
        assert_eq!(token, "e757b68b52a38af45723dae04ea255b416e82ebc9de674cf18f3966131daaed5");
        let request = RegisterRequest { token: token.clone(), api_key: "api-key".into(), system_url: String::new() };
        assert!(request.token_is_valid(b"secret"));
        assert!(!request.token_is_valid(b"other secret"));
        let other_key = RegisterRequest { api_key: "api-key-2".into(), ..request.clone() };
        assert!(!other_key.token_is_valid(b"secret"));
        let not_hex = RegisterRequest { token: "zz".into(), ..request };
        assert!(!not_hex.token_is_valid(b"secret"));
    }

    #[test]
    fn debug_hides_token_and_key() {
        let request = RegisterRequest { token: "tok".into(), api_key: "k3y".into(), system_url: "https://x".into() };
        let shown = format!("{request:?}");
        assert!(!shown.contains("tok") && !shown.contains("k3y"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(body in "[a-zA-Z0-9%\\[\\]=&{}\":,]{0,120}") {
            if let Ok(form) = Form::parse(body.as_bytes()) {
                let _ = RegisterRequest::from_form(&form);
            }
        }
    }
}
