//! Lambda entry point of `ingest`.

use lambda_http::Error;
use shared::env::Vars;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let vars = Vars::from_process();
    let deps = shared::aws::deployed_deps(&vars).await?;
    let function = switchyard_ingest::IngestFunction::new(deps, &vars)?;
    shared::telemetry::run_lambda("ingest", function, &vars).await
}
