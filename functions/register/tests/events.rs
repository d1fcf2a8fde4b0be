//! `events/register/*` through the real `register` binary under the Lambda runtime-API emulator, deployed on moto
//! as the translated template configures it in every environment.

#[tokio::test(flavor = "multi_thread")]
async fn every_register_event_gets_its_status() {
    // The events are signed with the development secret, as `sam local invoke` with local values would be.
    let local = testkit::aws::harness::local_secrets();
    let secrets = [("retailcrm", local["retailcrm"].clone())];
    let runs =
        testkit::lambda::sample_requests::check_function("register", env!("CARGO_BIN_EXE_register"), &secrets, &[])
            .await;
    for run in runs {
        assert!(!run.logs.contains("crm-generated-key"), "API keys never reach the logs");
        let secret = local["retailcrm"]["secret"].as_str().unwrap();
        assert!(!run.logs.contains(secret), "the module secret never reaches the logs");
    }
}
