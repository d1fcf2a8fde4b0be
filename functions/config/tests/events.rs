//! `events/config/*` through the real `config` binary under the Lambda runtime-API emulator, configured as the
//! translated template configures it in every environment.

#[tokio::test(flavor = "multi_thread")]
async fn every_config_event_gets_its_status() {
    let parameters = [("PublicUrl", "https://api.example.com")];
    testkit::lambda::sample_requests::check_function("config", env!("CARGO_BIN_EXE_config"), &[], &parameters).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misconfigured_function_fails_its_init_clearly() {
    let runtime = testkit::lambda::runtime::RuntimeApi::start().await;
    let env = vec![
        ("SWITCHYARD_PUBLIC_URL".to_owned(), "https://api.example.com".to_owned()),
        ("RETAILCRM_SCOPES".to_owned(), "not a scope".to_owned()),
    ];
    let process =
        testkit::lambda::runtime::FunctionProcess::spawn(env!("CARGO_BIN_EXE_config"), &runtime, "config", &env);
    let (status, logs) = process.exited().await;
    assert!(!status.success());
    assert!(logs.contains("RETAILCRM_SCOPES"), "{logs}");
}
