//! `events/register/*` through the real `register` binary under the Lambda runtime-API emulator, with its table and
//! secret on moto, as deployed.

#[tokio::test(flavor = "multi_thread")]
async fn every_register_event_gets_its_status() {
    // The events are signed with the development secret, as `sam local invoke` with local values would be.
    let local = testkit::stack::local_secrets();
    let (_, env) = testkit::stack::deployed_env(&[("retailcrm", local["retailcrm"].clone())]).await;
    let logs = testkit::events::check_function("register", env!("CARGO_BIN_EXE_register"), &env).await;
    assert!(!logs.contains("crm-generated-key"), "API keys never reach the logs");
    assert!(!logs.contains(local["retailcrm"]["secret"].as_str().unwrap()), "the module secret never reaches the logs");
}
