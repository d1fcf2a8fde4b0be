//! `events/token/*` through the real `token` binary under the Lambda runtime-API emulator, deployed on moto as
//! the translated template configures it in every environment.

#[tokio::test(flavor = "multi_thread")]
async fn every_token_event_gets_its_status() {
    // The events use the development client of `local/secrets.json`, as `sam local invoke` with local values would.
    let local = testkit::aws::harness::local_secrets();
    let secrets = [("oauth", local["oauth"].clone()), ("smallcase", local["smallcase"].clone())];
    let runs =
        testkit::lambda::sample_requests::check_function("token", env!("CARGO_BIN_EXE_token"), &secrets, &[]).await;
    for run in runs {
        for secret in [&local["oauth"]["keys"][0]["secret"], &local["oauth"]["clients"][0]["client_secret"]] {
            assert!(!run.logs.contains(secret.as_str().unwrap()), "secrets never reach the logs");
        }
        assert!(!run.logs.contains("wrong-password"), "passwords never reach the logs");
    }
}
