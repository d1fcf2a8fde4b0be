//! Lambda entry point of `events` (a DynamoDB stream consumer, deployed only with an `EventBusName`).

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use shared::env::Vars;
use shared::ports::event_bus::EventBridgeBus;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let vars = Vars::from_process();
    let logging = shared::edge::lambda::Logging::from_vars(&vars)?;
    let config = shared::ports::aws::sdk_config(&vars).await?;
    let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&config), vars.require("EVENT_BUS_NAME")?);
    let function = switchyard_events::EventsFunction::new(Arc::new(bus), &vars);
    logging.init();
    let function = &function;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let context = &event.context;
        let trace_id = context.xray_trace_id.as_deref();
        Ok::<_, lambda_runtime::Error>(function.handle_traced(&context.request_id, trace_id, &event.payload).await)
    }))
    .await
}
