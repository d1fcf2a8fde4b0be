//! `events/token/*` through the real `token` binary under the Lambda runtime-API emulator, with its table and
//! secrets on moto, as deployed.

#[tokio::test(flavor = "multi_thread")]
async fn every_token_event_gets_its_status() {
    // The events use the development client of `local/secrets.json`, as `sam local invoke` with local values would.
    let local = testkit::stack::local_secrets();
    let secrets = [("oauth", local["oauth"].clone()), ("smallcase", local["smallcase"].clone())];
    let (_, env) = testkit::stack::deployed_env(&secrets).await;
    let logs = testkit::events::check_function("token", env!("CARGO_BIN_EXE_token"), &env).await;
    for secret in [&local["oauth"]["keys"][0]["secret"], &local["oauth"]["clients"][0]["client_secret"]] {
        assert!(!logs.contains(secret.as_str().unwrap()), "secrets never reach the logs");
    }
    assert!(!logs.contains("wrong-password"), "passwords never reach the logs");
}
