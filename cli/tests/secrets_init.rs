//! `switchyard secrets init`: a complete, loadable set of secrets with fresh random values, printed or created in
//! Secrets Manager (moto) without overwriting what exists.

use shared::identity::oauth::OAuthSettings;
use shared::partners::smallcase::SmallcaseSecret;
use shared::ports::secrets::{CachePolicy, FileSecrets, Secrets, SecretsManager};

async fn init(args: &[&str], env: &[(String, String)]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["secrets", "init"])
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("SWITCHYARD_SECRET_PREFIX")
        .output()
        .await
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

async fn check_loadable(secrets: &dyn shared::ports::secrets::Secrets) {
    let oauth = OAuthSettings::load(secrets, Some("https://api.example.com")).await.unwrap();
    let sber = oauth.client("sber").unwrap();
    assert!(sber.redirect_uris.iter().any(|u| u == "https://gateway.iot.sberdevices.ru/gateway/v1/binder/backward"));
    assert!(sber.client_secret.as_ref().is_some_and(|s| s.len() >= 43), "256-bit client secret");
    SmallcaseSecret::load(secrets).await.unwrap();
    let smartme: serde_json::Value = secrets.get("smartme").await.unwrap().json("smartme").unwrap();
    assert!(smartme["password"].as_str().is_some_and(|p| p.len() >= 43));
    let schurter: serde_json::Value = secrets.get("webhook/schurter").await.unwrap().json("webhook/schurter").unwrap();
    assert_eq!(schurter["scheme"], "schurter");
    secrets.get("retailcrm").await.unwrap();
}

#[tokio::test]
async fn prints_a_complete_secrets_file_with_fresh_values() {
    let (ok, first, stderr) = init(&[], &[]).await;
    assert!(ok, "{stderr}");
    let (_, second, _) = init(&[], &[]).await;
    let (a, b): (serde_json::Value, serde_json::Value) =
        (serde_json::from_str(&first).unwrap(), serde_json::from_str(&second).unwrap());
    assert_ne!(a["oauth"]["keys"][0]["secret"], b["oauth"]["keys"][0]["secret"], "fresh random values each time");
    assert_ne!(a["smartme"]["password"], b["smartme"]["password"]);
    check_loadable(&FileSecrets::from_json(a).unwrap()).await;
}

#[tokio::test]
async fn creates_missing_secrets_in_secrets_manager_and_keeps_existing_ones() {
    let config = testkit::aws::moto::sdk_config().await;
    let prefix = format!("{}/", testkit::unique_name("init"));
    testkit::aws::moto::put_secret(&config, &format!("{prefix}retailcrm"), r#"{"secret": "kept-value"}"#).await;
    let env = testkit::aws::moto::aws_env();
    let (ok, stdout, stderr) = init(&["--create", "--prefix", &prefix], &env).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains(&format!("kept {prefix}retailcrm")), "{stdout}");
    assert!(stdout.contains(&format!("created {prefix}oauth")), "{stdout}");
    let secrets =
        SecretsManager::new(aws_sdk_secretsmanager::Client::new(&config), prefix.clone(), CachePolicy::default());
    check_loadable(&secrets).await;
    assert_eq!(secrets.get("retailcrm").await.unwrap().expose(), r#"{"secret": "kept-value"}"#);
    let (ok, again, _) = init(&["--create", "--prefix", &prefix], &env).await;
    assert!(ok && !again.contains("created"), "{again}");
}

#[tokio::test]
async fn sign_reads_a_deployed_sources_secret_from_secrets_manager() {
    let config = testkit::aws::moto::sdk_config().await;
    let prefix = format!("{}/", testkit::unique_name("sign"));
    let secret = r#"{"scheme": "schurter", "secret": "deployed-schurter-key"}"#;
    testkit::aws::moto::put_secret(&config, &format!("{prefix}webhook/schurter"), secret).await;
    let body_path = std::env::temp_dir().join(testkit::unique_name("body"));
    std::fs::write(&body_path, b"{\"event\":\"test\"}").unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["sign", "--source", "schurter", "--secret-prefix", &prefix, "--timestamp", "1700000000", "--body"])
        .arg(&body_path)
        .envs(testkit::aws::moto::aws_env())
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut headers = http::HeaderMap::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let (name, value) = line.split_once(": ").unwrap();
        headers.insert(http::HeaderName::try_from(name).unwrap(), value.parse().unwrap());
    }
    use shared::partners::webhooks::{Scheme, SigningKeys, verify};
    let verifies = |key: &str| {
        let keys = SigningKeys::new(Scheme::Schurter, &[key.to_owned()]).unwrap();
        verify(Scheme::Schurter, &keys, 300, &headers, b"{\"event\":\"test\"}", 1_700_000_000).is_ok()
    };
    assert!(verifies("deployed-schurter-key"), "signed with the deployed secret");
    assert!(!verifies("schurter-dev-secret"), "not with a local one");
}
