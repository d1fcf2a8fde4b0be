//! The edge's one error type: an HTTP status, a stable code and a message, rendered in the error body each
//! partner documents. Use cases report neutral errors; their conversions into this one live here.

use http::StatusCode;
use serde_json::{Value, json};

/// An error to answer with: the HTTP status, a stable machine-readable code and a message a person can act on.
///
/// Messages are written for the caller: they never contain secrets, MACs or expected signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn method_not_allowed(method: &http::Method) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("method {method} is not allowed here"))
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("the body is larger than {limit} bytes"))
    }

    /// A body that is not of the `expected` media type.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", format!("the body must be {expected}"))
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Which partner's error format an endpoint answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorEnvelope {
    /// RetailCRM marketplace: `{"success": false, "errorMsg": "..."}`.
    RetailCrm,
    /// Sber Smart Home: `{"code": 400, "message": "...", "details": []}`.
    Sber,
    /// OAuth 2.0 (RFC 6749 section 5.2): `{"error": "invalid_grant", "error_description": "..."}`.
    OAuth,
    /// Our own endpoints (webhooks, ingest, smallcase): `{"error": "<code>", "message": "..."}`.
    Plain,
}

impl ErrorEnvelope {
    /// The JSON body for `error` in this envelope.
    pub fn body(self, error: &ApiError) -> Value {
        match self {
            Self::RetailCrm => json!({"success": false, "errorMsg": error.message}),
            Self::Sber => {
                json!({"code": error.status.as_u16(), "message": error.message, "details": []})
            }
            Self::OAuth => json!({"error": error.code, "error_description": error.message}),
            Self::Plain => json!({"error": error.code, "message": error.message}),
        }
    }
}

/// An OAuth error answered as RFC 6749 section 5.2 says: 401 for a client that failed to authenticate, 503 while
/// the server cannot answer, 400 otherwise.
impl From<crate::identity::oauth::error::OAuthError> for ApiError {
    fn from(error: crate::identity::oauth::error::OAuthError) -> Self {
        use crate::identity::oauth::error::OAuthErrorCode;
        let status = match error.code {
            OAuthErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, error.code.as_str(), error.description)
    }
}

/// A smallcase Gateway call made for a user, refused or failed, as that user's app is answered.
impl From<crate::partners::smallcase::for_user::UserCallError> for ApiError {
    fn from(error: crate::partners::smallcase::for_user::UserCallError) -> Self {
        use crate::partners::smallcase::for_user::UserCallError;
        match error {
            UserCallError::Unavailable(_) => Self::unavailable(error.to_string()),
            UserCallError::Malformed(message) => Self::bad_request(message),
            UserCallError::NotFound => Self::not_found(error.to_string()),
            UserCallError::Gateway(message) => Self::new(StatusCode::BAD_GATEWAY, "gateway_error", message),
        }
    }
}

/// A Sber call that could not be answered, in Sber's terms.
impl From<crate::partners::sber::calls::CallError> for ApiError {
    fn from(error: crate::partners::sber::calls::CallError) -> Self {
        use crate::partners::sber::calls::CallError;
        match error {
            CallError::Malformed(message) => Self::bad_request(message),
            CallError::Unavailable => Self::unavailable(error.to_string()),
        }
    }
}

/// A webhook delivery not received, as the sender is answered: 404, 400 or 401 (not worth delivering again), or 503.
impl From<crate::partners::webhooks::receiver::ReceiveError> for ApiError {
    fn from(error: crate::partners::webhooks::receiver::ReceiveError) -> Self {
        use crate::partners::webhooks::WebhookError;
        use crate::partners::webhooks::receiver::ReceiveError;
        match error {
            ReceiveError::UnknownSource => Self::not_found("unknown webhook source"),
            ReceiveError::Refused(refused) => {
                let status = if refused.is_malformed() { StatusCode::BAD_REQUEST } else { StatusCode::UNAUTHORIZED };
                let code = match refused {
                    WebhookError::TimestampOutsideTolerance => "stale",
                    WebhookError::NoMatchingSignature => "invalid_signature",
                    _ => "malformed",
                };
                Self::new(status, code, refused.to_string())
            }
            ReceiveError::Unavailable(message) => Self::unavailable(message),
        }
    }
}

/// A smart-me post not stored, as smart-me is answered: 401 for its credentials, 400 for a post with nothing valid
/// in it, 503 when it cannot be checked or stored.
impl From<&crate::partners::smartme::realtime::RealtimeError> for ApiError {
    fn from(error: &crate::partners::smartme::realtime::RealtimeError) -> Self {
        use crate::partners::smartme::realtime::RealtimeError;
        let message = error.to_string();
        match error {
            RealtimeError::Unauthorized => Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message),
            RealtimeError::Invalid(_) | RealtimeError::NoValidItem { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_payload", message)
            }
            RealtimeError::CredentialsUnavailable | RealtimeError::Unconfigured | RealtimeError::NotStored => {
                Self::unavailable(message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_envelope_has_its_partners_shape() {
        let err = ApiError::bad_request("field `x` is missing");
        assert_eq!(ErrorEnvelope::RetailCrm.body(&err), json!({"success": false, "errorMsg": "field `x` is missing"}));
        assert_eq!(
            ErrorEnvelope::Sber.body(&err),
            json!({"code": 400, "message": "field `x` is missing", "details": []})
        );
        assert_eq!(
            ErrorEnvelope::OAuth.body(&err),
            json!({"error": "bad_request", "error_description": "field `x` is missing"})
        );
        assert_eq!(ErrorEnvelope::Plain.body(&err), json!({"error": "bad_request", "message": "field `x` is missing"}));
    }
}
