//! smallcase Gateway routes: guest and connected smallcaseAuthTokens (decoded by an independent HS256 check), and
//! transactions against a fake Gateway that checks both headers, on both stores.

mod common;

use common::*;
use serde_json::{Value, json};
use shared::ports::store::keys;

fn bearer_post(path: &str, token: &str, body: &str) -> lambda_http::Request {
    let mut request = post(path, body, "application/json");
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

async fn app_token(stack: &Stack) -> String {
    stack.link_app().await["access_token"].as_str().unwrap().to_owned()
}

async fn guest_then_connected_tokens(backend: Backend) {
    let stack = stack(backend).await;
    let access = app_token(&stack).await;
    let response = stack.call(bearer_post("/smallcase/token", &access, "")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let answer = json_of(response);
    let token = answer["smallcaseAuthToken"].as_str().unwrap();
    let (header, payload) = decode_hs256(token, SC_SECRET).expect("signed with the smallcase `secret`");
    assert!(decode_hs256(token, SC_API_SECRET).is_none(), "never with the api_secret");
    assert_eq!(header, json!({"typ": "JWT", "alg": "HS256"}));
    let (iat, exp) = (payload["iat"].as_i64().unwrap(), payload["exp"].as_i64().unwrap());
    assert_eq!(payload, json!({"guest": true, "iat": iat, "exp": exp}), "only the documented fields");
    assert_eq!(exp - iat, 86_400, "one day by default");
    assert!((iat - now()).abs() <= 5);
    assert_eq!(answer["expiresAt"], shared::time_text::rfc3339(exp));

    shared::partners::smallcase::connect(stack.admin.as_ref(), &stack.user_id, "SC_AUTH_42", now()).await.unwrap();
    let answer = json_of(stack.call(bearer_post("/smallcase/token", &access, "")).await);
    let (_, payload) = decode_hs256(answer["smallcaseAuthToken"].as_str().unwrap(), SC_SECRET).unwrap();
    let (iat, exp) = (payload["iat"].as_i64().unwrap(), payload["exp"].as_i64().unwrap());
    assert_eq!(payload, json!({"smallcaseAuthId": "SC_AUTH_42", "iat": iat, "exp": exp}));
}

async fn smallcase_routes_need_a_smallcase_access_token(backend: Backend) {
    let stack = stack(backend).await;
    let sber_token = stack.link("sber", "smarthome").await["access_token"].as_str().unwrap().to_owned();
    for path in ["/smallcase/token", "/smallcase/transaction"] {
        let body = r#"{"intent":"CONNECT"}"#;
        for (request, challenge) in [
            (post(path, body, "application/json"), "Bearer realm=\"switchyard\""),
            (bearer_post(path, &sber_token, body), "Bearer realm=\"switchyard\", error=\"invalid_token\""),
            (bearer_post(path, "not-a-jwt", body), "Bearer realm=\"switchyard\", error=\"invalid_token\""),
        ] {
            let response = stack.call(request).await;
            assert_eq!(response.status(), 401, "{path}");
            assert_eq!(response.headers()["www-authenticate"], challenge);
            assert_eq!(json_of(response)["error"], "invalid_token");
        }
        // The right audience without the route's scope: 403 insufficient_scope (RFC 6750 section 3.1).
        let (_, mut claims) = decode_hs256(&app_token(&stack).await, K2).unwrap();
        claims["scope"] = json!("profile");
        let scopeless = sign_hs256("k2", K2, &claims);
        let response = stack.call(bearer_post(path, &scopeless, body)).await;
        assert_eq!(response.status(), 403, "{path}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"switchyard\", error=\"insufficient_scope\", scope=\"smallcase\""
        );
        assert_eq!(json_of(response)["error"], "insufficient_scope");
    }
    assert!(stack.gateway.calls().is_empty());
}

async fn creates_a_transaction_with_both_gateway_headers(backend: Backend) {
    let stack = stack(backend).await;
    let access = app_token(&stack).await;
    let order = json!({"intent": "TRANSACTION",
        "orderConfig": {"type": "SECURITIES", "securities": [{"ticker": "TCS", "quantity": 10, "type": "BUY"}]}});
    let response = stack.call(bearer_post("/smallcase/transaction", &access, &order.to_string())).await;
    assert_eq!(response.status(), 200);
    let answer = json_of(response);
    assert_eq!(answer["transactionId"], "TRX_1");
    let token = answer["smallcaseAuthToken"].as_str().unwrap();
    assert_eq!(decode_hs256(token, SC_SECRET).unwrap().1["guest"], true);

    let calls = stack.gateway.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].path, format!("/gateway/{GATEWAY_NAME}/transaction"));
    assert_eq!(calls[0].api_secret.as_deref(), Some(SC_API_SECRET));
    assert_eq!(calls[0].auth_token.as_deref(), Some(token));
    assert_eq!(calls[0].body, order);

    let record = stack.admin.get(&keys::smallcase_transaction("TRX_1")).await.unwrap().expect("recorded");
    assert_eq!(record.str("userId"), Some(stack.user_id.as_str()));
    assert_eq!(record.str("intent"), Some("TRANSACTION"));

    let import = json!({"intent": "HOLDINGS_IMPORT", "assetConfig": {"mfHoldings": "true"}});
    let response = stack.call(bearer_post("/smallcase/transaction", &access, &import.to_string())).await;
    assert_eq!(json_of(response)["transactionId"], "TRX_2");
}

async fn bad_bodies_and_gateway_failures_record_nothing(backend: Backend) {
    let stack = stack(backend).await;
    let access = app_token(&stack).await;
    for (body, content_type, status) in [
        (r#"{"intent":"SELL"}"#, "application/json", 400),
        (r#"{"intent":"TRANSACTION"}"#, "application/json", 400),
        (r#"{"intent":"CONNECT","orderConfig":{"type":"SECURITIES"}}"#, "application/json", 400),
        ("not json", "application/json", 400),
        (r#"{"intent":"CONNECT"}"#, "text/plain", 415),
        (&format!(r#"{{"intent":"CONNECT","pad":"{}"}}"#, "x".repeat(20_000)), "application/json", 413),
    ] {
        let mut request = post("/smallcase/transaction", body, content_type);
        request.headers_mut().insert("authorization", format!("Bearer {access}").parse().unwrap());
        let response = stack.call(request).await;
        assert_eq!(response.status(), status, "{}", &body[..body.len().min(60)]);
        let answer = json_of(response);
        assert!(answer["error"].is_string() && answer["message"].is_string(), "{answer}");
    }
    assert!(stack.gateway.calls().is_empty(), "nothing invalid reaches the Gateway");

    for mode in [Mode::Refuse, Mode::ServerError, Mode::Hang] {
        stack.gateway.set_mode(mode.clone());
        let response = stack.call(bearer_post("/smallcase/transaction", &access, r#"{"intent":"CONNECT"}"#)).await;
        assert_eq!(response.status(), 502, "{mode:?}");
        let answer: Value = json_of(response);
        assert_eq!(answer["error"], "gateway_error", "{mode:?}");
        assert!(!answer.to_string().contains(SC_API_SECRET));
    }
    let calls = stack.gateway.calls();
    assert_eq!(calls.len(), 3);
    for n in 1..=3 {
        let id = format!("TRX_{n}");
        assert!(stack.admin.get(&keys::smallcase_transaction(&id)).await.unwrap().is_none(), "{id}");
    }
}

fn bearer_get(path: &str, token: &str) -> lambda_http::Request {
    let mut request = get(path);
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

async fn status_of(stack: &Stack, transaction: &str, access: &str) -> (u16, Value) {
    let response = stack.call(bearer_get(&format!("/smallcase/transaction/{transaction}"), access)).await;
    let status = response.status().as_u16();
    (status, json_of(response))
}

async fn connected_as(stack: &Stack, access: &str) -> Option<String> {
    let answer = json_of(stack.call(bearer_post("/smallcase/token", access, "")).await);
    let (_, payload) = decode_hs256(answer["smallcaseAuthToken"].as_str().unwrap(), SC_SECRET).unwrap();
    payload["smallcaseAuthId"].as_str().map(str::to_owned)
}

/// CONNECT sends no postback: after the Gateway SDK finishes, the app asks for the transaction's status, which
/// re-reads the Gateway and connects the user when the Gateway says the connection completed. Idempotent; other
/// users' transactions are not found; a Gateway that is down or says failed connects no one.
async fn connect_through_the_status_route(backend: Backend) {
    let stack = stack(backend).await;
    let access = app_token(&stack).await;
    let create = |intent: &str| bearer_post("/smallcase/transaction", &access, &json!({"intent": intent}).to_string());
    let transaction = json_of(stack.call(create("CONNECT")).await)["transactionId"].as_str().unwrap().to_owned();

    let (status, view) = status_of(&stack, &transaction, &access).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        view,
        json!({"transactionId": transaction, "intent": "CONNECT", "status": "INITIALIZED", "connected": false})
    );
    assert_eq!(connected_as(&stack, &access).await, None);

    stack.gateway.set_transaction(&transaction, "COMPLETED", Some("auth-connect"));
    for _ in 0..2 {
        let (status, view) = status_of(&stack, &transaction, &access).await;
        assert_eq!(status, 200);
        assert_eq!(view["status"], "COMPLETED");
        assert_eq!(view["connected"], true);
    }
    assert_eq!(connected_as(&stack, &access).await.as_deref(), Some("auth-connect"));
    let detail = stack.gateway.detail_calls().pop().unwrap();
    assert_eq!(detail.path, format!("/v1/{GATEWAY_NAME}/engine/transactiondetails"));
    assert_eq!(detail.query, format!("transactionId={transaction}"));
    assert_eq!(detail.api_secret.as_deref(), Some(SC_API_SECRET));
    let (_, token) = decode_hs256(detail.auth_token.as_deref().unwrap(), SC_SECRET).unwrap();
    assert_eq!(token["guest"], true, "re-read with the token the transaction was created with");

    // Another user of ours, and ids that are not ours: not found, and the Gateway is not asked.
    testkit::assertions::leaks::fixture_secrets(["bob-password-123"]);
    shared::identity::users::Users::new(stack.admin.as_ref()).add("bob", "bob-password-123", now()).await.unwrap();
    let bob = stack.link_app_as("bob", "bob-password-123").await["access_token"].as_str().unwrap().to_owned();
    let asked = stack.gateway.detail_calls().len();
    for (id, token) in [(transaction.as_str(), bob.as_str()), ("TRX_404", access.as_str()), ("a%20b", access.as_str())]
    {
        let (status, answer) = status_of(&stack, id, token).await;
        assert_eq!(status, 404, "{id}: {answer}");
    }
    assert_eq!(stack.gateway.detail_calls().len(), asked);

    // A later transaction, created while connected, moves the user to another broker account: the old one is freed.
    let second = json_of(stack.call(create("CONNECT")).await)["transactionId"].as_str().unwrap().to_owned();
    stack.gateway.set_transaction(&second, "COMPLETED", Some("auth-moved"));
    assert_eq!(status_of(&stack, &second, &access).await.1["connected"], true);
    assert_eq!(connected_as(&stack, &access).await.as_deref(), Some("auth-moved"));
    let freed = stack.admin.get(&keys::smallcase_account("auth-connect")).await.unwrap();
    assert!(freed.is_none(), "the old account is free for whoever logs in with it");

    // Gateway down or saying failed/pending: nothing connects.
    let third = json_of(stack.call(create("CONNECT")).await)["transactionId"].as_str().unwrap().to_owned();
    stack.gateway.set_transaction(&third, "COMPLETED", Some("auth-third"));
    for (mode, expected) in [(Mode::ServerError, 503), (Mode::Hang, 503), (Mode::Refuse, 502)] {
        stack.gateway.set_mode(mode.clone());
        let (status, answer) = status_of(&stack, &third, &access).await;
        assert_eq!(status, expected, "{mode:?}: {answer}");
        assert!(!answer.to_string().contains(SC_API_SECRET));
    }
    stack.gateway.set_mode(Mode::Success);
    for gateway_status in ["ERRORED", "USED", "PROCESSING"] {
        stack.gateway.set_transaction(&third, gateway_status, Some("auth-third"));
        let (status, view) = status_of(&stack, &third, &access).await;
        assert_eq!((status, view["connected"].clone()), (200, json!(false)), "{gateway_status}");
    }
    assert_eq!(connected_as(&stack, &access).await.as_deref(), Some("auth-moved"));
}

/// CORS on `/smallcase/*` for the exact whitelisted origin; no CORS header for any other origin or path.
async fn cors_for_the_whitelisted_web_origin_only(backend: Backend) {
    let stack = stack(backend).await;
    let access = app_token(&stack).await;
    let with_origin = |mut request: lambda_http::Request, origin: &str| {
        request.headers_mut().insert("origin", origin.parse().unwrap());
        request
    };
    let preflight = |path: &str, origin: &str| {
        let mut request = get(path);
        *request.method_mut() = lambda_http::http::Method::OPTIONS;
        request.headers_mut().insert("access-control-request-method", "POST".parse().unwrap());
        request.headers_mut().insert("access-control-request-headers", "authorization,content-type".parse().unwrap());
        with_origin(request, origin)
    };
    for path in ["/smallcase/token", "/smallcase/transaction", "/smallcase/transaction/TRX_1"] {
        let response = stack.call(preflight(path, APP_ORIGIN)).await;
        assert_eq!(response.status(), 204, "{path}");
        let headers = response.headers();
        assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);
        assert_eq!(headers["access-control-allow-methods"], "GET, POST");
        assert_eq!(headers["access-control-allow-headers"], "authorization, content-type");
        assert_eq!(headers["access-control-max-age"], "600");
        assert_eq!(headers["vary"], "Origin");
        assert!(headers.get("access-control-allow-credentials").is_none());
        let refused = stack.call(preflight(path, "https://evil.example.com")).await;
        assert!(refused.headers().keys().all(|k| !k.as_str().starts_with("access-control-")), "{path}");
    }
    let answer = stack.call(with_origin(bearer_post("/smallcase/token", &access, ""), APP_ORIGIN)).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["access-control-allow-origin"], APP_ORIGIN);
    let refusal = stack.call(with_origin(bearer_post("/smallcase/token", "nope", ""), APP_ORIGIN)).await;
    assert_eq!(refusal.status(), 401);
    assert_eq!(refusal.headers()["access-control-allow-origin"], APP_ORIGIN, "the page can read the refusal");
    let other = stack.call(with_origin(bearer_post("/smallcase/token", &access, ""), "https://evil.example.com")).await;
    assert_eq!(other.status(), 200, "CORS is the browser's rule; the server answers, without the header");
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let token_endpoint =
        with_origin(post("/oauth/token", "grant_type=x", "application/x-www-form-urlencoded"), APP_ORIGIN);
    assert!(stack.call(token_endpoint).await.headers().keys().all(|k| !k.as_str().starts_with("access-control-")));
}

/// `notes` (at most 256 characters) goes to the Gateway; other intents than the four supported are refused.
async fn notes_are_passed_and_unsupported_intents_refused(backend: Backend) {
    let stack = stack(backend).await;
    let access = app_token(&stack).await;
    let body = json!({"intent": "HOLDINGS_IMPORT", "notes": "for the yearly review"});
    let response = stack.call(bearer_post("/smallcase/transaction", &access, &body.to_string())).await;
    assert_eq!(response.status(), 200);
    assert_eq!(stack.gateway.calls().last().unwrap().body, body);
    for bad in [json!({"intent": "SUBSCRIPTION"}), json!({"intent": "CONNECT", "notes": "x".repeat(257)})] {
        let response = stack.call(bearer_post("/smallcase/transaction", &access, &bad.to_string())).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert!(json_of(response)["message"].as_str().unwrap().contains(if bad["notes"].is_null() {
            "intent"
        } else {
            "notes"
        }));
    }
}

testkit::on_both_backends!(
    connect_through_the_status_route,
    cors_for_the_whitelisted_web_origin_only,
    notes_are_passed_and_unsupported_intents_refused,
    guest_then_connected_tokens,
    smallcase_routes_need_a_smallcase_access_token,
    creates_a_transaction_with_both_gateway_headers,
    bad_bodies_and_gateway_failures_record_nothing,
);
