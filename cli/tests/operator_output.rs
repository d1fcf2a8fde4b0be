//! The operator CLI for scripts: `--output json` on every command that lists or shows (users, devices,
//! installations, webhook deliveries) with stable field names, `--stack NAME` resolving a deployed stack's table,
//! secret prefix and URLs from its CloudFormation outputs (moto's CloudFormation), shell completions and clap's
//! suggestions.

mod common;

use common::Run;
use serde_json::{Value, json};
use shared::partners::retailcrm::account::{Account, Accounts};
use shared::partners::webhooks::stored::StoredEvent;
use shared::ports::store::{Condition, Store};

const METER: &str = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1";
const API_KEY: &str = "crm-api-key-never-printed";

trait JsonOutput {
    fn json(&self) -> Value;
}

impl JsonOutput for Run {
    fn json(&self) -> Value {
        assert!(self.ok, "{}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

async fn switchyard(args: &[&str], stdin: &str) -> Run {
    common::switchyard(args, stdin, &testkit::aws::moto::aws_env()).await
}

/// A stack on moto's CloudFormation whose outputs name `outputs` (as a deployed Switchyard stack's do).
async fn cloudformation_stack(outputs: &[(&str, &str)]) -> String {
    let config = testkit::aws::moto::sdk_config().await;
    let name = testkit::unique_name("cfn");
    let outputs: serde_json::Map<String, Value> =
        outputs.iter().map(|(k, v)| (k.to_string(), json!({"Value": v}))).collect();
    let template = json!({
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": outputs,
    });
    let client = aws_sdk_cloudformation::Client::new(&config);
    client.create_stack().stack_name(&name).template_body(template.to_string()).send().await.unwrap();
    name
}

#[tokio::test]
async fn lists_and_shows_as_json_on_a_stack_found_by_name() {
    let (store, config) = testkit::aws::moto::fresh_store().await;
    let prefix = format!("{}/", testkit::unique_name("prefix"));
    let local: Value =
        serde_json::from_str(&std::fs::read_to_string(testkit::workspace_root().join("local/secrets.json")).unwrap())
            .unwrap();
    testkit::aws::moto::put_secret(&config, &format!("{prefix}oauth"), &local["oauth"].to_string()).await;
    let stack = cloudformation_stack(&[
        ("TableName", store.table()),
        ("SecretPrefix", &prefix),
        ("SmartMeRealtimeUrl", "https://api.switchyard.example/smartme/realtime"),
    ])
    .await;
    let on_stack = |args: &[&'static str]| -> Vec<&str> {
        args.iter().copied().chain(["--stack", stack.as_str()]).collect::<Vec<_>>()
    };

    // Users and devices, written and read through the stack's name alone.
    assert!(switchyard(&on_stack(&["user", "add", "alice"]), "correct horse battery\n").await.ok);
    let users = switchyard(&on_stack(&["user", "list", "--output", "json"]), "").await.json();
    assert_eq!(users.as_array().unwrap().len(), 1);
    let alice = &users[0];
    assert_eq!(alice["login"], "alice");
    assert!(alice["id"].as_str().unwrap().starts_with("u-"));
    assert!(shared::time_text::epoch_seconds(alice["createdAt"].as_str().unwrap()).is_some());
    let table = switchyard(&on_stack(&["user", "list"]), "").await;
    assert_eq!(table.stdout.trim().split('\t').nth(1), Some("alice"), "rows stay the default");

    let linked =
        switchyard(&on_stack(&["device", "link", "--user", "alice", "--smartme-device", METER, "--name", "Hall"]), "")
            .await;
    assert!(linked.ok, "{}", linked.stderr);
    let devices = switchyard(&on_stack(&["device", "list", "--user", "alice", "--output", "json"]), "").await.json();
    assert_eq!(devices.as_array().unwrap().len(), 1);
    assert_eq!(
        (&devices[0]["id"], &devices[0]["name"], &devices[0]["user"]),
        (&json!(METER), &json!("Hall"), &json!("alice"))
    );

    // RetailCRM installations: listed and shown, never with the CRM's API key.
    for (client_id, system_url) in [("client-b", "https://b.retailcrm.ru"), ("client-a", "https://a.retailcrm.ru")] {
        let account = Account {
            client_id: client_id.into(),
            code: "switchyard".into(),
            system_url: system_url.into(),
            api_key: API_KEY.into(),
            active: true,
            freeze: false,
            settings: Some(r#"{"units":"kWh"}"#.into()),
            scopes: None,
            created_at: 1_764_400_000,
            updated_at: 1_764_400_100,
        };
        Accounts::new(&store).save(&account).await.unwrap();
    }
    let listed = switchyard(&on_stack(&["installation", "list", "--output", "json"]), "").await;
    assert!(!listed.stdout.contains(API_KEY), "{}", listed.stdout);
    let installations = listed.json();
    let ids: Vec<&str> = installations.as_array().unwrap().iter().map(|i| i["clientId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["client-a", "client-b"]);
    assert_eq!(installations[0]["systemUrl"], "https://a.retailcrm.ru");
    assert_eq!(installations[0]["active"], true);
    assert_eq!(installations[0]["settings"], json!({"units": "kWh"}));
    let shown = switchyard(&on_stack(&["installation", "show", "client-b", "--output", "json"]), "").await.json();
    assert_eq!(shown[0]["systemUrl"], "https://b.retailcrm.ru");
    let missing = switchyard(&on_stack(&["installation", "show", "client-z"]), "").await;
    assert!(!missing.ok && missing.stderr.contains("client-z"), "{}", missing.stderr);

    // Webhook deliveries, newest first; a body that is not UTF-8 comes as base64.
    for (at, id, body) in [(1_764_400_000, "d-1", b"{\"n\":1}".to_vec()), (1_764_400_060, "d-2", vec![0xff, 0x00])] {
        let event = StoredEvent {
            source: "schurter".into(),
            scheme: "schurter".into(),
            delivery_id: id.into(),
            received_at: at,
            headers: [("content-type".to_owned(), "application/json".to_owned())].into(),
            body,
        };
        store.put(event.to_item(), Condition::ItemAbsent).await.unwrap();
    }
    let events =
        switchyard(&on_stack(&["webhook", "list", "--source", "schurter", "--output", "json"]), "").await.json();
    let ids: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["deliveryId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["d-2", "d-1"]);
    assert_eq!(events[0]["bodyBase64"], "/wA=");
    assert_eq!(events[1]["body"], "{\"n\":1}");
    assert_eq!(events[1]["headers"], json!({"content-type": "application/json"}));
    let one = switchyard(&on_stack(&["webhook", "list", "--source", "schurter", "--limit", "1"]), "").await;
    assert_eq!(one.stdout.lines().count(), 1, "{}", one.stdout);

    // The secret prefix comes from the stack too: a token minted with its oauth secret.
    let minted = switchyard(&on_stack(&["token", "mint", "--user", "alice", "--client", "sber"]), "").await;
    assert!(minted.ok, "{}", minted.stderr);
    assert_eq!(minted.stdout.trim().split('.').count(), 3, "a JWT: {}", minted.stdout);
}

#[tokio::test]
async fn a_stack_that_is_missing_or_not_ours_is_named_in_the_error() {
    let unknown = switchyard(&["user", "list", "--stack", "no-such-stack"], "").await;
    assert!(!unknown.ok && unknown.stderr.contains("no-such-stack"), "{}", unknown.stderr);
    let foreign = cloudformation_stack(&[("Something", "else")]).await;
    let not_ours = switchyard(&["user", "list", "--stack", &foreign], "").await;
    assert!(!not_ours.ok && not_ours.stderr.contains("TableName"), "{}", not_ours.stderr);
    let both = switchyard(&["user", "list", "--stack", &foreign, "--table", "t"], "").await;
    assert!(!both.ok && both.stderr.contains("cannot be used with"), "{}", both.stderr);
}

#[tokio::test]
async fn completions_and_suggestions() {
    let bash = switchyard(&["completions", "bash"], "").await;
    assert!(bash.ok, "{}", bash.stderr);
    for word in ["switchyard", "installation", "webhook", "--output", "--stack"] {
        assert!(bash.stdout.contains(word), "{word} missing from the bash completions");
    }
    let zsh = switchyard(&["completions", "zsh"], "").await;
    assert!(zsh.ok && zsh.stdout.contains("#compdef switchyard"), "{}", zsh.stderr);
    let typo = switchyard(&["usr", "list"], "").await;
    assert!(!typo.ok && typo.stderr.contains("'user'"), "{}", typo.stderr);
    let bad_format = switchyard(&["user", "list", "--output", "yaml"], "").await;
    assert!(!bad_format.ok && bad_format.stderr.contains("json"), "{}", bad_format.stderr);
}
