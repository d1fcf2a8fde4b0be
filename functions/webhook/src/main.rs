//! Lambda entry point of `webhook`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_with_aws("webhook", switchyard_webhook::WebhookFunction::new).await
}
