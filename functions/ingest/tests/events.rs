//! `events/ingest/*` through the real `ingest` binary under the Lambda runtime-API emulator, deployed on moto as
//! the translated template configures it in every environment. The sample event carries smart-me's official
//! payload, base64-encoded as an HTTP API delivers binary bodies.

use shared::ports::store::Store;

#[tokio::test(flavor = "multi_thread")]
async fn every_ingest_event_gets_its_status() {
    let local = testkit::aws::harness::local_secrets();
    let secrets = [("smartme", local["smartme"].clone())];
    // The official sample dates from 2019: keep it.
    let parameters = [("SmartMeRetentionDays", "36500")];
    let runs =
        testkit::lambda::sample_requests::check_function("ingest", env!("CARGO_BIN_EXE_ingest"), &secrets, &parameters)
            .await;
    for run in runs {
        let password = local["smartme"]["password"].as_str().unwrap();
        assert!(!run.logs.contains(password), "the password never reaches the logs");
        let latest = shared::ports::store::keys::meter_latest("3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1");
        let stored = run.deployment.store.get(&latest).await.unwrap();
        assert!(stored.is_some(), "[{}] the sample event was stored", run.environment);
    }
}
