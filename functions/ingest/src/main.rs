//! Lambda entry point of `ingest`.

use lambda_http::{Error, service_fn};
use shared::http::Handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init_lambda();
    let function = switchyard_ingest::IngestFunction;
    lambda_http::run(service_fn(|request| async { Ok::<_, Error>(function.handle(request).await) })).await
}
