//! Lambda entry point of `config`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // The answer depends on configuration only: no SDK client, no secret, nothing to fetch.
    shared::edge::lambda::serve("config", switchyard_config::ConfigFunction::from_vars).await
}
