//! The local runner, as `cargo run` starts it: one server on loopback in front of every function.

use testkit::http::{Runner, send};

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
    let crm = testkit::retailcrm::FakeCrm::start(testkit::retailcrm::Mode::Success).await;
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
    assert!(answer["accountUrl"].as_str().unwrap().ends_with(client_id));
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
