//! `events/ingest/*` through the real `ingest` binary under the Lambda runtime-API emulator, with its table and
//! secret on moto, as deployed. The sample event carries smart-me's official payload, base64-encoded as an HTTP API
//! delivers binary bodies.

use shared::store::Store;

#[tokio::test(flavor = "multi_thread")]
async fn every_ingest_event_gets_its_status() {
    let local = testkit::stack::local_secrets();
    let (store, mut env) = testkit::stack::deployed_env(&[("smartme", local["smartme"].clone())]).await;
    // The official sample dates from 2019: keep it.
    env.push(("SMARTME_RETENTION_DAYS".into(), "36500".into()));
    let logs = testkit::events::check_function("ingest", env!("CARGO_BIN_EXE_ingest"), &env).await;
    assert!(!logs.contains(local["smartme"]["password"].as_str().unwrap()), "the password never reaches the logs");
    let latest = shared::store::keys::meter_latest("3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1");
    assert!(store.get(&latest).await.unwrap().is_some(), "the sample event was stored");
}
