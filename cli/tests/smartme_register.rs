//! `switchyard smartme register` against a fake smart-me REST API on loopback.

use testkit::partners::smartme_api::FakeSmartMe;

async fn register(args: &[&str], secrets: &std::path::Path) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["smartme", "register", "--secrets"])
        .arg(secrets)
        .args(args)
        .env_remove("SWITCHYARD_SECRET_PREFIX")
        .env_remove("SMARTME_API_URL")
        .output()
        .await
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

fn secrets_file(smartme: serde_json::Value) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}.json", testkit::unique_name("secrets")));
    std::fs::write(&path, serde_json::json!({"smartme": smartme}).to_string()).unwrap();
    path
}

#[tokio::test]
async fn registers_our_url_with_the_realtime_credentials() {
    let fake = FakeSmartMe::start("ApiKey rest-key", &[]).await;
    let secrets =
        secrets_file(serde_json::json!({"username": "rt-user", "password": "rt-password", "api_key": "rest-key"}));
    let url = "https://api.example.com/smartme/realtime";
    let (ok, stdout, stderr) = register(&["--api-url", url, "--smartme-api", &fake.url], &secrets).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("reg-1"), "{stdout}");
    let meter = "3BD0FCE9-9F8E-4183-B3D1-0C1622A22CA1";
    let (ok, _, stderr) = register(&["--api-url", url, "--smartme-api", &fake.url, "--meter", meter], &secrets).await;
    assert!(ok, "{stderr}");
    let registrations = fake.registrations();
    assert_eq!(
        registrations[0],
        serde_json::json!({"ApiUrl": url, "BasicAuthUsername": "rt-user", "BasicAuthPassword": "rt-password",
                           "RegistrationType": "UserRegistration"})
    );
    assert_eq!(registrations[1]["RegistrationType"], "SingleMeterRegistration");
    assert_eq!(registrations[1]["MeterId"], meter.to_lowercase());
    assert!(!stdout.contains("rt-password") && !stderr.contains("rest-key"));
}

#[tokio::test]
async fn refusals_and_missing_credentials_are_clear_errors() {
    let fake = FakeSmartMe::start("ApiKey rest-key", &[]).await;
    let url = "https://api.example.com/smartme/realtime";
    let wrong_key = secrets_file(serde_json::json!({"username": "u", "password": "p", "api_key": "not-it"}));
    let (ok, _, stderr) = register(&["--api-url", url, "--smartme-api", &fake.url], &wrong_key).await;
    assert!(!ok && stderr.contains("HTTP 401"), "{stderr}");
    assert!(!stderr.contains("not-it"));
    let no_rest = secrets_file(serde_json::json!({"username": "u", "password": "p"}));
    let (ok, _, stderr) = register(&["--api-url", url, "--smartme-api", &fake.url], &no_rest).await;
    assert!(!ok && stderr.contains("api_key"), "{stderr}");
    let (ok, _, stderr) = register(&["--api-url", "not a url", "--smartme-api", &fake.url], &no_rest).await;
    assert!(!ok && stderr.contains("not an http(s) URL"), "{stderr}");
    assert!(fake.registrations().is_empty());
}
