//! RFC 6749's errors (section 5.2) as the authorization server's use cases report them: a code and a description
//! for the client. How each is answered (status, envelope, headers) is the edge's to say.

use super::grants::GrantError;

/// The error codes of RFC 6749 section 5.2 (and `temporarily_unavailable`, section 4.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    TemporarilyUnavailable,
}

impl OAuthErrorCode {
    /// The code as the response's `error` field spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// Why a client got no tokens: the code and a description a developer can act on (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self { code, description: description.into() }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidClient, description)
    }

    pub fn unavailable() -> Self {
        Self::new(OAuthErrorCode::TemporarilyUnavailable, "the authorization server is unavailable; try again")
    }
}

impl From<GrantError> for OAuthError {
    fn from(error: GrantError) -> Self {
        let code = match error {
            GrantError::InvalidGrant(_) => OAuthErrorCode::InvalidGrant,
            GrantError::InvalidScope => OAuthErrorCode::InvalidScope,
            GrantError::Unavailable => OAuthErrorCode::TemporarilyUnavailable,
        };
        Self::new(code, error.to_string())
    }
}
