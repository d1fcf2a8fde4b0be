//! Lambda entry point of `config`.

use lambda_http::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    // The answer depends on configuration only: no SDK client, no secret, nothing to fetch.
    let vars = shared::env::Vars::from_process();
    let function = switchyard_config::ConfigFunction::from_vars(&vars)?;
    shared::telemetry::run_lambda("config", function, &vars).await
}
