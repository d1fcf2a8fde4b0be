//! `events/user/*` through the real `user` binary under the Lambda runtime-API emulator.

#[tokio::test(flavor = "multi_thread")]
async fn every_user_event_gets_its_status() {
    testkit::events::check_function("user", env!("CARGO_BIN_EXE_user"), &[]).await;
}
