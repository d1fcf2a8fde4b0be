//! Lambda entry point of `config`.

use lambda_http::{Error, service_fn};
use shared::http::Handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    // The answer depends on configuration only: no SDK client, no secret, nothing to fetch.
    let function = switchyard_config::ConfigFunction::from_vars(&shared::env::Vars::from_process())?;
    lambda_http::run(service_fn(|request| async { Ok::<_, Error>(function.handle(request).await) })).await
}
