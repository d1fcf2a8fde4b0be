//! `events/webhook/*` through the real `webhook` binary under the Lambda runtime-API emulator, deployed on moto as
//! the translated template configures it in every environment, with the development source secrets.

#[tokio::test(flavor = "multi_thread")]
async fn every_webhook_event_gets_its_status() {
    let local = testkit::aws::harness::local_secrets();
    let secrets =
        [("webhook/schurter", local["webhook/schurter"].clone()), ("webhook/github", local["webhook/github"].clone())];
    let runs =
        testkit::lambda::sample_requests::check_function("webhook", env!("CARGO_BIN_EXE_webhook"), &secrets, &[]).await;
    let github_secret = local["webhook/github"]["secrets"][0].as_str().unwrap();
    for run in runs {
        assert!(!run.logs.contains(github_secret), "source secrets never reach the logs");
    }
}
