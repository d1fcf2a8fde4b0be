//! Lambda entry point of `token`.

use lambda_http::Error;
use shared::env::Vars;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let vars = Vars::from_process();
    let deps = shared::aws::deployed_deps(&vars).await?;
    let function = switchyard_token::TokenFunction::new(deps, &vars)?;
    shared::telemetry::run_lambda("token", function, &vars).await
}
