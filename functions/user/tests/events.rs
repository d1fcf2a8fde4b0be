//! `events/user/*` through the real `user` binary under the Lambda runtime-API emulator, deployed on moto as the
//! translated template configures it in every environment. The events carry no valid access token (one cannot be
//! minted into a static file): every route but ping answers 401 in Sber's format.

#[tokio::test(flavor = "multi_thread")]
async fn every_user_event_gets_its_status() {
    let local = testkit::aws::harness::local_secrets();
    let secrets = [("oauth", local["oauth"].clone()), ("smartme", local["smartme"].clone())];
    let runs =
        testkit::lambda::sample_requests::check_function("user", env!("CARGO_BIN_EXE_user"), &secrets, &[]).await;
    for run in runs {
        let key = local["oauth"]["keys"][0]["secret"].as_str().unwrap();
        assert!(!run.logs.contains(key), "secrets never reach the logs");
    }
}
