//! The local runner, as `cargo run` starts it: one server on loopback in front of every function.

use testkit::http_client::{Runner, send};

async fn runner() -> (Runner, std::path::PathBuf) {
    let data = std::env::temp_dir().join(testkit::unique_name("runner"));
    let secrets = testkit::workspace_root().join("local/secrets.json");
    (Runner::start(env!("CARGO_BIN_EXE_switchyard"), &data, &secrets, &[]).await, data)
}

#[tokio::test]
async fn serves_the_retailcrm_configuration() {
    let (runner, data) = runner().await;
    let reply = send(&runner.base, "GET", "/retailcrm/config", &[], "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "application/json");
    let body = reply.json();
    assert_eq!(body["success"], true);
    // Without SWITCHYARD_PUBLIC_URL the runner's own address is the public URL.
    assert_eq!(body["registerUrl"], format!("{}/retailcrm/register", runner.base));
    assert_eq!(body["scopes"], serde_json::json!(["integration_read", "integration_write"]));
    assert!(data.join("store.redb").exists(), "the embedded store lives under --data");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_refused() {
    let (runner, _) = runner().await;
    let reply = send(&runner.base, "GET", "/nowhere", &[], "").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"], "not_found");
    let reply = send(&runner.base, "DELETE", "/retailcrm/config", &[], "").await;
    assert_eq!(reply.status, 405);
}

#[tokio::test]
async fn a_missing_secrets_file_stops_the_runner_with_a_clear_error() {
    let data = std::env::temp_dir().join(testkit::unique_name("runner"));
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--secrets", "/nonexistent/secrets.json", "--data"])
        .arg(&data)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/secrets.json"), "{stderr}");
}

#[tokio::test]
async fn the_crm_connects_the_module_through_the_runner() {
    let crm = testkit::partners::retailcrm::FakeRetailCrm::start(testkit::partners::retailcrm::Mode::Success).await;
    let data = std::env::temp_dir().join(testkit::unique_name("runner"));
    let secrets_path = testkit::workspace_root().join("local/secrets.json");
    let runner = Runner::start(
        env!("CARGO_BIN_EXE_switchyard"),
        &data,
        &secrets_path,
        &[("RETAILCRM_ALLOWED_HOSTS", crm.url.as_str())],
    )
    .await;
    let secrets: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&secrets_path).unwrap()).unwrap();
    let module_secret = secrets["retailcrm"]["secret"].as_str().unwrap();

    // The CRM opens the module card: it asks for the configuration, then posts to the registerUrl it was given.
    let config = send(&runner.base, "GET", "/retailcrm/config", &[], "").await.json();
    let register_url = config["registerUrl"].as_str().unwrap();
    let register_path = register_url.strip_prefix(&runner.base).unwrap();
    let body = crm.register_json_body(module_secret, "crm-key-1");
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let reply = send(&runner.base, "POST", register_path, &headers, body).await;
    assert_eq!(reply.status, 200);
    let answer = reply.json();
    assert_eq!(answer["success"], true, "{answer}");
    let calls = crm.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].api_key.as_deref(), Some("crm-key-1"));
    assert_eq!(calls[0].module["baseUrl"], runner.base.as_str());
    let client_id = calls[0].module["clientId"].as_str().unwrap();
    assert_eq!(answer["accountUrl"], format!("{}/retailcrm/account", runner.base));
    // The CRM sends its user there with a POST carrying clientId: the account page of that installation.
    let body = shared::codec::form::encode([("clientId", client_id)]);
    let page = send(&runner.base, "POST", "/retailcrm/account", &headers, body).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains(&crm.url), "{}", page.text());
}

#[tokio::test]
async fn a_delivery_signed_with_switchyard_sign_is_received_once() {
    let (runner, _) = runner().await;
    let body_path = std::env::temp_dir().join(testkit::unique_name("body"));
    let body = br#"{"event":"device.alarm","deviceId":"d-7"}"#;
    std::fs::write(&body_path, body).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["sign", "--source", "schurter", "--secrets"])
        .arg(testkit::workspace_root().join("local/secrets.json"))
        .arg("--body")
        .arg(&body_path)
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).unwrap();
    let headers: Vec<(String, String)> = printed
        .lines()
        .map(|line| {
            let (name, value) = line.split_once(": ").unwrap();
            (name.to_ascii_lowercase(), value.to_owned())
        })
        .collect();
    assert!(headers.iter().any(|(n, v)| n == "x-signature" && v.starts_with("v=1;t=")));
    let mut request_headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    request_headers.push(("content-type", "application/json"));
    let first = send(&runner.base, "POST", "/webhooks/schurter", &request_headers, &body[..]).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.json()["received"], true);
    let again = send(&runner.base, "POST", "/webhooks/schurter", &request_headers, &body[..]).await;
    assert_eq!(again.json()["duplicate"], true);
}

/// The value of hidden input `name` in an HTML form.
fn hidden(html: &str, name: &str) -> String {
    let start =
        html.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name}")) + name.len() + 15;
    html[start..].split('"').next().unwrap().replace("&amp;", "&")
}

#[tokio::test]
async fn an_app_links_an_account_and_gets_a_smallcase_token_through_the_runner() {
    let data = std::env::temp_dir().join(testkit::unique_name("runner"));
    let secrets = testkit::workspace_root().join("local/secrets.json");
    let runner = Runner::start(env!("CARGO_BIN_EXE_switchyard"), &data, &secrets, &[]).await;
    // The user is added while the runner serves: the CLI writes through the runner's store.
    let mut adding = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["user", "add", "dev", "--data"])
        .arg(&data)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = adding.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, b"dev-password-123\n").await.unwrap();
    drop(stdin);
    let added = adding.wait().await.unwrap();
    assert!(added.success());

    let verifier = "runner-verifier-runner-verifier-runner-verifier";
    let challenge = shared::identity::oauth::pkce::challenge_of(verifier);
    let query = shared::codec::form::encode([
        ("response_type", "code"),
        ("client_id", "app-dev"),
        ("redirect_uri", "http://localhost:8080/callback"),
        ("state", "s-1"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let page = send(&runner.base, "GET", &format!("/oauth/authorize?{query}"), &[], "").await;
    assert_eq!(page.status, 200);
    let cookie = page.headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let html = page.text();
    let form = shared::codec::form::encode([
        ("response_type", "code"),
        ("client_id", "app-dev"),
        ("redirect_uri", hidden(&html, "redirect_uri").as_str()),
        ("scope", hidden(&html, "scope").as_str()),
        ("state", hidden(&html, "state").as_str()),
        ("code_challenge", hidden(&html, "code_challenge").as_str()),
        ("code_challenge_method", "S256"),
        ("csrf_token", hidden(&html, "csrf_token").as_str()),
        ("username", "dev"),
        ("password", "dev-password-123"),
    ]);
    let form_type = ("content-type", "application/x-www-form-urlencoded");
    let signed_in = send(&runner.base, "POST", "/oauth/authorize", &[form_type, ("cookie", &cookie)], form).await;
    assert_eq!(signed_in.status, 302, "{}", signed_in.text());
    let location = url::Url::parse(signed_in.headers["location"].to_str().unwrap()).unwrap();
    let code = location.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();

    let exchange = shared::codec::form::encode([
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", "http://localhost:8080/callback"),
        ("client_id", "app-dev"),
        ("code_verifier", verifier),
    ]);
    let tokens = send(&runner.base, "POST", "/oauth/token", &[form_type], exchange).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let access = tokens.json()["access_token"].as_str().unwrap().to_owned();

    let bearer = format!("Bearer {access}");
    let smallcase = send(&runner.base, "POST", "/smallcase/token", &[("authorization", &bearer)], "").await;
    assert_eq!(smallcase.status, 200, "{}", smallcase.text());
    assert!(smallcase.json()["smallcaseAuthToken"].as_str().is_some_and(|t| t.split('.').count() == 3));
}

/// Runs `switchyard <args>` on the embedded store in `data` with the repository's secrets file; its standard output.
async fn cli(data: &std::path::Path, env: &[(&str, &str)], args: &[&str], stdin: &str) -> String {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"));
    command
        .args(args)
        .arg("--data")
        .arg(data)
        .arg("--secrets")
        .arg(testkit::workspace_root().join("local/secrets.json"))
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut input, stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "switchyard {args:?}: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn sber_hears_of_readings_through_the_runner_and_of_devices_through_the_cli() {
    let secrets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(testkit::workspace_root().join("local/secrets.json")).unwrap())
            .unwrap();
    let api_key = secrets["sber"]["api_key"].as_str().unwrap();
    let sber = testkit::partners::sber_api::FakeSber::start(&format!("Bearer {api_key}")).await;
    let env = [("SBER_API_URL", sber.url.as_str())];
    let data = std::env::temp_dir().join(testkit::unique_name("runner"));
    let meter = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1";

    let added = cli(&data, &env, &["user", "add", "alice"], "alice-password-123\n").await;
    let alice = added.split('\t').next().unwrap().to_owned();
    let link = ["device", "link", "--user", "alice", "--smartme-device", meter, "--name", "Hall"];
    cli(&data, &env, &[&link[..], &["--switch-action", "1-0:99.12.0*255"]].concat(), "").await;
    assert!(sber.calls().is_empty(), "Sber has not linked alice yet: nothing to tell it");
    let token = cli(&data, &env, &["token", "mint", "--user", "alice", "--client", "sber"], "").await;

    let runner = Runner::start(
        env!("CARGO_BIN_EXE_switchyard"),
        &data,
        &testkit::workspace_root().join("local/secrets.json"),
        &env,
    )
    .await;
    // Sber links alice: it asks who she is, then for her devices.
    let bearer = format!("Bearer {}", token.trim());
    let user = send(&runner.base, "GET", "/sber/v1/user", &[("authorization", &bearer)], "").await;
    assert_eq!((user.status, user.json()["id"].as_str()), (200, Some(alice.as_str())));
    // smart-me posts a reading: ingest answers smart-me, and Sber is told of the state off that path.
    let realtime = shared::codec::BasicCredentials::header_value(
        secrets["smartme"]["username"].as_str().unwrap(),
        secrets["smartme"]["password"].as_str().unwrap(),
    );
    let now_ms = shared::ports::clock::now_epoch() * 1000;
    let post = shared::partners::smartme::post::body(vec![shared::partners::smartme::post::reading(
        meter.parse().unwrap(),
        now_ms,
        &[([1, 0, 1, 7, 0, 255], 42.0), ([1, 0, 32, 7, 0, 255], 230.0)],
    )]);
    let posted = send(&runner.base, "POST", "/smartme/realtime", &[("authorization", &realtime)], post).await;
    assert_eq!(posted.status, 200, "{}", posted.text());
    let pushed = sber
        .wait_for(std::time::Duration::from_secs(20), |calls| {
            calls.iter().any(|c| c.path == "/v1/state" && c.status == 200)
        })
        .await;
    assert!(pushed, "no state push reached Sber: {:?}", sber.calls());
    let push = sber.accepted().into_iter().find(|c| c.path == "/v1/state").unwrap();
    let states = push.body["devices"][meter]["states"].as_array().unwrap().clone();
    assert!(states.contains(&serde_json::json!({"key": "power", "value": {"type": "INTEGER", "integer_value": "42"}})));
    assert!(states.contains(&serde_json::json!({"key": "online", "value": {"type": "BOOL", "bool_value": true}})));
    runner.stop().await;

    // The operator unlinks the meter with the runner stopped: the CLI tells Sber before it exits.
    cli(&data, &env, &["device", "unlink", "--user", "alice", "--smartme-device", meter], "").await;
    let last = sber.accepted().pop().unwrap();
    assert_eq!((last.method.as_str(), last.path.as_str()), ("DELETE", "/v1/devices"));
    assert_eq!(last.body, serde_json::json!({"device_ids": [meter]}));
}

/// A client that sends its headers, or its body, too slowly cannot hold a connection: the runner closes the one and
/// answers the other 408 (`SWITCHYARD_RUNNER_READ_TIMEOUT_MS`, short here so the test need not wait).
#[tokio::test]
async fn slow_clients_are_not_waited_for() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let data = std::env::temp_dir().join(testkit::unique_name("runner"));
    let secrets = testkit::workspace_root().join("local/secrets.json");
    let env = [("SWITCHYARD_RUNNER_READ_TIMEOUT_MS", "300")];
    let runner = Runner::start(env!("CARGO_BIN_EXE_switchyard"), &data, &secrets, &env).await;
    let authority = runner.base.trim_start_matches("http://").to_owned();
    // Headers never finished: the connection is closed (the read ends), not held.
    let mut slow_headers = tokio::net::TcpStream::connect(&authority).await.unwrap();
    slow_headers.write_all(b"GET /retailcrm/config HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(60), slow_headers.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the runner still holds a connection whose headers never came");
    // A body that never arrives whole: 408.
    let mut slow_body = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let head = "POST /retailcrm/register HTTP/1.1\r\nHost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
                content-length: 100\r\n\r\nregister=";
    slow_body.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let answered = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        let mut buffer = [0u8; 1024];
        while !String::from_utf8_lossy(&answer).contains("\r\n\r\n") {
            let n = slow_body.read(&mut buffer).await.unwrap();
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
        }
    })
    .await;
    assert!(answered.is_ok());
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 408"), "{}", String::from_utf8_lossy(&answer));
    assert_eq!(send(&runner.base, "GET", "/retailcrm/config", &[], "").await.status, 200, "and it serves on");
}

/// Out of file descriptors (EMFILE), the runner keeps serving: it stops accepting for a moment, not for good.
#[tokio::test]
async fn running_out_of_file_descriptors_does_not_stop_the_runner() {
    let data = std::env::temp_dir().join(testkit::unique_name("runner"));
    std::fs::create_dir_all(&data).unwrap();
    let secrets = testkit::workspace_root().join("local/secrets.json");
    // The runner under a small descriptor limit.
    let wrapper = data.join("runner-with-few-fds.sh");
    std::fs::write(&wrapper, format!("#!/bin/sh\nulimit -n 64\nexec {} \"$@\"\n", env!("CARGO_BIN_EXE_switchyard")))
        .unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let runner = Runner::start(wrapper.to_str().unwrap(), &data, &secrets, &[]).await;
    let authority = runner.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..120 {
        if let Ok(stream) = tokio::net::TcpStream::connect(&authority).await {
            held.push(stream);
        }
    }
    assert!(held.len() >= 64, "more connections than the runner has descriptors");
    drop(held);
    assert_eq!(send(&runner.base, "GET", "/retailcrm/config", &[], "").await.status, 200, "still serving");
}
