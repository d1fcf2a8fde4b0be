//! Lambda entry point of `ingest`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::edge::lambda::serve_with_aws("ingest", switchyard_ingest::IngestFunction::new).await
}
