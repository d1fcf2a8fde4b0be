//! Lambda entry point of `user`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::edge::lambda::serve_with_aws("user", switchyard_user::UserFunction::new).await
}
