//! Lambda entry point of `register`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::edge::lambda::serve_with_aws("register", switchyard_register::RegisterFunction::new).await
}
