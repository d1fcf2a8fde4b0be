//! Lambda entry point of `events` (a DynamoDB stream consumer, deployed only with an `EventBusName`).

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
    let function = &function;
    shared::edge::lambda::run_stream(logging, |request_id, trace_id, event| async move {
        function.handle_traced(&request_id, trace_id.as_deref(), &event).await
    })
    .await
}
