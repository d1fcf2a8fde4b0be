//! smallcase postbacks at `POST /webhooks/smallcase`, against a fake Gateway, on both stores: a postback is a
//! signed hint, and only the Gateway's answer for the transaction it names connects that transaction's creator.

use lambda_http::{Body, Request, RequestExt};
use serde_json::{Value, json};
use shared::crypto::{hmac_sha256, to_hex};
use shared::edge::handler::Handler;
use shared::partners::smallcase::RecordedTransaction;
use shared::ports::store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use switchyard_webhook::WebhookFunction;
use testkit::aws::harness::Backend;
use testkit::partners::smallcase::{FakeSmallcase, Mode};

const GATEWAY_NAME: &str = "switchyard-test";
const SC_SECRET: &str = "smallcase-jwt-secret";
const SC_API_SECRET: &str = "smallcase-api-secret";

/// The real clock: the fake Gateway checks the expiry of the tokens we sign, as the Gateway does.
fn now() -> i64 {
    shared::ports::clock::now_epoch()
}

struct Stack {
    function: WebhookFunction,
    store: Arc<dyn Store>,
    gateway: FakeSmallcase,
}

async fn stack(backend: Backend) -> Stack {
    let gateway = FakeSmallcase::start(GATEWAY_NAME, SC_API_SECRET, SC_SECRET, Mode::Success).await;
    let secrets = [
        // The scheme's default tolerance: smallcase's retry horizon.
        ("webhook/smallcase", json!({"scheme": "smallcase", "secret": SC_API_SECRET})),
        ("smallcase", json!({"gateway_name": GATEWAY_NAME, "secret": SC_SECRET, "api_secret": SC_API_SECRET})),
    ];
    let ports = testkit::aws::harness::ports(backend, &secrets).await;
    let vars = shared::env::Vars::from_pairs([
        ("SMALLCASE_GATEWAY_URL", gateway.url.as_str()),
        ("SMALLCASE_TIMEOUT_MS", "500"),
    ]);
    Stack {
        function: WebhookFunction::new(ports.deps.with_clock(shared::ports::clock::Clock::reading(now)), &vars)
            .unwrap(),
        store: ports.admin,
        gateway,
    }
}

/// A transaction `user` created through us (as a guest), known to the Gateway; its id.
async fn created(stack: &Stack, user: &str, intent: &str) -> String {
    let id = stack.gateway.create(intent, None);
    let record = RecordedTransaction {
        transaction_id: id.clone(),
        user_id: user.into(),
        intent: intent.into(),
        created_as: None,
        status: None,
        connected: false,
    };
    shared::partners::smallcase::record_transaction(stack.store.as_ref(), &record, now()).await.unwrap();
    id
}

/// A postback as smallcase signs it: checksum = hex HMAC-SHA256(api_secret, timestamp + smallcaseAuthId).
fn postback(auth_id: &str, transaction: &str, status: &str, timestamp: i64) -> Value {
    let checksum =
        to_hex(&hmac_sha256(SC_API_SECRET.as_bytes(), &[timestamp.to_string().as_bytes(), auth_id.as_bytes()]));
    testkit::assertions::leaks::fixture_secrets([&checksum]);
    json!({"timestamp": timestamp.to_string(), "smallcaseAuthId": auth_id, "transactionId": transaction,
        "intent": "TRANSACTION", "status": status, "checksum": checksum, "batchId": "5ef5b2ef07158b6c4ed3a4b6"})
}

fn post(body: &Value) -> Request {
    post_raw(body.to_string().into_bytes())
}

fn post_raw(body: Vec<u8>) -> Request {
    let mut request = Request::new(Body::Binary(body));
    *request.method_mut() = lambda_http::http::Method::POST;
    *request.uri_mut() = "/webhooks/smallcase".parse().unwrap();
    request.headers_mut().insert("content-type", "application/json".parse().unwrap());
    request.with_path_parameters(HashMap::from([("source".to_owned(), "smallcase".to_owned())]))
}

async fn send(stack: &Stack, body: &Value) -> (u16, Value) {
    let response = stack.function.handle(post(body)).await;
    (response.status().as_u16(), serde_json::from_slice(response.body().as_ref()).unwrap())
}

async fn connection(stack: &Stack, user: &str) -> Option<String> {
    shared::partners::smallcase::connected_auth_id(stack.store.as_ref(), user).await.unwrap()
}

async fn stored_postbacks(stack: &Stack) -> usize {
    testkit::aws::stored_webhooks::items(stack.store.as_ref(), "smallcase").await.len()
}

/// The reported attack: user B re-posts user A's captured postback with B's own transaction id. It is stored
/// (it is signed and fresh), but the Gateway says B's transaction is not done: B gets nothing of A's.
async fn a_replayed_postback_connects_no_one(backend: Backend) {
    let stack = stack(backend).await;
    let a_txn = created(&stack, "u-a", "TRANSACTION").await;
    let b_txn = created(&stack, "u-b", "TRANSACTION").await;
    stack.gateway.set_transaction(&a_txn, "COMPLETED", Some("auth-a"));
    let captured = postback("auth-a", &a_txn, "COMPLETED", now() - 10);
    let (status, answer) = send(&stack, &captured).await;
    assert_eq!((status, answer["received"].clone()), (200, json!(true)), "{answer}");
    assert_eq!(connection(&stack, "u-a").await.as_deref(), Some("auth-a"), "the Gateway says A completed");

    let mut replayed = captured.clone();
    replayed["transactionId"] = json!(b_txn);
    let (status, answer) = send(&stack, &replayed).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(connection(&stack, "u-b").await, None, "B's transaction is not done: B is not connected");
    let b_record = shared::partners::smallcase::recorded(stack.store.as_ref(), &b_txn).await.unwrap().unwrap();
    assert_eq!(b_record.status, Some(shared::partners::smallcase::client::TransactionStatus::Initialized));

    // Even B completing with another broker account never hands B A's account; A keeps theirs.
    stack.gateway.set_transaction(&b_txn, "COMPLETED", Some("auth-b"));
    let (status, _) = send(&stack, &replayed).await;
    assert_eq!(status, 200);
    assert_eq!(connection(&stack, "u-b").await.as_deref(), Some("auth-b"), "the Gateway's id, not the body's");
    assert_eq!(connection(&stack, "u-a").await.as_deref(), Some("auth-a"));

    // The same capture under any new transaction id is not stored again: unknown transactions are not kept.
    let before = stored_postbacks(&stack).await;
    for fake in ["TRX_999", "TRX_1000", "TRX_X"] {
        let mut variant = captured.clone();
        variant["transactionId"] = json!(fake);
        let (status, answer) = send(&stack, &variant).await;
        assert_eq!((status, answer["ignored"].as_str()), (200, Some("no transaction of ours")), "{answer}");
    }
    let mut statuses = captured.clone();
    for status in ["BOGUS_1", "BOGUS_2", "BOGUS_3"] {
        statuses["status"] = json!(status);
        send(&stack, &statuses).await;
    }
    assert_eq!(stored_postbacks(&stack).await, before + 1, "unsigned variations make one more delivery at most");
}

/// A securities transaction's two postbacks (order placed, order completed) are both taken in; an identical
/// re-send of either is a duplicate.
async fn placed_and_completed_postbacks_are_both_stored(backend: Backend) {
    let stack = stack(backend).await;
    let txn = created(&stack, "u-1", "TRANSACTION").await;
    stack.gateway.set_transaction(&txn, "PROCESSING", Some("auth-1"));
    let placed = postback("auth-1", &txn, "PROCESSING", now() - 5);
    let (status, answer) = send(&stack, &placed).await;
    assert_eq!((status, answer.get("duplicate")), (200, None), "{answer}");
    assert_eq!(connection(&stack, "u-1").await, None, "placed, not completed: nothing connected yet");
    let (_, again) = send(&stack, &placed).await;
    assert_eq!(again["duplicate"], true);

    stack.gateway.set_transaction(&txn, "COMPLETED", Some("auth-1"));
    let completed = postback("auth-1", &txn, "COMPLETED", now() - 1);
    let (status, answer) = send(&stack, &completed).await;
    assert_eq!((status, answer.get("duplicate")), (200, None), "the second postback is not a duplicate: {answer}");
    assert_eq!(connection(&stack, "u-1").await.as_deref(), Some("auth-1"));
    let (_, again) = send(&stack, &completed).await;
    assert_eq!(again["duplicate"], true);
    assert_eq!(stored_postbacks(&stack).await, 2);
    let reads = stack.gateway.detail_calls().len();
    send(&stack, &completed).await;
    assert_eq!(stack.gateway.detail_calls().len(), reads, "a final status is not re-read again");
}

/// smallcase retries an undelivered postback (reported at about +15 min, +24 h and +48 h) with its first timestamp:
/// up to the retry horizon it is taken (a hint, re-read from the Gateway, deduplicated), beyond it refused.
async fn postbacks_smallcase_retries_within_its_horizon_are_taken(backend: Backend) {
    let stack = stack(backend).await;
    let txn = created(&stack, "u-1", "CONNECT").await;
    stack.gateway.set_transaction(&txn, "COMPLETED", Some("auth-1"));
    let retried = postback("auth-1", &txn, "COMPLETED", now() - 48 * 3600 - 60);
    let (status, answer) = send(&stack, &retried).await;
    assert_eq!(status, 200, "the +48 h retry: {answer}");
    assert_eq!(connection(&stack, "u-1").await.as_deref(), Some("auth-1"), "the Gateway's answer connects");
    let (status, again) = send(&stack, &retried).await;
    assert_eq!((status, again["duplicate"].as_bool()), (200, Some(true)), "{again}");
    let beyond = postback("auth-1", &txn, "COMPLETED", now() - 4 * 86_400);
    let (status, answer) = send(&stack, &beyond).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("stale")), "{answer}");
    let ahead = postback("auth-1", &txn, "COMPLETED", now() + 3600);
    assert_eq!(send(&stack, &ahead).await.0, 401, "the future is not a retry");
}

/// An MF holdings import has no broker account: its postback is signed over `timestamp + transactionId` (as public
/// integrations verify it), and a checksum over anything else is refused.
async fn an_mf_holdings_import_postback_is_signed_over_its_transaction(backend: Backend) {
    let stack = stack(backend).await;
    let txn = created(&stack, "u-1", "MF_HOLDINGS_IMPORT").await;
    stack.gateway.set_transaction(&txn, "COMPLETED", None);
    let timestamp = now().to_string();
    let sign =
        |covered: &str| to_hex(&hmac_sha256(SC_API_SECRET.as_bytes(), &[timestamp.as_bytes(), covered.as_bytes()]));
    let body = |checksum: String| {
        json!({"timestamp": timestamp, "transactionId": txn, "intent": "MF_HOLDINGS_IMPORT", "status": "COMPLETED",
            "checksum": checksum})
    };
    testkit::assertions::leaks::fixture_secrets([sign(&txn), sign("")]);
    let (status, answer) = send(&stack, &body(sign(&txn))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(stored_postbacks(&stack).await, 1);
    let (status, answer) = send(&stack, &body(sign(""))).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("invalid_signature")), "{answer}");
    // A securities postback signed over the transaction is refused: only the MF intent is.
    let other = created(&stack, "u-1", "TRANSACTION").await;
    let mut securities = body(sign(&other));
    securities["transactionId"] = json!(other);
    securities["intent"] = json!("TRANSACTION");
    assert_eq!(send(&stack, &securities).await.0, 401);
}

/// Stale, unsigned, malformed or oversized postbacks: their documented error, nothing stored, no Gateway call.
async fn stale_and_broken_postbacks_store_nothing(backend: Backend) {
    let stack = stack(backend).await;
    let txn = created(&stack, "u-1", "TRANSACTION").await;
    stack.gateway.set_transaction(&txn, "COMPLETED", Some("auth-1"));
    let week_old = postback("auth-1", &txn, "COMPLETED", now() - 7 * 86_400);
    let (status, answer) = send(&stack, &week_old).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("stale")), "{answer}");
    let mut forged = postback("auth-1", &txn, "COMPLETED", now());
    forged["smallcaseAuthId"] = json!("auth-2");
    assert_eq!(send(&stack, &forged).await.0, 401);
    let mut unsigned = postback("auth-1", &txn, "COMPLETED", now());
    unsigned.as_object_mut().unwrap().remove("checksum");
    assert_eq!(send(&stack, &unsigned).await.0, 400);
    let mut bad_time = postback("auth-1", &txn, "COMPLETED", now());
    bad_time["timestamp"] = json!("yesterday");
    assert_eq!(send(&stack, &bad_time).await.0, 400);
    let mut bad_id = postback("auth-1", &txn, "COMPLETED", now());
    bad_id["transactionId"] = json!("TRX 1; DROP");
    assert_eq!(send(&stack, &bad_id).await.0, 400);
    let duplicate_key =
        postback("auth-1", &txn, "COMPLETED", now()).to_string().replacen('{', r#"{"timestamp":"1","#, 1);
    let response = stack.function.handle(post_raw(duplicate_key.into_bytes())).await;
    assert_eq!(response.status(), 400);
    let mut big = postback("auth-1", &txn, "COMPLETED", now());
    big["pad"] = json!("x".repeat(300 * 1024));
    assert_eq!(send(&stack, &big).await.0, 413);
    assert_eq!(stored_postbacks(&stack).await, 0);
    assert_eq!(connection(&stack, "u-1").await, None);
    assert!(stack.gateway.detail_calls().is_empty());
}

/// The Gateway down: the postback is stored and answered 503, so smallcase delivers again; the redelivery (a
/// duplicate) re-reads and connects. A Gateway that says failed or pending connects no one.
async fn a_failed_reread_is_delivered_again_and_only_completion_connects(backend: Backend) {
    let stack = stack(backend).await;
    let txn = created(&stack, "u-1", "CONNECT").await;
    stack.gateway.set_transaction(&txn, "COMPLETED", Some("auth-1"));
    let body = postback("auth-1", &txn, "COMPLETED", now());
    for mode in [Mode::ServerError, Mode::Hang, Mode::Refuse] {
        stack.gateway.set_mode(mode.clone());
        let (status, answer) = send(&stack, &body).await;
        assert_eq!(status, 503, "{mode:?}: {answer}");
        assert_eq!(connection(&stack, "u-1").await, None, "{mode:?}");
    }
    assert_eq!(stored_postbacks(&stack).await, 1, "stored once, whatever the Gateway said");
    stack.gateway.set_mode(Mode::Success);
    let (status, answer) = send(&stack, &body).await;
    assert_eq!((status, answer["duplicate"].clone()), (200, json!(true)), "{answer}");
    assert_eq!(connection(&stack, "u-1").await.as_deref(), Some("auth-1"));

    for (gateway_status, auth_id) in [("ERRORED", Some("auth-9")), ("INITIALIZED", None), ("USED", Some("auth-9"))] {
        let other = created(&stack, "u-2", "CONNECT").await;
        stack.gateway.set_transaction(&other, gateway_status, auth_id);
        let (status, _) = send(&stack, &postback("auth-9", &other, "COMPLETED", now())).await;
        assert_eq!(status, 200, "{gateway_status}");
        assert_eq!(connection(&stack, "u-2").await, None, "{gateway_status} connects no one");
    }
}

/// One smallcase account belongs to one of our users: a second user completing with it is not connected.
async fn an_account_is_never_shared_between_users(backend: Backend) {
    let stack = stack(backend).await;
    for user in ["u-1", "u-2"] {
        let txn = created(&stack, user, "CONNECT").await;
        stack.gateway.set_transaction(&txn, "COMPLETED", Some("auth-shared"));
        assert_eq!(send(&stack, &postback("auth-shared", &txn, "COMPLETED", now())).await.0, 200);
    }
    assert_eq!(connection(&stack, "u-1").await.as_deref(), Some("auth-shared"));
    assert_eq!(connection(&stack, "u-2").await, None);
}

/// A user who completes a connection with another broker account moves to it, and the old account is free for
/// whoever logs in with it next.
async fn moving_to_another_account_frees_the_old_one(backend: Backend) {
    let stack = stack(backend).await;
    for (user, account) in [("u-1", "auth-first"), ("u-1", "auth-second"), ("u-2", "auth-first")] {
        let txn = created(&stack, user, "CONNECT").await;
        stack.gateway.set_transaction(&txn, "COMPLETED", Some(account));
        assert_eq!(send(&stack, &postback(account, &txn, "COMPLETED", now())).await.0, 200);
    }
    assert_eq!(connection(&stack, "u-1").await.as_deref(), Some("auth-second"));
    assert_eq!(connection(&stack, "u-2").await.as_deref(), Some("auth-first"), "the freed account is taken");
}

testkit::on_both_backends!(
    postbacks_smallcase_retries_within_its_horizon_are_taken,
    an_mf_holdings_import_postback_is_signed_over_its_transaction,
    moving_to_another_account_frees_the_old_one,
    a_replayed_postback_connects_no_one,
    placed_and_completed_postbacks_are_both_stored,
    stale_and_broken_postbacks_store_nothing,
    a_failed_reread_is_delivered_again_and_only_completion_connects,
    an_account_is_never_shared_between_users,
);
