//! `POST /smallcase/token`, `POST /smallcase/transaction` and `GET /smallcase/transaction/{transactionId}`, for
//! users holding our access token, and their CORS preflights.

use crate::{TokenFunction, content_type_is, no_store};
use lambda_http::http::{HeaderValue, StatusCode, header};
use serde_json::json;
use shared::codec::{ApiError, ErrorEnvelope};
use shared::edge::http::{self, Body, Request, Response};
use shared::edge::routes::Route;
use shared::identity::oauth::access_token::bearer;
use shared::identity::oauth::{AccessClaims, TokenError};
use shared::partners::smallcase::{
    self as partner, ReconcileError, RecordedTransaction, SmallcaseSecret, auth_token, transaction,
};

/// The smallcase routes of the token function, once admitted.
pub async fn route(function: &TokenFunction, request: &Request, route: Route) -> Response<Body> {
    match (route.method, route.path) {
        ("OPTIONS", _) => function.smallcase_cors.preflight(request),
        ("POST", "/smallcase/token") => auth_token(function, request).await,
        ("POST", _) => transaction(function, request).await,
        _ => {
            let id = request.uri().path().trim_start_matches("/smallcase/transaction/");
            transaction_status(function, request, id).await
        }
    }
}

fn unavailable(what: &str) -> ApiError {
    ApiError::unavailable(format!("{what} is unavailable; try again"))
}

/// The caller's verified claims, or the RFC 6750 answer.
async fn authenticate(function: &TokenFunction, request: &Request) -> Result<AccessClaims, Response<Body>> {
    let token = http::header_str(request, "authorization").and_then(bearer);
    let verified = function.smallcase_verifier.verify(&function.deps, token, function.now()).await;
    verified.map_err(|error| {
        if error == TokenError::Unavailable {
            return http::error(ErrorEnvelope::Plain, &unavailable("token verification"));
        }
        tracing::info!(%error, "smallcase call without a valid token");
        let mut response = http::error(
            ErrorEnvelope::Plain,
            &ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", error.to_string()),
        );
        let challenge = if error == TokenError::Missing {
            "Bearer realm=\"switchyard\""
        } else {
            "Bearer realm=\"switchyard\", error=\"invalid_token\""
        };
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        response
    })
}

/// The user's smallcaseAuthToken (guest or connected), its expiry, and the smallcaseAuthId it carries.
async fn user_token(
    function: &TokenFunction,
    secret: &SmallcaseSecret,
    user_id: &str,
) -> Result<(String, i64, Option<String>), ApiError> {
    let auth_id = partner::connected_auth_id(function.deps.store.as_ref(), user_id).await.map_err(|error| {
        tracing::error!(%error, "smallcase connection not readable");
        unavailable("the user store")
    })?;
    let now = function.now();
    let token = auth_token::sign(&secret.secret, auth_id.as_deref(), now, function.smallcase_token_ttl_s);
    Ok((token, now + function.smallcase_token_ttl_s, auth_id))
}

async fn load_secret(function: &TokenFunction) -> Result<SmallcaseSecret, ApiError> {
    SmallcaseSecret::load(function.deps.secrets.as_ref()).await.map_err(|error| {
        tracing::error!(%error, "smallcase secret unavailable");
        unavailable("the smallcase configuration")
    })
}

pub async fn auth_token(function: &TokenFunction, request: &Request) -> Response<Body> {
    let claims = match authenticate(function, request).await {
        Ok(claims) => claims,
        Err(response) => return response,
    };
    let answer = async {
        let secret = load_secret(function).await?;
        user_token(function, &secret, &claims.sub).await
    };
    match answer.await {
        Ok((token, expires_at, _)) => no_store(http::json(
            StatusCode::OK,
            &json!({"smallcaseAuthToken": token, "expiresAt": shared::ports::clock::rfc3339(expires_at)}),
        )),
        Err(error) => http::error(ErrorEnvelope::Plain, &error),
    }
}

pub async fn transaction(function: &TokenFunction, request: &Request) -> Response<Body> {
    let claims = match authenticate(function, request).await {
        Ok(claims) => claims,
        Err(response) => return response,
    };
    match create(function, request, &claims).await {
        Ok(body) => no_store(http::json(StatusCode::OK, &body)),
        Err(error) => http::error(ErrorEnvelope::Plain, &error),
    }
}

async fn create(
    function: &TokenFunction,
    request: &Request,
    claims: &AccessClaims,
) -> Result<serde_json::Value, ApiError> {
    if !content_type_is(request, "application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be application/json",
        ));
    }
    let body = http::body_within(request, transaction::MAX_BODY)?;
    let parsed = transaction::parse(body).map_err(ApiError::bad_request)?;
    let secret = load_secret(function).await?;
    let (token, _, created_as) = user_token(function, &secret, &claims.sub).await?;
    let created = function.gateway.create_transaction(&secret, &token, &parsed).await.map_err(|error| {
        tracing::warn!(%error, intent = parsed.intent, "smallcase transaction not created");
        ApiError::new(StatusCode::BAD_GATEWAY, "gateway_error", error.to_string())
    })?;
    let record = RecordedTransaction {
        transaction_id: created.transaction_id.clone(),
        user_id: claims.sub.clone(),
        intent: parsed.intent.clone(),
        created_as,
        status: None,
        connected: false,
    };
    partner::record_transaction(function.deps.store.as_ref(), &record, function.now()).await.map_err(|error| {
        tracing::error!(%error, "smallcase transaction not recorded");
        unavailable("the transaction store")
    })?;
    tracing::info!(intent = parsed.intent, user_id = claims.sub, "smallcase transaction created");
    Ok(json!({"transactionId": created.transaction_id, "smallcaseAuthToken": token}))
}

/// `GET /smallcase/transaction/{transactionId}`: the transaction re-read from the Gateway, connecting its creator
/// when the Gateway says it completed (CONNECT sends no postback: the app calls this once the Gateway SDK is done).
/// Another user's transaction, or one we did not create, is not found.
pub async fn transaction_status(function: &TokenFunction, request: &Request, transaction_id: &str) -> Response<Body> {
    let claims = match authenticate(function, request).await {
        Ok(claims) => claims,
        Err(response) => return response,
    };
    let answer = async {
        let not_found = || ApiError::not_found("no such transaction");
        if !partner::postback::valid_transaction_id(transaction_id) {
            return Err(not_found());
        }
        let store = function.deps.store.as_ref();
        let record = match partner::recorded(store, transaction_id).await {
            Ok(Some(record)) if record.user_id == claims.sub => record,
            Ok(_) => return Err(not_found()),
            Err(error) => {
                tracing::error!(%error, "smallcase transaction not readable");
                return Err(unavailable("the transaction store"));
            }
        };
        let secret = load_secret(function).await?;
        partner::reconcile(store, &function.gateway, &secret, &record, function.now()).await.map_err(|error| {
            tracing::warn!(%error, transaction_id, "smallcase transaction not re-read");
            match error {
                ReconcileError::Gateway(e) if e.is_transient() => unavailable("the smallcase Gateway"),
                ReconcileError::Store(_) => unavailable("the transaction store"),
                other => ApiError::new(StatusCode::BAD_GATEWAY, "gateway_error", other.to_string()),
            }
        })
    };
    match answer.await {
        Ok(view) => no_store(http::json(StatusCode::OK, &json!(view))),
        Err(error) => http::error(ErrorEnvelope::Plain, &error),
    }
}
