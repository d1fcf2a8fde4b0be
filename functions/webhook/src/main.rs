//! Lambda entry point of `webhook`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::edge::lambda::serve_with_aws("webhook", switchyard_webhook::WebhookFunction::new).await
}
