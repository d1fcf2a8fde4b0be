//! Registration and lifecycle callbacks against a fake CRM on loopback, on the embedded store and on DynamoDB and
//! Secrets Manager (moto).

use lambda_http::{Body, Request};
use shared::edge::handler::Handler;
use shared::env::Vars;
use shared::partners::retailcrm::account::Accounts;
use shared::ports::store::Store;
use std::sync::Arc;
use switchyard_register::RegisterFunction;
use testkit::aws::harness::Backend;
use testkit::partners::retailcrm::{FakeRetailCrm, Mode};

const SECRET: &str = "module-secret-from-the-partner-account";

struct Stack {
    function: RegisterFunction,
    store: Arc<dyn Store>,
    crm: FakeRetailCrm,
    deps: shared::Deps,
}

/// A second CRM origin on the allow-list; nothing listens there (callbacks never call the CRM).
const MOVED_CRM: &str = "http://127.0.0.1:9";

async fn stack(backend: Backend, mode: Mode) -> Stack {
    stack_with(backend, mode, &[]).await
}

async fn stack_with(backend: Backend, mode: Mode, extra: &[(&str, &str)]) -> Stack {
    stack_on(backend, FakeRetailCrm::start(mode).await, extra).await
}

async fn stack_on(backend: Backend, crm: FakeRetailCrm, extra: &[(&str, &str)]) -> Stack {
    let ports = testkit::aws::harness::ports(backend, &[("retailcrm", serde_json::json!({"secret": SECRET}))]).await;
    let function = function_on(&ports.deps, &crm, extra);
    Stack { function, store: ports.admin, crm, deps: ports.deps }
}

/// The register function over `deps`, calling `crm`, configured as the tests are with `extra` on top.
fn function_on(deps: &shared::Deps, crm: &FakeRetailCrm, extra: &[(&str, &str)]) -> RegisterFunction {
    let allowed = format!("{},{MOVED_CRM}", crm.url);
    let mut vars = Vars::from_pairs([
        ("SWITCHYARD_PUBLIC_URL", "https://api.example.com"),
        ("RETAILCRM_ALLOWED_HOSTS", allowed.as_str()),
        ("RETAILCRM_TIMEOUT_MS", "1000"),
        ("RETAILCRM_INTEGRATION_CODE", "switchyard-test"),
    ]);
    for (name, value) in extra {
        vars = vars.with(name, value);
    }
    RegisterFunction::new(deps.clone(), &vars).unwrap()
}

fn post(path: &str, body: String) -> Request {
    let mut request = Request::new(Body::Text(body));
    *request.method_mut() = lambda_http::http::Method::POST;
    *request.uri_mut() = path.parse().unwrap();
    request.headers_mut().insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
    request
}

async fn call(stack: &Stack, path: &str, body: String) -> serde_json::Value {
    let response = stack.function.handle(post(path, body)).await;
    assert_eq!(response.status(), 200, "RetailCRM answers are HTTP 200, errors included");
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

async fn nothing_stored(stack: &Stack) {
    let accounts = Accounts::new(stack.store.as_ref());
    assert_eq!(accounts.client_id_for(&stack.crm.url).await.unwrap(), None);
    for call in stack.crm.calls() {
        let client_id = call.module["clientId"].as_str().unwrap_or("x");
        assert!(accounts.by_client_id(client_id).await.unwrap().is_none());
    }
}

async fn registers_with_the_json_shape(backend: Backend) {
    let stack = stack(backend, Mode::Success).await;
    let answer = call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-1")).await;
    assert_eq!(answer["success"], true, "{answer}");
    let account_url = answer["accountUrl"].as_str().unwrap();

    let calls = stack.crm.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.api_key.as_deref(), Some("key-1"));
    assert_eq!(call.content_type.as_deref(), Some("application/x-www-form-urlencoded"));
    let module = &call.module;
    assert_eq!(module["code"], call.code.as_str());
    assert!(call.code.starts_with("switchyard-test-"));
    assert_eq!(module["integrationCode"], "switchyard-test");
    assert_eq!(module["active"], true);
    assert_eq!(module["baseUrl"], "https://api.example.com");
    assert_eq!(module["accountUrl"], account_url);
    assert_eq!(
        module["actions"],
        serde_json::json!({"activity": "/retailcrm/activity", "settings": "/retailcrm/settings"})
    );
    assert!(module["name"].is_string() && module["logo"].is_string());
    let client_id = module["clientId"].as_str().unwrap();
    assert!(client_id.len() >= 32 && client_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(account_url, "https://api.example.com/retailcrm/account", "our page; the CRM posts clientId to it");

    let accounts = Accounts::new(stack.store.as_ref());
    assert_eq!(accounts.client_id_for(&stack.crm.url).await.unwrap().as_deref(), Some(client_id));
    let account = accounts.by_client_id(client_id).await.unwrap().unwrap();
    assert_eq!(account.api_key, "key-1");
    assert_eq!(account.system_url, stack.crm.url);
    assert_eq!(account.code, call.code);
    assert!(account.usable());
}

/// A vendor may send the CRM's users to its own application instead, with the clientId in the URL.
async fn the_account_url_may_be_the_vendors(backend: Backend) {
    let own = [("RETAILCRM_ACCOUNT_URL", "https://vendor.example.com/crm/{clientId}")];
    let stack = stack_with(backend, Mode::Success, &own).await;
    let answer = call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-1")).await;
    let client_id = stack.crm.calls()[0].module["clientId"].as_str().unwrap().to_owned();
    assert_eq!(answer["accountUrl"], format!("https://vendor.example.com/crm/{client_id}"));
}

async fn registers_with_the_bracket_shape(backend: Backend) {
    let stack = stack(backend, Mode::Success).await;
    let answer = call(&stack, "/retailcrm/register", stack.crm.register_bracket_body(SECRET, "key-2")).await;
    assert_eq!(answer["success"], true, "{answer}");
    assert_eq!(stack.crm.calls()[0].api_key.as_deref(), Some("key-2"));
}

async fn refuses_bad_tokens_before_anything_else(backend: Backend) {
    let stack = stack(backend, Mode::Success).await;
    let wrong_secret = stack.crm.register_json_body("not-the-module-secret", "key-1");
    let answer = call(&stack, "/retailcrm/register", wrong_secret).await;
    assert_eq!(answer["success"], false);
    assert!(answer["errorMsg"].as_str().unwrap().contains("invalid token"), "{answer}");
    // A token computed for another apiKey.
    let token = shared::partners::retailcrm::registration::token_for(SECRET.as_bytes(), "key-A");
    let json = serde_json::json!({"token": token, "apiKey": "key-B", "systemUrl": stack.crm.url}).to_string();
    let answer = call(&stack, "/retailcrm/register", shared::codec::form::encode([("register", json.as_str())])).await;
    assert_eq!(answer["success"], false);
    assert!(stack.crm.calls().is_empty(), "no CRM call without a valid token");
    nothing_stored(&stack).await;
}

async fn refuses_addresses_outside_the_allow_list(backend: Backend) {
    let stack = stack(backend, Mode::Success).await;
    for url in ["http://169.254.169.254", "https://127.0.0.1", "https://shop.retailcrm.ru", "https://user@x.simla.com"]
    {
        let token = shared::partners::retailcrm::registration::token_for(SECRET.as_bytes(), "k");
        let json = serde_json::json!({"token": token, "apiKey": "k", "systemUrl": url}).to_string();
        let answer =
            call(&stack, "/retailcrm/register", shared::codec::form::encode([("register", json.as_str())])).await;
        assert_eq!(answer["success"], false, "{url}");
        assert!(answer["errorMsg"].as_str().unwrap().starts_with("systemUrl"), "{answer}");
    }
    assert!(stack.crm.calls().is_empty());
}

async fn crm_failures_store_nothing(backend: Backend) {
    let stack = stack(backend, Mode::Refuse("Wrong \"apiKey\" value.".into())).await;
    let answer = call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-1")).await;
    assert_eq!(answer["success"], false);
    assert!(answer["errorMsg"].as_str().unwrap().contains("Wrong \"apiKey\" value."), "{answer}");
    nothing_stored(&stack).await;

    stack.crm.set_mode(Mode::ServerError);
    let answer = call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-1")).await;
    assert_eq!(answer["success"], false);
    assert!(answer["errorMsg"].as_str().unwrap().contains("HTTP 500"), "{answer}");
    nothing_stored(&stack).await;

    stack.crm.set_mode(Mode::Hang);
    let answer = call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-1")).await;
    assert_eq!(answer["success"], false);
    assert!(answer["errorMsg"].as_str().unwrap().contains("did not answer"), "{answer}");
    nothing_stored(&stack).await;
    assert_eq!(stack.crm.calls().len(), 3);
}

async fn re_registration_updates_the_one_account(backend: Backend) {
    let stack = stack(backend, Mode::Success).await;
    let first = call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-1")).await;
    let second = call(&stack, "/retailcrm/register", stack.crm.register_bracket_body(SECRET, "key-2")).await;
    assert_eq!(first["accountUrl"], second["accountUrl"], "same clientId, same account page");
    let calls = stack.crm.calls();
    assert_eq!(calls[0].code, calls[1].code);
    assert_eq!(calls[0].module["clientId"], calls[1].module["clientId"]);
    let accounts = Accounts::new(stack.store.as_ref());
    let client_id = accounts.client_id_for(&stack.crm.url).await.unwrap().unwrap();
    let account = accounts.by_client_id(&client_id).await.unwrap().unwrap();
    assert_eq!(account.api_key, "key-2");
    let partition = shared::ports::store::Query::partition(format!("RCRM#{client_id}"));
    assert_eq!(stack.store.query(&partition).await.unwrap().len(), 1);
}

async fn activity_and_settings_update_the_account(backend: Backend) {
    let stack = stack(backend, Mode::Success).await;
    call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-1")).await;
    let client_id = stack.crm.calls()[0].module["clientId"].as_str().unwrap().to_owned();
    let accounts = Accounts::new(stack.store.as_ref());

    let activity = |active: bool, freeze: bool| {
        let json = serde_json::json!({"active": active, "freeze": freeze}).to_string();
        shared::codec::form::encode([
            ("clientId", client_id.as_str()),
            ("systemUrl", stack.crm.url.as_str()),
            ("activity", json.as_str()),
        ])
    };
    assert_eq!(call(&stack, "/retailcrm/activity", activity(true, true)).await, serde_json::json!({"success": true}));
    let account = accounts.by_client_id(&client_id).await.unwrap().unwrap();
    assert!(account.active && account.freeze && !account.usable());
    call(&stack, "/retailcrm/activity", activity(false, false)).await;
    assert!(!accounts.by_client_id(&client_id).await.unwrap().unwrap().active);

    let settings = shared::codec::form::encode([("clientId", client_id.as_str()), ("settings", r#"{"lang":"en"}"#)]);
    assert_eq!(call(&stack, "/retailcrm/settings", settings).await["success"], true);
    let account = accounts.by_client_id(&client_id).await.unwrap().unwrap();
    assert_eq!(account.settings.as_deref(), Some(r#"{"lang":"en"}"#));

    for (path, body) in [
        (
            "/retailcrm/activity",
            shared::codec::form::encode([("clientId", "guessed"), ("activity", r#"{"active":false,"freeze":true}"#)]),
        ),
        ("/retailcrm/settings", shared::codec::form::encode([("clientId", "guessed"), ("settings", "{}")])),
        ("/retailcrm/activity", shared::codec::form::encode([("clientId", client_id.as_str()), ("activity", "yes")])),
        ("/retailcrm/settings", shared::codec::form::encode([("clientId", client_id.as_str()), ("settings", "[1]")])),
        (
            "/retailcrm/activity",
            shared::codec::form::encode([("clientId", client_id.as_str()), ("activity", r#"{"active":"yes"}"#)]),
        ),
    ] {
        let answer = call(&stack, path, body).await;
        assert_eq!(answer["success"], false, "{path}: {answer}");
        assert!(answer["errorMsg"].is_string());
    }
    // The refused callbacks changed nothing.
    let account = accounts.by_client_id(&client_id).await.unwrap().unwrap();
    assert!(!account.active && !account.freeze);
    assert_eq!(account.system_url, stack.crm.url);

    // Each flag is optional, as RetailCRM's own client sends them.
    let only_freeze =
        shared::codec::form::encode([("clientId", client_id.as_str()), ("activity", r#"{"freeze":true}"#)]);
    assert_eq!(call(&stack, "/retailcrm/activity", only_freeze).await["success"], true);
    let account = accounts.by_client_id(&client_id).await.unwrap().unwrap();
    assert!(!account.active && account.freeze, "active untouched, freeze set");

    // An activity callback naming another (allowed) address moves nothing: only a signed registration sets it.
    let moved = shared::codec::form::encode([
        ("clientId", client_id.as_str()),
        ("systemUrl", MOVED_CRM),
        ("activity", r#"{"active":true,"freeze":false}"#),
    ]);
    assert_eq!(call(&stack, "/retailcrm/activity", moved).await["success"], true);
    let account = accounts.by_client_id(&client_id).await.unwrap().unwrap();
    assert_eq!(account.system_url, stack.crm.url);
    assert!(account.usable(), "the flags it carries are taken");
    assert_eq!(accounts.client_id_for(MOVED_CRM).await.unwrap(), None);
    assert_eq!(accounts.client_id_for(&stack.crm.url).await.unwrap().as_deref(), Some(client_id.as_str()));
}

/// The reported hijack: anyone holding installation A's clientId posts an activity callback naming CRM B's address;
/// when B registers, it must get an installation of its own, and A's account must keep A's key and address.
async fn an_activity_callback_cannot_hand_an_installation_to_another_crm(backend: Backend) {
    let (crm_a, crm_b) = (FakeRetailCrm::start(Mode::Success).await, FakeRetailCrm::start(Mode::Success).await);
    let allowed = format!("{},{}", crm_a.url, crm_b.url);
    let stack = stack_on(backend, crm_a, &[("RETAILCRM_ALLOWED_HOSTS", allowed.as_str())]).await;
    call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-a")).await;
    let client_a = stack.crm.calls()[0].module["clientId"].as_str().unwrap().to_owned();
    let hijack = shared::codec::form::encode([
        ("clientId", client_a.as_str()),
        ("systemUrl", crm_b.url.as_str()),
        ("activity", r#"{"active":true,"freeze":false}"#),
    ]);
    call(&stack, "/retailcrm/activity", hijack).await;
    let answer = call(&stack, "/retailcrm/register", crm_b.register_json_body(SECRET, "key-b")).await;
    assert_eq!(answer["success"], true, "{answer}");
    let b_call = &crm_b.calls()[0];
    let client_b = b_call.module["clientId"].as_str().unwrap();
    assert_ne!(client_b, client_a, "B gets an installation of its own");
    assert_ne!(b_call.code, stack.crm.calls()[0].code, "and a module code of its own");
    let accounts = Accounts::new(stack.store.as_ref());
    let a = accounts.by_client_id(&client_a).await.unwrap().unwrap();
    assert_eq!((a.api_key.as_str(), a.system_url.as_str()), ("key-a", stack.crm.url.as_str()), "A is untouched");
    let b = accounts.by_client_id(client_b).await.unwrap().unwrap();
    assert_eq!((b.api_key.as_str(), b.system_url.as_str()), ("key-b", crm_b.url.as_str()));
}

/// The CRM adds fields to its callbacks: they are ignored, the flags the callback carries still taken (refusing
/// them would lose a freeze or a deactivation).
async fn fields_the_crm_adds_are_ignored(backend: Backend) {
    let stack = stack(backend, Mode::Success).await;
    call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-1")).await;
    let client_id = stack.crm.calls()[0].module["clientId"].as_str().unwrap().to_owned();
    let body = shared::codec::form::encode([
        ("clientId", client_id.as_str()),
        ("systemUrl", stack.crm.url.as_str()),
        ("activity", r#"{"active": true, "freeze": true, "freezeReason": "payment", "since": "2026-12-01"}"#),
        ("accountId", "17"),
    ]);
    assert_eq!(call(&stack, "/retailcrm/activity", body).await, serde_json::json!({"success": true}));
    let account = Accounts::new(stack.store.as_ref()).by_client_id(&client_id).await.unwrap().unwrap();
    assert!(account.active && account.freeze);
}

/// A CRM that moved says so in its activity callback (`systemUrl`). With `RETAILCRM_FOLLOW_MOVES=listed` the
/// installation follows once the new address proves to hold it (the CRM there answers our clientId to the stored
/// key); a new address that does not hold it, or an address the setting excludes, moves nothing.
async fn a_crm_that_moved_is_followed_once_it_proves_the_same_account(backend: Backend) {
    let (crm_a, crm_b) = (FakeRetailCrm::start(Mode::Success).await, FakeRetailCrm::start(Mode::Success).await);
    let stranger = FakeRetailCrm::start(Mode::Success).await;
    let allowed = format!("{},{},{}", crm_a.url, crm_b.url, stranger.url);
    let extra = [("RETAILCRM_ALLOWED_HOSTS", allowed.as_str()), ("RETAILCRM_FOLLOW_MOVES", "listed")];
    let stack = stack_on(backend, crm_a, &extra).await;
    call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-a")).await;
    let registered = stack.crm.calls()[0].clone();
    let client_id = registered.module["clientId"].as_str().unwrap().to_owned();
    let moving_to = |url: &str| {
        shared::codec::form::encode([
            ("clientId", client_id.as_str()),
            ("systemUrl", url),
            ("activity", r#"{"active":true,"freeze":false}"#),
        ])
    };
    let accounts = Accounts::new(stack.store.as_ref());
    // A CRM that does not hold the installation: nothing moves.
    assert_eq!(call(&stack, "/retailcrm/activity", moving_to(&stranger.url)).await["success"], true);
    assert_eq!(accounts.by_client_id(&client_id).await.unwrap().unwrap().system_url, stack.crm.url);
    // The CRM moved to B, which holds the module under the same key: followed.
    crm_b.hold_module(&registered.code, "key-a", registered.module.clone());
    assert_eq!(call(&stack, "/retailcrm/activity", moving_to(&crm_b.url)).await["success"], true);
    let account = accounts.by_client_id(&client_id).await.unwrap().unwrap();
    assert_eq!((account.system_url.as_str(), account.api_key.as_str()), (crm_b.url.as_str(), "key-a"));
    assert_eq!(accounts.client_id_for(&crm_b.url).await.unwrap().as_deref(), Some(client_id.as_str()));
    assert_eq!(accounts.client_id_for(&stack.crm.url).await.unwrap(), None, "the old address is free");
    let listed = accounts.list().await.unwrap();
    assert_eq!(listed.iter().map(|a| a.system_url.as_str()).collect::<Vec<_>>(), [crm_b.url.as_str()]);
}

/// With the default (`cloud`), a move is followed only within RetailCRM's cloud: a box CRM or an origin is not
/// sent the stored key to prove anything.
async fn by_default_moves_are_followed_only_within_retailcrms_cloud(backend: Backend) {
    let (crm_a, crm_b) = (FakeRetailCrm::start(Mode::Success).await, FakeRetailCrm::start(Mode::Success).await);
    let allowed = format!("{},{}", crm_a.url, crm_b.url);
    let stack = stack_on(backend, crm_a, &[("RETAILCRM_ALLOWED_HOSTS", allowed.as_str())]).await;
    call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-a")).await;
    let registered = stack.crm.calls()[0].clone();
    crm_b.hold_module(&registered.code, "key-a", registered.module.clone());
    let client_id = registered.module["clientId"].as_str().unwrap();
    let moved = shared::codec::form::encode([
        ("clientId", client_id),
        ("systemUrl", crm_b.url.as_str()),
        ("activity", r#"{"active":true,"freeze":false}"#),
    ]);
    call(&stack, "/retailcrm/activity", moved).await;
    let account = Accounts::new(stack.store.as_ref()).by_client_id(client_id).await.unwrap().unwrap();
    assert_eq!(account.system_url, stack.crm.url);
}

/// The scopes the module requires changed (`RETAILCRM_SCOPES`): the next callback of an active installation asks
/// the CRM (`update-scopes`, `requires={"scopes": [...]}`, RetailCRM's simple connection) and stores the API key
/// the CRM answers; once granted, nothing more is asked.
async fn changed_scopes_are_asked_for_and_the_new_key_kept(backend: Backend) {
    let stack = stack(backend, Mode::Success).await;
    let url = stack.crm.url.clone();
    call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-1")).await;
    let client_id = stack.crm.calls()[0].module["clientId"].as_str().unwrap().to_owned();
    let store = stack.store.clone();
    let accounts = Accounts::new(store.as_ref());
    let account = accounts.by_client_id(&client_id).await.unwrap().unwrap();
    assert_eq!(account.scopes, Some(vec!["integration_read".to_owned(), "integration_write".to_owned()]));
    let active = shared::codec::form::encode([
        ("clientId", client_id.as_str()),
        ("systemUrl", url.as_str()),
        ("activity", r#"{"active":true,"freeze":false}"#),
    ]);
    call(&stack, "/retailcrm/activity", active.clone()).await;
    assert!(stack.crm.scopes_calls().is_empty(), "the scopes it holds are the ones required");
    // The module now requires orders too (the operator changed RetailCrmScopes): a new deployment of it.
    let scopes = "integration_read,integration_write,order_read";
    let stack = Stack { function: function_on(&stack.deps, &stack.crm, &[("RETAILCRM_SCOPES", scopes)]), ..stack };
    call(&stack, "/retailcrm/activity", active.clone()).await;
    let asked = stack.crm.scopes_calls();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].scopes, serde_json::json!(["integration_read", "integration_write", "order_read"]));
    let account = accounts.by_client_id(&client_id).await.unwrap().unwrap();
    assert_eq!(account.api_key, asked[0].issued_key, "the CRM's new key is kept");
    assert_eq!(account.scopes.as_ref().map(Vec::len), Some(3));
    call(&stack, "/retailcrm/activity", active).await;
    assert_eq!(stack.crm.scopes_calls().len(), 1, "granted: not asked again");
}

/// The account page the CRM opens (a POST with clientId, or a GET with it in the query).
async fn the_account_page_shows_the_installation(backend: Backend) {
    let stack = stack(backend, Mode::Success).await;
    let answer = call(&stack, "/retailcrm/register", stack.crm.register_json_body(SECRET, "key-secret-1")).await;
    let client_id = stack.crm.calls()[0].module["clientId"].as_str().unwrap().to_owned();
    assert_eq!(answer["accountUrl"], "https://api.example.com/retailcrm/account", "the CRM posts clientId there");
    let settings = shared::codec::form::encode([("clientId", client_id.as_str()), ("settings", r#"{"lang":"<en>"}"#)]);
    call(&stack, "/retailcrm/settings", settings).await;

    let page = |method: &str, query: &str, body: String| {
        let mut request = post(&format!("/retailcrm/account{query}"), body);
        *request.method_mut() = method.parse().unwrap();
        request
    };
    for request in [
        page("POST", "", shared::codec::form::encode([("clientId", client_id.as_str())])),
        page("GET", &format!("?clientId={client_id}"), String::new()),
    ] {
        let response = stack.function.handle(request).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
        assert!(response.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
        let html = String::from_utf8(response.body().to_vec()).unwrap();
        assert!(html.contains(&stack.crm.url) && html.contains(">Active<"), "{html}");
        assert!(html.contains("&quot;lang&quot;: &quot;&lt;en&gt;&quot;"), "settings shown, escaped: {html}");
        assert!(!html.contains("key-secret-1"), "never the API key");
    }
    for request in [
        page("POST", "", shared::codec::form::encode([("clientId", "unknown")])),
        page("GET", "", String::new()),
        page("POST", "?clientId=", String::new()),
    ] {
        let response = stack.function.handle(request).await;
        assert_eq!(response.status(), 404);
        let html = String::from_utf8(response.body().to_vec()).unwrap();
        assert!(html.contains("Installation not found"), "{html}");
    }
    assert_eq!(stack.function.handle(page("DELETE", "", String::new())).await.status(), 405);
}

async fn the_error_status_is_configurable(backend: Backend) {
    let stack = stack_with(backend, Mode::Success, &[("RETAILCRM_ERROR_STATUS", "400")]).await;
    let response = stack.function.handle(post("/retailcrm/register", stack.crm.register_json_body("wrong", "k"))).await;
    assert_eq!(response.status(), 400);
    let answer: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(answer["success"], false);
}

async fn malformed_requests_are_explained(backend: Backend) {
    let stack = stack(backend, Mode::Success).await;
    for (body, needle) in [
        (String::new(), "register[token]"),
        ("register=not-json".to_owned(), "JSON"),
        ("register[token]=a&register[apiKey]=b".to_owned(), "register[systemUrl]"),
        ("register=%FF".to_owned(), "UTF-8"),
    ] {
        let answer = call(&stack, "/retailcrm/register", body).await;
        assert_eq!(answer["success"], false);
        assert!(answer["errorMsg"].as_str().unwrap().contains(needle), "{answer}");
    }
    let response = stack.function.handle(post("/retailcrm/register", "x".repeat(70 * 1024))).await;
    assert_eq!(response.status(), 413);
    nothing_stored(&stack).await;
}

testkit::on_both_backends!(
    registers_with_the_json_shape,
    registers_with_the_bracket_shape,
    refuses_bad_tokens_before_anything_else,
    refuses_addresses_outside_the_allow_list,
    crm_failures_store_nothing,
    re_registration_updates_the_one_account,
    activity_and_settings_update_the_account,
    an_activity_callback_cannot_hand_an_installation_to_another_crm,
    fields_the_crm_adds_are_ignored,
    a_crm_that_moved_is_followed_once_it_proves_the_same_account,
    by_default_moves_are_followed_only_within_retailcrms_cloud,
    changed_scopes_are_asked_for_and_the_new_key_kept,
    the_account_url_may_be_the_vendors,
    the_account_page_shows_the_installation,
    malformed_requests_are_explained,
    the_error_status_is_configurable,
);

/// The RetailCRM call's latency and failures reach the metrics; a CRM failure is our side's (`Failed`), a refused
/// token the caller's (`Rejected`), although RetailCRM's protocol answers both with 200.
#[tokio::test]
async fn partner_calls_and_outcomes_are_measured() {
    use shared::edge::observed::Observed;
    let stack = stack(Backend::Embedded, Mode::Success).await;
    let metrics = testkit::assertions::telemetry::CollectedMetrics::new();
    let observed = Observed::new("register", stack.function, &Vars::default()).with_sink(metrics.clone());
    let body = stack.crm.register_json_body(SECRET, "key-1");
    assert_eq!(observed.handle(post("/retailcrm/register", body.clone())).await.status(), 200);
    stack.crm.set_mode(Mode::ServerError);
    assert_eq!(observed.handle(post("/retailcrm/register", body)).await.status(), 200);
    let bad_token = stack.crm.register_json_body("not-the-secret", "key-1");
    assert_eq!(observed.handle(post("/retailcrm/register", bad_token)).await.status(), 200);

    let requests = metrics.requests();
    let outcomes: Vec<_> = requests.iter().map(|d| (d["Outcome"].clone(), d.get("Reason").cloned())).collect();
    assert_eq!(
        outcomes,
        [
            ("accepted".into(), None),
            ("failed".into(), Some("unavailable".into())),
            ("rejected".into(), Some("refused".into())),
        ]
    );
    let namespace = &requests[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"];
    assert!(requests.iter().all(|d| d["Function"] == "register") && namespace == "Switchyard");
    let calls = metrics.partner("retailcrm");
    assert_eq!(calls.len(), 2, "the refused token never reached the CRM");
    assert_eq!((calls[0]["PartnerCalls"].as_u64(), calls[0]["PartnerCallFailures"].as_u64()), (Some(1), Some(0)));
    assert_eq!((calls[1]["PartnerCalls"].as_u64(), calls[1]["PartnerCallFailures"].as_u64()), (Some(1), Some(1)));
    assert!(calls.iter().all(|c| c["PartnerCallLatency"][0].as_f64().is_some_and(|ms| ms > 0.0)));
}
