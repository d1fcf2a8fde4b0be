//! Lambda entry point of `events` (a DynamoDB stream consumer, deployed only with an `EventBusName`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::serve_stream_with_bus(switchyard_events::EventsFunction::new).await
}
