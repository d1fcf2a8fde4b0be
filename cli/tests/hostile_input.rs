//! Every endpoint against every class of broken and hostile input, with valid credentials wherever the request
//! carries them (so the parsers behind authentication are reached): each case gets its documented status and the
//! partner's error body, nothing panics, and nothing is written.

use lambda_http::http::{HeaderName, HeaderValue, Method};
use lambda_http::{Body, Request, RequestExt};
use serde_json::{Value, json};
use shared::edge::handler::Handler;
use shared::ports::store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use testkit::aws::capacity::CountingStore;

const SBER_METER: &str = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1";

/// The error body a partner documents.
#[derive(Debug, Clone, Copy)]
enum Envelope {
    /// RetailCRM: HTTP 200 (the CRM's rule) with `{"success": false, "errorMsg"}`.
    RetailCrm,
    /// Sber: `{"code", "message"}` with the status as `code`.
    Sber,
    /// Ours (smart-me, webhooks, smallcase routes): `{"error", "message"}`.
    Ours,
    /// RFC 6749 section 5.2: `{"error", "error_description"}`.
    OAuth,
    /// The sign-in page: an HTML error page (never a redirect on bad input).
    Html,
}

struct Case {
    name: &'static str,
    function: &'static str,
    request: Request,
    status: u16,
    envelope: Envelope,
}

struct Credentials {
    sber_token: String,
    smallcase_token: String,
}

fn request(method: Method, path: &str, headers: &[(&str, &[u8])], body: impl Into<Vec<u8>>) -> Request {
    let body = body.into();
    let mut request = if body.is_empty() { Request::new(Body::Empty) } else { Request::new(Body::Binary(body)) };
    *request.method_mut() = method;
    *request.uri_mut() = path.parse().unwrap();
    for (name, value) in headers {
        let value = HeaderValue::from_bytes(value).unwrap_or_else(|e| panic!("{name}: {e}"));
        request.headers_mut().append(HeaderName::from_bytes(name.as_bytes()).unwrap(), value);
    }
    request
}

fn webhook(source: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Request {
    let path = format!("/webhooks/{}", source.replace('/', "%2F"));
    request(Method::POST, &path, headers, body.to_vec())
        .with_path_parameters(HashMap::from([("source".to_owned(), source.to_owned())]))
}

/// `[[[...]]]` nested `depth` times.
fn deep_json(depth: usize) -> Vec<u8> {
    let mut body = "[".repeat(depth);
    body.push_str(&"]".repeat(depth));
    body.into_bytes()
}

fn cases(credentials: &Credentials) -> Vec<Case> {
    use Envelope::*;
    let form: &[(&str, &[u8])] = &[("content-type", b"application/x-www-form-urlencoded")];
    let json_ct: &[u8] = b"application/json";
    let sber_auth = format!("Bearer {}", credentials.sber_token);
    let sber = |headers: &[(&str, &[u8])], body: &[u8]| {
        let mut all: Vec<(&str, &[u8])> = vec![("authorization", sber_auth.as_bytes())];
        all.extend_from_slice(headers);
        request(Method::POST, "/sber/v1/query", &all, body.to_vec())
    };
    let smallcase_auth = format!("Bearer {}", credentials.smallcase_token);
    let smallcase = |headers: &[(&str, &[u8])], body: &[u8]| {
        let mut all: Vec<(&str, &[u8])> = vec![("authorization", smallcase_auth.as_bytes())];
        all.extend_from_slice(headers);
        request(Method::POST, "/smallcase/transaction", &all, body.to_vec())
    };
    let basic = shared::codec::BasicCredentials::header_value("smartme-dev", "dev-smartme-password-not-for-production");
    let ingest = |body: &[u8], extra: &[(&str, &[u8])]| {
        let mut all: Vec<(&str, &[u8])> = vec![("authorization", basic.as_bytes())];
        all.extend_from_slice(extra);
        request(Method::POST, "/smartme/realtime", &all, body.to_vec())
    };
    let register =
        |body: &[u8], headers: &[(&str, &[u8])]| request(Method::POST, "/retailcrm/register", headers, body.to_vec());
    // With the client's valid credentials, so the form itself is what gets judged.
    let client = shared::codec::BasicCredentials::header_value("sber", "dev-sber-client-secret-not-for-production");
    let token = |body: &[u8], headers: &[(&str, &[u8])]| {
        let mut all: Vec<(&str, &[u8])> = vec![("authorization", client.as_bytes())];
        all.extend_from_slice(headers);
        request(Method::POST, "/oauth/token", &all, body.to_vec())
    };
    let big = vec![b'a'; 2 * 1024 * 1024];
    let long_header = vec![b'x'; 64 * 1024];
    let valid_query = json!({"devices": [SBER_METER]}).to_string();
    vec![
        // RetailCRM register: a form whose fields the CRM signs.
        Case { name: "register: empty body", function: "register", request: register(b"", form), status: 200, envelope: RetailCrm },
        Case { name: "register: oversized body", function: "register", request: register(&big, form), status: 413, envelope: RetailCrm },
        Case { name: "register: wrong content type", function: "register", request: register(b"register[apiKey]=k", &[("content-type", json_ct)]), status: 200, envelope: RetailCrm },
        Case { name: "register: missing content type", function: "register", request: register(b"register[apiKey]=k", &[]), status: 200, envelope: RetailCrm },
        Case { name: "register: invalid UTF-8", function: "register", request: register(b"register[apiKey]=\xff\xfe", form), status: 200, envelope: RetailCrm },
        Case { name: "register: invalid JSON", function: "register", request: register(b"register=%7B%22token", form), status: 200, envelope: RetailCrm },
        Case { name: "register: deep JSON nesting", function: "register", request: register(&[b"register=".as_slice(), &deep_json(5000)].concat(), form), status: 200, envelope: RetailCrm },
        Case { name: "register: duplicate fields", function: "register", request: register(b"register[apiKey]=a&register[apiKey]=b&register[token]=t&register[systemUrl]=https://a.retailcrm.ru", form), status: 200, envelope: RetailCrm },
        Case { name: "register: wrong types", function: "register", request: register(b"register=%7B%22apiKey%22%3A1%2C%22token%22%3A%5B%5D%2C%22systemUrl%22%3Anull%7D", form), status: 200, envelope: RetailCrm },
        Case { name: "register: missing fields", function: "register", request: register(b"register[apiKey]=k", form), status: 200, envelope: RetailCrm },
        Case { name: "register: nested bracket keys", function: "register", request: register(b"register[token][x][y]=1&register[[apiKey]]=2", form), status: 200, envelope: RetailCrm },
        Case { name: "register: overlong header", function: "register", request: register(b"register[apiKey]=k", &[("content-type", b"application/x-www-form-urlencoded"), ("x-request-id", &long_header)]), status: 200, envelope: RetailCrm },
        Case { name: "activity: unknown clientId with injection", function: "register", request: request(Method::POST, "/retailcrm/activity", form, b"clientId=..%2F..%2Fetc&activity=%7B%7D".to_vec()), status: 200, envelope: RetailCrm },
        Case { name: "settings: huge numbers", function: "register", request: request(Method::POST, "/retailcrm/settings", form, b"clientId=x&settings=%7B%22n%22%3A1e999999%7D".to_vec()), status: 200, envelope: RetailCrm },
        // smart-me: protobuf behind Basic credentials.
        Case { name: "ingest: oversized body", function: "ingest", request: ingest(&big, &[]), status: 413, envelope: Ours },
        Case { name: "ingest: not protobuf", function: "ingest", request: ingest(b"{\"DeviceId\": 1}", &[("content-type", json_ct)]), status: 400, envelope: Ours },
        Case { name: "ingest: invalid UTF-8 and truncated varint", function: "ingest", request: ingest(b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", &[]), status: 400, envelope: Ours },
        Case { name: "ingest: deep nesting", function: "ingest", request: ingest(&[0x0a, 0x02, 0x0a, 0x00].repeat(1000), &[]), status: 400, envelope: Ours },
        Case { name: "ingest: wrong wire type", function: "ingest", request: ingest(b"\x0d\x00\x00\x00\x00", &[]), status: 400, envelope: Ours },
        Case { name: "ingest: missing fields", function: "ingest", request: ingest(b"\x0a\x00", &[]), status: 400, envelope: Ours },
        Case { name: "ingest: overlong Authorization", function: "ingest", request: request(Method::POST, "/smartme/realtime", &[("authorization", &long_header)], b"\x0a\x00".to_vec()), status: 401, envelope: Ours },
        Case { name: "ingest: Basic with invalid UTF-8", function: "ingest", request: request(Method::POST, "/smartme/realtime", &[("authorization", b"Basic /w==")], b"\x0a\x00".to_vec()), status: 401, envelope: Ours },
        // Signed webhooks: no valid signature reaches storage.
        Case { name: "webhook: path traversal", function: "webhook", request: webhook("../../etc/passwd", &[], b"{}"), status: 404, envelope: Ours },
        Case { name: "webhook: encoded traversal", function: "webhook", request: webhook("%2e%2e", &[], b"{}"), status: 404, envelope: Ours },
        Case { name: "webhook: overlong source", function: "webhook", request: webhook(&"a".repeat(300), &[], b"{}"), status: 404, envelope: Ours },
        Case { name: "webhook: unknown source", function: "webhook", request: webhook("nosuchsource", &[], b"{}"), status: 404, envelope: Ours },
        Case { name: "webhook: missing signature", function: "webhook", request: webhook("schurter", &[("content-type", json_ct)], b"{}"), status: 400, envelope: Ours },
        Case { name: "webhook: garbage signature header", function: "webhook", request: webhook("schurter", &[("x-signature", b"v=1;t=;sig=;;;==")], b"{}"), status: 400, envelope: Ours },
        Case { name: "webhook: overlong signature header", function: "webhook", request: webhook("schurter", &[("x-signature", &long_header)], b"{}"), status: 400, envelope: Ours },
        Case { name: "webhook: huge timestamp", function: "webhook", request: webhook("schurter", &[("x-signature", b"v=1;t=99999999999999999999999;sig=00")], b"{}"), status: 400, envelope: Ours },
        Case { name: "webhook: duplicate signature headers", function: "webhook", request: webhook("schurter", &[("x-signature", b"v=1;t=1;sig=00"), ("x-signature", b"v=1;t=2;sig=11")], b"{}"), status: 401, envelope: Ours },
        Case { name: "webhook: wrong signature, invalid UTF-8 body", function: "webhook", request: webhook("schurter", &[("x-signature", b"v=1;t=1700000000;sig=0011")], b"\xff\xfe\xfd"), status: 401, envelope: Ours },
        Case { name: "webhook: oversized body", function: "webhook", request: webhook("schurter", &[], &big), status: 413, envelope: Ours },
        Case { name: "smallcase postback: invalid JSON", function: "webhook", request: webhook("smallcase", &[("content-type", json_ct)], b"{\"checksum\":"), status: 400, envelope: Ours },
        Case { name: "smallcase postback: wrong types", function: "webhook", request: webhook("smallcase", &[("content-type", json_ct)], br#"{"checksum": 1, "timestamp": [], "smallcaseAuthId": {}}"#), status: 400, envelope: Ours },
        // Sber: JSON behind a Bearer token.
        Case { name: "sber: empty body", function: "user", request: sber(&[("content-type", json_ct)], b""), status: 400, envelope: Sber },
        Case { name: "sber: oversized body", function: "user", request: sber(&[("content-type", json_ct)], &big), status: 413, envelope: Sber },
        Case { name: "sber: wrong content type", function: "user", request: sber(&[("content-type", b"text/plain")], valid_query.as_bytes()), status: 400, envelope: Sber },
        Case { name: "sber: invalid UTF-8", function: "user", request: sber(&[("content-type", json_ct)], b"{\"devices\": [\"\xff\"]}"), status: 400, envelope: Sber },
        Case { name: "sber: invalid JSON", function: "user", request: sber(&[("content-type", json_ct)], b"{\"devices\": ["), status: 400, envelope: Sber },
        Case { name: "sber: deep JSON nesting", function: "user", request: sber(&[("content-type", json_ct)], &deep_json(20_000)), status: 400, envelope: Sber },
        Case { name: "sber: huge numbers", function: "user", request: sber(&[("content-type", json_ct)], b"{\"devices\": [{\"id\": 1e999999}]}"), status: 400, envelope: Sber },
        Case { name: "sber: duplicate keys", function: "user", request: sber(&[("content-type", json_ct)], format!(r#"{{"devices": [], "devices": ["{SBER_METER}"]}}"#).as_bytes()), status: 400, envelope: Sber },
        Case { name: "sber: wrong types", function: "user", request: sber(&[("content-type", json_ct)], br#"{"devices": {"id": true}}"#), status: 400, envelope: Sber },
        Case { name: "sber: missing fields", function: "user", request: sber(&[("content-type", json_ct)], b"{}"), status: 400, envelope: Sber },
        Case { name: "sber: header injection in X-Request-Id", function: "user", request: sber(&[("content-type", json_ct), ("x-request-id", b"a%0d%0aSet-Cookie: s=1\x80")], b"{}"), status: 400, envelope: Sber },
        Case { name: "sber: overlong token", function: "user", request: request(Method::POST, "/sber/v1/query", &[("authorization", &[b"Bearer ".as_slice(), &long_header].concat())], valid_query.clone()), status: 401, envelope: Sber },
        // OAuth token endpoint: forms, RFC 6749 errors.
        Case { name: "token: empty body", function: "token", request: token(b"", form), status: 400, envelope: OAuth },
        Case { name: "token: oversized body", function: "token", request: token(&big, form), status: 413, envelope: OAuth },
        Case { name: "token: wrong content type", function: "token", request: token(b"{\"grant_type\": \"refresh_token\"}", &[("content-type", json_ct)]), status: 400, envelope: OAuth },
        Case { name: "token: missing content type", function: "token", request: token(b"grant_type=refresh_token&refresh_token=x", &[]), status: 400, envelope: OAuth },
        Case { name: "token: invalid UTF-8", function: "token", request: token(b"grant_type=\xff", form), status: 400, envelope: OAuth },
        Case { name: "token: duplicate fields", function: "token", request: token(b"grant_type=refresh_token&grant_type=authorization_code&refresh_token=x", form), status: 400, envelope: OAuth },
        Case { name: "token: missing fields", function: "token", request: token(b"grant_type=refresh_token", form), status: 400, envelope: OAuth },
        Case { name: "token: overlong Basic", function: "token", request: request(Method::POST, "/oauth/token", &[("content-type", b"application/x-www-form-urlencoded"), ("authorization", &[b"Basic ".as_slice(), &long_header].concat())], b"grant_type=refresh_token&refresh_token=x".to_vec()), status: 401, envelope: OAuth },
        Case { name: "token: unknown refresh token", function: "token", request: token(b"grant_type=refresh_token&refresh_token=..%2F..%2Fetc", form), status: 400, envelope: OAuth },
        Case { name: "authorize: path traversal in redirect_uri", function: "token", request: request(Method::GET, "/oauth/authorize?response_type=code&client_id=sber&redirect_uri=https%3A%2F%2Fgateway.iot.sberdevices.ru%2Fgateway%2Fv1%2Fbinder%2Fbackward%2F..%2F..%2Fevil&state=s", &[], Vec::new()), status: 400, envelope: Html },
        Case { name: "authorize: duplicate client_id", function: "token", request: request(Method::GET, "/oauth/authorize?response_type=code&client_id=sber&client_id=app-dev&redirect_uri=x&state=s", &[], Vec::new()), status: 400, envelope: Html },
        Case { name: "authorize: overlong state", function: "token", request: request(Method::GET, &format!("/oauth/authorize?response_type=code&client_id=nobody&state={}", "s".repeat(20_000)), &[], Vec::new()), status: 400, envelope: Html },
        // smallcase: JSON behind a Bearer token.
        Case { name: "smallcase: empty body", function: "token", request: smallcase(&[("content-type", json_ct)], b""), status: 400, envelope: Ours },
        Case { name: "smallcase: oversized body", function: "token", request: smallcase(&[("content-type", json_ct)], &big), status: 413, envelope: Ours },
        Case { name: "smallcase: wrong content type", function: "token", request: smallcase(&[("content-type", b"text/plain")], br#"{"intent": "CONNECT"}"#), status: 415, envelope: Ours },
        Case { name: "smallcase: invalid JSON", function: "token", request: smallcase(&[("content-type", json_ct)], b"{\"intent\""), status: 400, envelope: Ours },
        Case { name: "smallcase: deep nesting", function: "token", request: smallcase(&[("content-type", json_ct)], &deep_json(8_000)), status: 400, envelope: Ours },
        Case { name: "smallcase: duplicate keys", function: "token", request: smallcase(&[("content-type", json_ct)], br#"{"intent": "CONNECT", "intent": "TRANSACTION"}"#), status: 400, envelope: Ours },
        Case { name: "smallcase: wrong types", function: "token", request: smallcase(&[("content-type", json_ct)], br#"{"intent": 7}"#), status: 400, envelope: Ours },
        Case { name: "smallcase: huge numbers", function: "token", request: smallcase(&[("content-type", json_ct)], br#"{"intent": "TRANSACTION", "orderConfig": {"type": "SECURITIES", "securities": [{"ticker": "X", "quantity": 1e999999}]}}"#), status: 400, envelope: Ours },
        Case { name: "smallcase: missing fields", function: "token", request: smallcase(&[("content-type", json_ct)], b"{}"), status: 400, envelope: Ours },
        // config answers a GET without input: a body or odd headers change nothing.
        Case { name: "config: traversal path", function: "config", request: request(Method::GET, "/retailcrm/config/../../etc", &[], Vec::new()), status: 404, envelope: RetailCrm },
    ]
}

#[tokio::test]
async fn every_endpoint_refuses_every_class_of_bad_input_without_writing() {
    let dir = std::env::temp_dir().join(testkit::unique_name("hostile"));
    std::fs::create_dir_all(&dir).unwrap();
    testkit::assertions::leaks::capture_tracing();
    let credentials = seed(&dir).await;
    let inner = shared::ports::store::embedded::EmbeddedStore::open(&dir.join("store.redb")).unwrap();
    let store = Arc::new(CountingStore::new(inner));
    let mut secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(testkit::workspace_root().join("local/secrets.json")).unwrap())
            .unwrap();
    secrets["webhook/smallcase"] = json!({"scheme": "smallcase", "secret": "smallcase-api-secret-for-hostile"});
    let deps = shared::Deps::new(
        store.clone() as Arc<dyn Store>,
        Arc::new(shared::ports::secrets::FileSecrets::from_json(secrets).unwrap()),
    );
    let vars = shared::env::Vars::from_pairs([("SWITCHYARD_PUBLIC_URL", "https://api.switchyard.test")]);
    let handlers: HashMap<&str, Arc<dyn Handler>> = HashMap::from([
        ("config", Arc::new(switchyard_config::ConfigFunction::from_vars(&vars).unwrap()) as Arc<dyn Handler>),
        ("register", Arc::new(switchyard_register::RegisterFunction::new(deps.clone(), &vars).unwrap())),
        ("user", Arc::new(switchyard_user::UserFunction::new(deps.clone(), &vars).unwrap())),
        ("ingest", Arc::new(switchyard_ingest::IngestFunction::new(deps.clone(), &vars).unwrap())),
        ("webhook", Arc::new(switchyard_webhook::WebhookFunction::new(deps.clone(), &vars).unwrap())),
        ("token", Arc::new(switchyard_token::TokenFunction::new(deps.clone(), &vars).unwrap())),
    ]);
    store.take();
    let secret_values = testkit::assertions::leaks::dev_secret_values();
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in cases(&credentials) {
        let response = handlers[case.function].handle(case.request).await;
        let status = response.status().as_u16();
        let (_, _, calls) = store.take();
        let body = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        let mut wrong = Vec::new();
        if status != case.status {
            wrong.push(format!("status {status}, documented {}", case.status));
        }
        if !envelope_holds(case.envelope, status, &body) {
            wrong.push(format!("not the {:?} error body", case.envelope));
        }
        let writes: Vec<_> = calls.iter().filter(|c| !matches!(**c, "GetItem" | "Query" | "BatchGetItem")).collect();
        if !writes.is_empty() {
            wrong.push(format!("wrote {writes:?}"));
        }
        if response.headers().contains_key("set-cookie") && case.function != "token" {
            wrong.push("answered with a cookie".into());
        }
        if let Some(secret) = secret_values.iter().find(|v| body.contains(v.as_str())) {
            wrong.push(format!("the answer contains a secret ({} characters)", secret.len()));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {} -- {}",
                case.name,
                wrong.join("; "),
                body.chars().take(160).collect::<String>()
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{} of {checked} cases:\n{}", failures.len(), failures.join("\n"));
    assert!(checked >= 60);
}

fn envelope_holds(envelope: Envelope, status: u16, body: &str) -> bool {
    let json: Option<Value> = serde_json::from_str(body).ok();
    match (envelope, &json) {
        (Envelope::RetailCrm, Some(j)) => j["success"] == false && j["errorMsg"].is_string(),
        (Envelope::Sber, Some(j)) => j["code"] == status && j["message"].is_string(),
        (Envelope::Ours, Some(j)) => j["error"].is_string() && j["message"].is_string(),
        (Envelope::OAuth, Some(j)) => j["error"].is_string() && j["error_description"].is_string(),
        (Envelope::Html, None) => body.contains("<html") || body.contains("<!doctype"),
        _ => false,
    }
}

/// A user with a meter and access tokens for Sber and the smallcase routes, made with the operator CLI.
async fn seed(dir: &std::path::Path) -> Credentials {
    let secrets = testkit::workspace_root().join("local/secrets.json");
    let run = async |args: &[&str], stdin: &str| -> String {
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(args)
            .arg("--data")
            .arg(dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .env_remove("SWITCHYARD_TABLE")
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).await.unwrap();
        let output = child.wait_with_output().await.unwrap();
        assert!(output.status.success(), "{args:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    run(&["user", "add", "hostile"], "hostile-password\n").await;
    run(&["device", "link", "--user", "hostile", "--smartme-device", SBER_METER, "--name", "Meter"], "").await;
    let secrets = secrets.to_str().unwrap();
    let sber_token = run(&["token", "mint", "--user", "hostile", "--client", "sber", "--secrets", secrets], "").await;
    let smallcase_token =
        run(&["token", "mint", "--user", "hostile", "--client", "app-dev", "--secrets", secrets], "").await;
    testkit::assertions::leaks::fixture_secrets([&sber_token, &smallcase_token, &"hostile-password".to_owned()]);
    Credentials { sber_token, smallcase_token }
}

/// No caller can make a log line long, or forge one: request-derived fields are bounded (a few hundred characters,
/// then a marker) and escaped wherever they are logged, whatever the route. Each oversized field below used to
/// reach a log line whole (a 64 KiB `systemUrl` of control characters made a 393 KB line).
#[tokio::test]
async fn oversized_fields_make_bounded_log_lines() {
    let dir = std::env::temp_dir().join(testkit::unique_name("hostile-logs"));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(shared::ports::store::embedded::EmbeddedStore::open(&dir.join("store.redb")).unwrap());
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(testkit::workspace_root().join("local/secrets.json")).unwrap())
            .unwrap();
    let deps = shared::Deps::new(store, Arc::new(shared::ports::secrets::FileSecrets::from_json(secrets).unwrap()));
    let vars = shared::env::Vars::from_pairs([("SWITCHYARD_PUBLIC_URL", "https://api.switchyard.test")]);
    fn observed<H: Handler + 'static>(name: &'static str, handler: H, vars: &shared::env::Vars) -> Arc<dyn Handler> {
        let observed = shared::edge::observed::Observed::new(name, handler, vars);
        Arc::new(observed.with_sink(Arc::new(shared::telemetry::NoMetrics)))
    }
    let register =
        observed("register", switchyard_register::RegisterFunction::new(deps.clone(), &vars).unwrap(), &vars);
    let webhook = observed("webhook", switchyard_webhook::WebhookFunction::new(deps.clone(), &vars).unwrap(), &vars);
    let user = observed("user", switchyard_user::UserFunction::new(deps.clone(), &vars).unwrap(), &vars);
    let token = observed("token", switchyard_token::TokenFunction::new(deps.clone(), &vars).unwrap(), &vars);
    let controls: String = (0..60 * 1024).map(|n| char::from(1 + (n % 30) as u8)).collect();
    let huge = "x".repeat(60 * 1024);
    let form: &[(&str, &[u8])] = &[("content-type", b"application/x-www-form-urlencoded")];
    let cases: Vec<(&str, &Arc<dyn Handler>, Request)> = vec![
        (
            "register: a systemUrl of control characters",
            &register,
            request(
                Method::POST,
                "/retailcrm/register",
                form,
                shared::codec::form::encode([
                    ("register[token]", "not-the-token"),
                    ("register[apiKey]", "key"),
                    ("register[systemUrl]", controls.as_str()),
                ]),
            ),
        ),
        (
            "activity: an oversized clientId",
            &register,
            request(
                Method::POST,
                "/retailcrm/activity",
                form,
                shared::codec::form::encode([("clientId", controls.as_str()), ("activity", "{}")]),
            ),
        ),
        ("webhook: an oversized path", &webhook, webhook_request(&huge)),
        (
            "sber: an oversized request id and token",
            &user,
            request(
                Method::GET,
                "/sber/v1/devices",
                &[("x-request-id", huge.as_bytes()), ("authorization", format!("Bearer {huge}").as_bytes())],
                Vec::new(),
            ),
        ),
        (
            "token: an oversized login",
            &token,
            request(
                Method::POST,
                "/oauth/token",
                form,
                shared::codec::form::encode([("grant_type", huge.as_str()), ("code", controls.as_str())]),
            ),
        ),
    ];
    for (name, handler, request) in cases {
        let (response, lines) = testkit::assertions::telemetry::logged(handler.handle(request)).await;
        assert!(response.status().as_u16() < 500, "{name}: {}", response.status());
        assert!(!lines.is_empty(), "{name}: the request line at least");
        let longest = lines.iter().map(|l| l.to_string().len()).max().unwrap();
        assert!(longest <= 4096, "{name}: a log line of {longest} bytes");
    }
}

fn webhook_request(source: &str) -> Request {
    webhook(source, &[("content-type", b"application/json")], b"{}")
}
