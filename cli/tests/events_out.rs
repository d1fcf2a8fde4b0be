//! Events out on the runner, end to end: partners' calls through the local runner (a signed webhook, a smart-me
//! post, a RetailCRM registration and activity callback, a smallcase connection) and an operator's command put
//! exactly the events a stack with an `EventBusName` would publish on its bus, which `switchyard events tail` shows,
//! each valid against its schema.

use serde_json::{Value, json};
use testkit::http_client::{Runner, send};

const METER: &str = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1";

async fn switchyard(data: &std::path::Path, args: &[&str], stdin: &str) -> String {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"));
    command.args(args);
    if args[0] != "sign" {
        command.arg("--data").arg(data);
    }
    if args[0] != "events" {
        command.arg("--secrets").arg(testkit::workspace_root().join("local/secrets.json"));
    }
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut input, stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success(), "switchyard {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The events published so far, as `switchyard events tail --output json` prints them.
async fn published(data: &std::path::Path) -> Vec<Value> {
    let text = switchyard(data, &["events", "tail", "--output", "json"], "").await;
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Waits (bounded) until the runner's stream has published `count` events: it publishes off the request path.
async fn published_at_least(data: &std::path::Path, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let events = published(data).await;
        if events.len() >= count || tokio::time::Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn kinds(events: &[Value]) -> Vec<(String, String)> {
    events.iter().map(|e| (e["source"].as_str().unwrap().into(), e["detail-type"].as_str().unwrap().into())).collect()
}

#[tokio::test]
async fn every_kind_of_event_comes_out_of_the_runner() {
    let data = std::env::temp_dir().join(testkit::unique_name("runner"));
    let secrets_path = testkit::workspace_root().join("local/secrets.json");
    let secrets: Value = serde_json::from_str(&std::fs::read_to_string(&secrets_path).unwrap()).unwrap();
    let sc = &secrets["smallcase"];
    let gateway = testkit::partners::smallcase::FakeSmallcase::start(
        sc["gateway_name"].as_str().unwrap(),
        sc["api_secret"].as_str().unwrap(),
        sc["secret"].as_str().unwrap(),
        testkit::partners::smallcase::Mode::Success,
    )
    .await;
    let crm = testkit::partners::retailcrm::FakeRetailCrm::start(testkit::partners::retailcrm::Mode::Success).await;
    switchyard(&data, &["user", "add", "dev"], "dev-password-123\n").await;
    let access = switchyard(&data, &["token", "mint", "--user", "dev", "--client", "app-dev"], "").await;
    assert!(published(&data).await.is_empty(), "adding a user publishes nothing");
    let runner = Runner::start(
        env!("CARGO_BIN_EXE_switchyard"),
        &data,
        &secrets_path,
        &[("SMALLCASE_GATEWAY_URL", gateway.url.as_str()), ("RETAILCRM_ALLOWED_HOSTS", crm.url.as_str())],
    )
    .await;

    // A signed webhook.
    let body = br#"{"event":"device.alarm","deviceId":"d-7"}"#;
    let body_path = std::env::temp_dir().join(testkit::unique_name("body"));
    std::fs::write(&body_path, body).unwrap();
    let signed = switchyard(&data, &["sign", "--source", "schurter", "--body", body_path.to_str().unwrap()], "").await;
    let mut headers: Vec<(&str, &str)> = signed.lines().filter_map(|l| l.split_once(": ")).collect();
    headers.push(("content-type", "application/json"));
    assert_eq!(send(&runner.base, "POST", "/webhooks/schurter", &headers, &body[..]).await.status, 200);

    // A smart-me post of two readings of one meter.
    let realtime = shared::codec::BasicCredentials::header_value(
        secrets["smartme"]["username"].as_str().unwrap(),
        secrets["smartme"]["password"].as_str().unwrap(),
    );
    let now_ms = shared::ports::clock::now_epoch() * 1000;
    let reading =
        |ms| shared::partners::smartme::post::reading(METER.parse().unwrap(), ms, &[([1, 0, 1, 8, 0, 255], 1000.0)]);
    let post = shared::partners::smartme::post::body(vec![reading(now_ms - 60_000), reading(now_ms - 30_000)]);
    let posted = send(&runner.base, "POST", "/smartme/realtime", &[("authorization", &realtime)], post).await;
    assert_eq!(posted.status, 200, "{}", posted.text());

    // The CRM installs the module, then switches it off.
    let form = ("content-type", "application/x-www-form-urlencoded");
    let config = send(&runner.base, "GET", "/retailcrm/config", &[], "").await.json();
    let register_path = config["registerUrl"].as_str().unwrap().strip_prefix(&runner.base).unwrap().to_owned();
    let module_secret = secrets["retailcrm"]["secret"].as_str().unwrap();
    let registered =
        send(&runner.base, "POST", &register_path, &[form], crm.register_json_body(module_secret, "crm-key-1")).await;
    assert_eq!(registered.json()["success"], true);
    let client_id = crm.calls()[0].module["clientId"].as_str().unwrap().to_owned();
    let activity = shared::codec::form::encode([
        ("clientId", client_id.as_str()),
        ("systemUrl", crm.url.as_str()),
        ("activity", r#"{"active": false, "freeze": false}"#),
    ]);
    let switched = send(&runner.base, "POST", "/retailcrm/activity", &[form], activity).await;
    assert_eq!(switched.json()["success"], true, "{}", switched.text());

    // The app connects the user's broker account through the Gateway.
    let bearer = format!("Bearer {}", access.trim());
    let json_type = ("content-type", "application/json");
    let created = send(
        &runner.base,
        "POST",
        "/smallcase/transaction",
        &[("authorization", &bearer), json_type],
        json!({"intent": "CONNECT"}).to_string(),
    )
    .await;
    let transaction = created.json()["transactionId"].as_str().unwrap().to_owned();
    gateway.set_transaction(&transaction, "COMPLETED", Some("auth-broker-1"));
    let status =
        send(&runner.base, "GET", &format!("/smallcase/transaction/{transaction}"), &[("authorization", &bearer)], "")
            .await;
    assert_eq!(status.json()["connected"], true, "{}", status.text());

    let events = published_at_least(&data, 5).await;
    runner.stop().await;
    // The operator removes the user: their connection goes with them.
    switchyard(&data, &["user", "remove", "dev", "--yes"], "").await;
    let mut events = events;
    events.extend(published(&data).await.into_iter().skip(events.len()));

    let mut got = kinds(&events);
    got.sort();
    let mut expected: Vec<(String, String)> = [
        ("switchyard.webhooks", "Webhook Received"),
        ("switchyard.smartme", "Meter Readings Stored"),
        ("switchyard.retailcrm", "Installation Registered"),
        ("switchyard.retailcrm", "Installation Activity Changed"),
        ("switchyard.smallcase", "Connection Changed"),
        ("switchyard.smallcase", "Connection Changed"),
    ]
    .iter()
    .map(|(s, d)| (s.to_string(), d.to_string()))
    .collect();
    expected.sort();
    assert_eq!(got, expected, "{events:#?}");
    for event in &events {
        testkit::assertions::event_schemas::validate(event).unwrap();
    }
    let readings = events.iter().find(|e| e["source"] == "switchyard.smartme").unwrap();
    assert_eq!((&readings["detail"]["deviceId"], &readings["detail"]["count"]), (&json!(METER), &json!(2)));
    let connections: Vec<&Value> =
        events.iter().filter(|e| e["source"] == "switchyard.smallcase").map(|e| &e["detail"]["connected"]).collect();
    assert_eq!(connections, [&json!(true), &json!(false)]);
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains("crm-key-1") && !text.contains("auth-broker-1"), "no credential on the bus: {text}");

    // The table view, one row per event.
    let table = switchyard(&data, &["events", "tail"], "").await;
    assert_eq!(table.lines().count(), events.len());
    assert!(table.lines().all(|l| l.split('\t').count() == 4), "{table}");
}
