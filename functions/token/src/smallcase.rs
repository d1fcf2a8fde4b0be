//! `POST /smallcase/token`, `POST /smallcase/transaction` and `GET /smallcase/transaction/{transactionId}`, for
//! users holding our access token, and their CORS preflights.

use crate::TokenFunction;
use lambda_http::http::StatusCode;
use serde_json::json;
use shared::edge::bearer;
use shared::edge::error::{ApiError, ErrorEnvelope};
use shared::edge::handler::{self, Body, Request, Response};
use shared::edge::routes::SmallcaseEndpoint;
use shared::partners::smallcase::transaction;

/// The smallcase routes of the token function, once admitted.
pub async fn route(function: &TokenFunction, request: &Request, endpoint: SmallcaseEndpoint) -> Response<Body> {
    if endpoint == SmallcaseEndpoint::Preflight {
        return function.smallcase_cors.preflight(request);
    }
    let verifier = &function.smallcase.verifier;
    let claims = match bearer::authenticate(verifier, &function.deps, request, ErrorEnvelope::Plain).await {
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
            Err(refused) => return handler::error(ErrorEnvelope::Plain, &refused),
        },
        SmallcaseEndpoint::ReadTransaction => {
            let id = request.uri().path().trim_start_matches("/smallcase/transaction/");
            smallcase.transaction_status(user, id).await.map(|view| json!(view))
        }
    };
    match answer {
        Ok(body) => handler::no_store(handler::json(StatusCode::OK, &body)),
        Err(error) => handler::error(ErrorEnvelope::Plain, &error.into()),
    }
}

fn transaction_body(request: &Request) -> Result<&[u8], ApiError> {
    if !handler::content_type_is(request, "application/json") {
        return Err(ApiError::unsupported_media_type("application/json"));
    }
    handler::body_within(request, transaction::MAX_BODY)
}
