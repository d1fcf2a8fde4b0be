//! Lambda entry point of `user`.

use lambda_http::{Error, service_fn};
use shared::env::Vars;
use shared::http::Handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let vars = Vars::from_process();
    let deps = shared::aws::deployed_deps(&vars).await?;
    let function = switchyard_user::UserFunction::new(deps, &vars)?;
    lambda_http::run(service_fn(|request| async { Ok::<_, Error>(function.handle(request).await) })).await
}
