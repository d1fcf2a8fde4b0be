//! `events/register/*` through the real `register` binary under the Lambda runtime-API emulator, with its table and
//! secret on moto, as deployed.

#[tokio::test(flavor = "multi_thread")]
async fn every_register_event_gets_its_status() {
    let (store, config) = testkit::moto::fresh_store().await;
    let prefix = format!("{}/", testkit::unique_name("stack"));
    let local: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(testkit::workspace_root().join("local/secrets.json")).unwrap())
            .unwrap();
    // The events are signed with the development secret, as `sam local invoke` with local values would be.
    testkit::moto::put_secret(&config, &format!("{prefix}retailcrm"), &local["retailcrm"].to_string()).await;
    let mut env = testkit::moto::aws_env();
    env.push(("SWITCHYARD_TABLE".into(), store.table().into()));
    env.push(("SWITCHYARD_SECRET_PREFIX".into(), prefix));
    let logs = testkit::events::check_function("register", env!("CARGO_BIN_EXE_register"), &env).await;
    assert!(!logs.contains("crm-generated-key"), "API keys never reach the logs");
    assert!(!logs.contains("dev-retailcrm-module-secret"), "the module secret never reaches the logs");
}
