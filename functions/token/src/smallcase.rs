//! `POST /smallcase/token`, `POST /smallcase/transaction` and `GET /smallcase/transaction/{transactionId}`, for
//! users holding our access token, and their CORS preflights.

use crate::{TokenFunction, content_type_is, no_store};
use lambda_http::http::{HeaderValue, StatusCode, header};
use serde_json::json;
use shared::edge::error::{ApiError, ErrorEnvelope};
use shared::edge::http::{self, Body, Request, Response};
use shared::edge::routes::SmallcaseEndpoint;
use shared::identity::oauth::access_token::bearer;
use shared::identity::oauth::{AccessClaims, TokenError};
use shared::partners::smallcase::for_user::UserCallError;
use shared::partners::smallcase::transaction;

/// The smallcase routes of the token function, once admitted.
pub async fn route(function: &TokenFunction, request: &Request, endpoint: SmallcaseEndpoint) -> Response<Body> {
    if endpoint == SmallcaseEndpoint::Preflight {
        return function.smallcase_cors.preflight(request);
    }
    let claims = match authenticate(function, request).await {
        Ok(claims) => claims,
        Err(response) => return response,
    };
    let user = claims.sub.as_str();
    let smallcase = &function.smallcase;
    let answer = match endpoint {
        SmallcaseEndpoint::Preflight => return function.smallcase_cors.preflight(request),
        SmallcaseEndpoint::AuthToken => smallcase.auth_token(user).await.map(|issued| {
            json!({"smallcaseAuthToken": issued.token, "expiresAt": shared::time_text::rfc3339(issued.expires_at)})
        }),
        SmallcaseEndpoint::CreateTransaction => match transaction_body(request) {
            Ok(body) => smallcase.create_transaction(user, body).await.map(|created| {
                json!({"transactionId": created.transaction_id, "smallcaseAuthToken": created.token.token})
            }),
            Err(refused) => return http::error(ErrorEnvelope::Plain, &refused),
        },
        SmallcaseEndpoint::ReadTransaction => {
            let id = request.uri().path().trim_start_matches("/smallcase/transaction/");
            smallcase.transaction_status(user, id).await.map(|view| json!(view))
        }
    };
    match answer {
        Ok(body) => no_store(http::json(StatusCode::OK, &body)),
        Err(error) => http::error(ErrorEnvelope::Plain, &rendered(error)),
    }
}

fn transaction_body(request: &Request) -> Result<&[u8], ApiError> {
    if !content_type_is(request, "application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be application/json",
        ));
    }
    http::body_within(request, transaction::MAX_BODY)
}

fn rendered(error: UserCallError) -> ApiError {
    match error {
        UserCallError::Unavailable(_) => ApiError::unavailable(error.to_string()),
        UserCallError::Malformed(message) => ApiError::bad_request(message),
        UserCallError::NotFound => ApiError::not_found(error.to_string()),
        UserCallError::Gateway(message) => ApiError::new(StatusCode::BAD_GATEWAY, "gateway_error", message),
    }
}

/// The caller's verified claims, or the RFC 6750 answer.
async fn authenticate(function: &TokenFunction, request: &Request) -> Result<AccessClaims, Response<Body>> {
    let token = http::header_str(request, "authorization").and_then(bearer);
    let verified = function.smallcase_verifier.verify(&function.deps, token, function.now()).await;
    verified.map_err(|error| {
        if error == TokenError::Unavailable {
            return http::error(
                ErrorEnvelope::Plain,
                &ApiError::unavailable("token verification is unavailable; try again"),
            );
        }
        tracing::info!(%error, "smallcase call without a valid token");
        // RFC 6750 section 3.1: a token without the scope is a 403 `insufficient_scope`, anything else a 401.
        let (status, code) = match error {
            TokenError::InsufficientScope => (StatusCode::FORBIDDEN, "insufficient_scope"),
            _ => (StatusCode::UNAUTHORIZED, "invalid_token"),
        };
        let mut response = http::error(ErrorEnvelope::Plain, &ApiError::new(status, code, error.to_string()));
        let challenge = match (&error, &function.smallcase_verifier.required_scope) {
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
    })
}
