//! `events/token/*` through the real `token` binary under the Lambda runtime-API emulator.

#[tokio::test(flavor = "multi_thread")]
async fn every_token_event_gets_its_status() {
    testkit::events::check_function("token", env!("CARGO_BIN_EXE_token"), &[]).await;
}
