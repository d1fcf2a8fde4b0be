//! Lambda entry point of `notify` (a DynamoDB stream consumer).

use shared::env::Vars;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let vars = Vars::from_process();
    let logging = shared::edge::lambda::Logging::from_vars(&vars)?;
    let deps = shared::ports::aws::deployed_deps(&vars).await?;
    let function = switchyard_notify::NotifyFunction::new(deps, &vars)?;
    let function = &function;
    shared::edge::lambda::run_stream(logging, |request_id, trace_id, event| async move {
        function.handle_traced(&request_id, trace_id.as_deref(), &event).await
    })
    .await
}
