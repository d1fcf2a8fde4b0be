//! `events/webhook/*` through the real `webhook` binary under the Lambda runtime-API emulator.

#[tokio::test(flavor = "multi_thread")]
async fn every_webhook_event_gets_its_status() {
    testkit::events::check_function("webhook", env!("CARGO_BIN_EXE_webhook"), &[]).await;
}
