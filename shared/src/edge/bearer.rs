//! RFC 6750 at the edge: a protected route's caller authenticated by the access token in its `Authorization`
//! header, or answered as section 3.1 says (401 `invalid_token` with its challenge, 403 `insufficient_scope`
//! naming the scope, 503 when tokens cannot be checked); a linking partner's caller (Sber) as that partner is
//! answered.

use crate::edge::error::{ApiError, ErrorEnvelope};
use crate::edge::handler::{self, Body, Request, Response};
use crate::identity::oauth::access_token::bearer;
use crate::identity::oauth::{AccessClaims, AccessVerifier, TokenError};
use crate::ports::Deps;
use http::{HeaderValue, StatusCode, header};

/// The caller's verified claims, or the answer (in `envelope`) for a caller without a valid token.
pub async fn authenticate(
    verifier: &AccessVerifier,
    deps: &Deps,
    request: &Request,
    envelope: ErrorEnvelope,
) -> Result<AccessClaims, Response<Body>> {
    let token = token_in(request, None);
    let verified = verifier.verify(deps, token.as_deref(), deps.clock.now()).await;
    verified.map_err(|error| refusal(&error, verifier.required_scope.as_deref(), envelope))
}

/// The user a linking partner calls for (Sber), by `token`: 401 for a missing or invalid token, 403 for a user no
/// longer linked with the partner or a token without the scope, 503 when tokens cannot be checked. `unlinking`
/// verifies as [`AccessVerifier::verify_unlinking`] does.
pub async fn authenticate_linked(
    verifier: &AccessVerifier,
    deps: &Deps,
    token: Option<&str>,
    unlinking: bool,
) -> Result<AccessClaims, ApiError> {
    let verified = match unlinking {
        true => verifier.verify_unlinking(deps, token).await,
        false => verifier.verify(deps, token, deps.clock.now()).await,
    };
    verified.map_err(|error| match error {
        TokenError::Unavailable => ApiError::unavailable("authorization cannot be checked right now; try again"),
        TokenError::NotLinked | TokenError::InsufficientScope => {
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", error.to_string())
        }
        other => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", other.to_string()),
    })
}

/// The access token of `request`: `Authorization: Bearer`, else the query parameter `query_param` when a partner
/// sends it there (Sber's "in parameters").
pub fn token_in(request: &Request, query_param: Option<&str>) -> Option<String> {
    if let Some(token) = handler::header_str(request, "authorization").and_then(bearer) {
        return Some(token.to_owned());
    }
    let name = query_param?;
    let query = handler::query_form(request).ok()?;
    query.get(name).ok().flatten().filter(|t| !t.is_empty()).map(str::to_owned)
}

/// The answer to a token refused with `error`, where `required_scope` is what the route asks for.
pub fn refusal(error: &TokenError, required_scope: Option<&str>, envelope: ErrorEnvelope) -> Response<Body> {
    if *error == TokenError::Unavailable {
        return handler::error(envelope, &ApiError::unavailable("token verification is unavailable; try again"));
    }
    tracing::info!(%error, "call without a valid token");
    let (status, code) = match error {
        TokenError::InsufficientScope => (StatusCode::FORBIDDEN, "insufficient_scope"),
        _ => (StatusCode::UNAUTHORIZED, "invalid_token"),
    };
    let mut response = handler::error(envelope, &ApiError::new(status, code, error.to_string()));
    let challenge = match (error, required_scope) {
        (TokenError::Missing, _) => "Bearer realm=\"switchyard\"".to_owned(),
        (TokenError::InsufficientScope, Some(scope)) => {
            format!("Bearer realm=\"switchyard\", error=\"insufficient_scope\", scope=\"{scope}\"")
        }
        _ => "Bearer realm=\"switchyard\", error=\"invalid_token\"".to_owned(),
    };
    if let Ok(challenge) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}
