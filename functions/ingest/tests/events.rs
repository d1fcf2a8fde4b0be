//! `events/ingest/*` through the real `ingest` binary under the Lambda runtime-API emulator, with its table and
//! secret on moto, as deployed. The sample event carries smart-me's official payload, base64-encoded as an HTTP API
//! delivers binary bodies.

#[tokio::test(flavor = "multi_thread")]
async fn every_ingest_event_gets_its_status() {
    let (store, config) = testkit::moto::fresh_store().await;
    let prefix = format!("{}/", testkit::unique_name("stack"));
    let local: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(testkit::workspace_root().join("local/secrets.json")).unwrap())
            .unwrap();
    testkit::moto::put_secret(&config, &format!("{prefix}smartme"), &local["smartme"].to_string()).await;
    let mut env = testkit::moto::aws_env();
    env.push(("SWITCHYARD_TABLE".into(), store.table().into()));
    env.push(("SWITCHYARD_SECRET_PREFIX".into(), prefix));
    // The official sample dates from 2019: keep it.
    env.push(("SMARTME_RETENTION_DAYS".into(), "36500".into()));
    let logs = testkit::events::check_function("ingest", env!("CARGO_BIN_EXE_ingest"), &env).await;
    assert!(!logs.contains(local["smartme"]["password"].as_str().unwrap()), "the password never reaches the logs");
    let latest = shared::store::keys::meter_latest("3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1");
    use shared::store::Store;
    assert!(store.get(&latest).await.unwrap().is_some(), "the sample event was stored");
}
