//! smallcase Gateway routes: guest and connected smallcaseAuthTokens (decoded by an independent HS256 check), and
//! transactions against a fake Gateway that checks both headers, on both stores.

mod common;

use common::*;
use serde_json::{Value, json};
use shared::store::keys;

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
    assert_eq!(answer["expiresAt"], shared::clock::rfc3339(exp));

    shared::smallcase::connect(stack.admin.as_ref(), &stack.user_id, "SC_AUTH_42", now()).await.unwrap();
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

testkit::on_both_backends!(
    guest_then_connected_tokens,
    smallcase_routes_need_a_smallcase_access_token,
    creates_a_transaction_with_both_gateway_headers,
    bad_bodies_and_gateway_failures_record_nothing,
);
