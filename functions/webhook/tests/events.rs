//! `events/webhook/*` through the real `webhook` binary under the Lambda runtime-API emulator, with its table and
//! the development source secrets on moto, as deployed.

#[tokio::test(flavor = "multi_thread")]
async fn every_webhook_event_gets_its_status() {
    let local = testkit::stack::local_secrets();
    let secrets =
        [("webhook/schurter", local["webhook/schurter"].clone()), ("webhook/github", local["webhook/github"].clone())];
    let (_, env) = testkit::stack::deployed_env(&secrets).await;
    let logs = testkit::events::check_function("webhook", env!("CARGO_BIN_EXE_webhook"), &env).await;
    let github_secret = local["webhook/github"]["secrets"][0].as_str().unwrap();
    assert!(!logs.contains(github_secret), "source secrets never reach the logs");
}
