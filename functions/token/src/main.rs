//! Lambda entry point of `token`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::edge::lambda::serve_with_aws("token", switchyard_token::TokenFunction::new).await
}
