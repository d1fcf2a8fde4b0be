//! Lambda entry point of `notify` (a DynamoDB stream consumer).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::serve_stream_with_aws(switchyard_notify::NotifyFunction::new).await
}
