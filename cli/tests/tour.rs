//! The first hour, as a new user has it: `cargo run` plays every partner, and `switchyard try <partner>` acts out
//! each partner's side against the running runner, with no hand-written fake and no partner account. The CLI works
//! on the runner's store while it serves, and the runner reads its secrets file again when it changes.

mod common;

use common::switchyard;
use std::path::{Path, PathBuf};
use testkit::http_client::Runner;

/// A runner on a fresh data directory.
struct Served {
    runner: Runner,
    data: PathBuf,
}

async fn start(secrets: &Path, env: &[(&str, &str)]) -> Served {
    start_with(secrets, env, &[]).await
}

async fn start_with(secrets: &Path, env: &[(&str, &str)], args: &[&str]) -> Served {
    let data = std::env::temp_dir().join(testkit::unique_name("tour"));
    Served { runner: Runner::start_with(env!("CARGO_BIN_EXE_switchyard"), &data, secrets, env, args).await, data }
}

fn repository_secrets() -> PathBuf {
    testkit::workspace_root().join("local/secrets.json")
}

/// `switchyard try <partner>` against `runner`; its output, which must hold no secret of the secrets file.
async fn try_partner(served: &Served, partner: &str) -> common::Run {
    let secrets = repository_secrets();
    let args = ["try", partner, "--data", served.data.to_str().unwrap(), "--secrets", secrets.to_str().unwrap()];
    let run = switchyard(&args, "", &[]).await;
    let document = serde_json::from_str(&std::fs::read_to_string(repository_secrets()).unwrap()).unwrap();
    for value in testkit::assertions::leaks::secret_values(&document) {
        assert!(!run.stdout.contains(&value) && !run.stderr.contains(&value), "try {partner} printed a secret");
    }
    run
}

#[tokio::test]
async fn every_partner_is_played_and_can_be_tried() {
    let served = start(&repository_secrets(), &[]).await;
    for partner in
        ["smart-me   played at", "Sber       played at", "RetailCRM  a CRM played at", "smallcase  Gateway played at"]
    {
        assert!(served.runner.banner.contains(partner), "{partner}: {}", served.runner.banner);
    }
    assert!(
        served.runner.banner.contains("sign-in: local (this fresh store's user: demo / demo-password)"),
        "{}",
        served.runner.banner
    );
    assert!(
        served.runner.banner.contains("secrets: ") && served.runner.banner.contains("smallcase, smartme"),
        "{}",
        served.runner.banner
    );

    let crm = try_partner(&served, "retailcrm").await;
    assert!(crm.ok, "{}{}", crm.stdout, crm.stderr);
    assert!(crm.stdout.contains("200 success, accountUrl"), "{}", crm.stdout);
    assert!(crm.stdout.contains("status Active"), "the account page shows the installation: {}", crm.stdout);

    // Linking, the devices (the Kitchen only: the Garage has no relay), a command, and the push that follows.
    let sber = try_partner(&served, "sber").await;
    assert!(sber.ok, "{}{}", sber.stdout, sber.stderr);
    assert!(sber.stdout.contains("a sign-in page at") && sber.stdout.contains("Bearer tokens for scope `smarthome`"));
    assert!(sber.stdout.contains("\"Kitchen\"") && !sber.stdout.contains("\"Garage\""), "{}", sber.stdout);
    let push = sber.stdout.lines().find(|l| l.contains("POST /v1/state answered 200")).expect(&sber.stdout);
    assert!(push.contains(r#"{"key":"on_off","value":{"bool_value":true,"type":"BOOL"}}"#), "{push}");
    assert!(push.contains(r#""integer_value":"1250""#), "the reading's power: {push}");

    let smartme = try_partner(&served, "smartme").await;
    assert!(smartme.ok && smartme.stdout.contains(r#"200 {"accepted":1,"stored":1}"#), "{}", smartme.stdout);

    let smallcase = try_partner(&served, "smallcase").await;
    assert!(smallcase.ok, "{}{}", smallcase.stdout, smallcase.stderr);
    assert!(smallcase.stdout.contains(r#""connected":true"#) && smallcase.stdout.contains(r#""status":"COMPLETED""#));

    // A delivery signed for its source's scheme, sent to the runner, is stored (and listed while it serves).
    let body = served.data.join("delivery.json");
    std::fs::write(&body, r#"{"event":"tour"}"#).unwrap();
    let data = served.data.to_str().unwrap();
    let secrets = repository_secrets();
    let send = ["webhook", "send", "--source", "schurter", "--body", body.to_str().unwrap(), "--data", data];
    let sent = switchyard(&[&send[..], &["--secrets", secrets.to_str().unwrap()]].concat(), "", &[]).await;
    assert!(
        sent.ok && sent.stdout.contains("X-Signature: v=1;t=") && sent.stdout.contains("200 OK"),
        "{}{}",
        sent.stdout,
        sent.stderr
    );
    let listed = switchyard(&["webhook", "list", "--source", "schurter", "--data", data], "", &[]).await;
    assert!(listed.ok && listed.stdout.contains("schurter\t16"), "{}{}", listed.stdout, listed.stderr);
}

/// With `SIGN_IN=smartme`, Sber's linking goes through the played smart-me's sign-in, the meters come from the
/// account, and their units from its device data: the same push as with a local password.
#[tokio::test]
async fn sber_links_through_the_played_smart_me() {
    let served = start(&repository_secrets(), &[("SIGN_IN", "smartme")]).await;
    assert!(served.runner.banner.contains("sign-in: smartme"), "{}", served.runner.banner);
    let smartme = served.runner.banner.lines().find_map(|l| l.strip_prefix("  smart-me   played at ")).unwrap();
    let smartme = smartme.split(' ').next().unwrap();
    let sber = try_partner(&served, "sber").await;
    assert!(sber.ok, "{}{}", sber.stdout, sber.stderr);
    assert!(sber.stdout.contains(&format!("redirects to {smartme}/oauth/authorize")), "{}", sber.stdout);
    assert!(sber.stdout.contains("\"Kitchen\"") && !sber.stdout.contains("\"Garage\""), "{}", sber.stdout);
    let push = sber.stdout.lines().find(|l| l.contains("POST /v1/state answered 200")).expect(&sber.stdout);
    assert!(push.contains(r#""integer_value":"1250""#), "1.25 kW in watts: {push}");
}

/// `serve --table` runs the whole API on DynamoDB's wire protocol (moto here): the partners' flows work and write
/// the keys a deployed stack writes (a webhook event in its source's shard, the demo user's login index).
#[tokio::test]
async fn the_runner_serves_on_a_dynamodb_table() {
    let (store, _) = testkit::aws::moto::fresh_store().await;
    let table = store.table().to_owned();
    let env: Vec<(String, String)> = testkit::aws::moto::aws_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let served = start_with(&repository_secrets(), &env, &["--table", &table]).await;
    assert!(served.runner.banner.contains(&format!("store: DynamoDB table {table}")), "{}", served.runner.banner);
    let sber = try_partner(&served, "sber").await;
    assert!(sber.ok && sber.stdout.contains("POST /v1/state answered 200"), "{}{}", sber.stdout, sber.stderr);
    let body = served.data.join("delivery.json");
    std::fs::write(&body, r#"{"event":"on dynamodb"}"#).unwrap();
    let secrets = repository_secrets();
    let data = served.data.to_str().unwrap();
    let send = ["webhook", "send", "--source", "schurter", "--body", body.to_str().unwrap(), "--data", data];
    let sent = switchyard(&[&send[..], &["--secrets", secrets.to_str().unwrap()]].concat(), "", &[]).await;
    assert!(sent.ok, "{}{}", sent.stdout, sent.stderr);
    let stored = testkit::aws::stored_webhooks::items(&store, "schurter").await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].key.pk.starts_with("WHEVT#schurter#"), "a shard of the source: {}", stored[0].key.pk);
    let demo = shared::identity::users::Users::new(&store).by_login("demo").await;
    assert!(demo.is_ok(), "the demo user is on the table: {demo:?}");
}

/// The store file is the runner's while it serves; the CLI's commands reach it through the runner.
#[tokio::test]
async fn the_cli_uses_the_store_while_the_runner_serves() {
    let served = start(&repository_secrets(), &[]).await;
    let data = served.data.to_str().unwrap();
    let added = switchyard(&["user", "add", "bob", "--data", data], "bob's own password\n", &[]).await;
    assert!(added.ok, "{}", added.stderr);
    let listed = switchyard(&["user", "list", "--data", data], "", &[]).await;
    assert!(listed.ok && listed.stdout.contains("\tbob\t") && listed.stdout.contains("\tdemo\t"), "{}", listed.stdout);
    // (`serve.rs`: a user added so signs in at the runner.)
}

/// A secret added to the file is read at the next request: no restart.
#[tokio::test]
async fn a_secret_added_to_the_file_is_used_without_a_restart() {
    let secrets = std::env::temp_dir().join(testkit::unique_name("secrets")).with_extension("json");
    std::fs::copy(repository_secrets(), &secrets).unwrap();
    let served = start(&secrets, &[]).await;
    let body = served.data.join("delivery.json");
    std::fs::write(&body, r#"{"event":"new source"}"#).unwrap();
    let delivery = [
        "webhook",
        "send",
        "--source",
        "acme",
        "--body",
        body.to_str().unwrap(),
        "--data",
        served.data.to_str().unwrap(),
        "--secrets",
        secrets.to_str().unwrap(),
    ];
    assert!(!switchyard(&delivery, "", &[]).await.ok, "no webhook/acme secret: the CLI cannot sign");

    let mut document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&secrets).unwrap()).unwrap();
    document["webhook/acme"] = serde_json::json!({"scheme": "github", "secrets": ["acme-secret-for-the-reload-test"]});
    std::fs::write(&secrets, serde_json::to_string_pretty(&document).unwrap()).unwrap();
    let sent = switchyard(&delivery, "", &[]).await;
    assert!(
        sent.ok && sent.stdout.contains("200 OK"),
        "the runner read the new source's secret: {}{}",
        sent.stdout,
        sent.stderr
    );
}

/// A partner whose URL is set is called for real: the banner says so, and `try` has nothing of it to play.
#[tokio::test]
async fn a_configured_partner_is_the_real_one() {
    let served = start(&repository_secrets(), &[("SBER_API_URL", "https://partners.iot.sberdevices.ru")]).await;
    assert!(
        served
            .runner
            .banner
            .contains("Sber       https://partners.iot.sberdevices.ru (the real one: SBER_API_URL is set)"),
        "{}",
        served.runner.banner
    );
    assert!(
        served.runner.banner.contains("smart-me   played at"),
        "the others are still played: {}",
        served.runner.banner
    );
    let sber = try_partner(&served, "sber").await;
    assert!(!sber.ok && sber.stderr.contains("the runner calls the real sber"), "{}", sber.stderr);
}

#[tokio::test]
async fn try_without_a_runner_says_how_to_start_one() {
    let data = std::env::temp_dir().join(testkit::unique_name("no-runner"));
    let run = switchyard(&["try", "retailcrm", "--data", data.to_str().unwrap()], "", &[]).await;
    assert!(!run.ok && run.stderr.contains("no runner serves") && run.stderr.contains("cargo run"), "{}", run.stderr);
}
