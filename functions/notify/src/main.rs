//! Lambda entry point of `notify` (a DynamoDB stream consumer).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::env::Vars;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let vars = Vars::from_process();
    let logging = shared::edge::lambda::Logging::from_vars(&vars)?;
    let deps = shared::ports::aws::deployed_deps(&vars).await?;
    let function = switchyard_notify::NotifyFunction::new(deps, &vars)?;
    logging.init();
    let function = &function;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let context = &event.context;
        let trace_id = context.xray_trace_id.as_deref();
        Ok::<_, lambda_runtime::Error>(function.handle_traced(&context.request_id, trace_id, &event.payload).await)
    }))
    .await
}
