//! Partners played locally, for the local runner (`switchyard serve` plays every partner unless told where the
//! real ones are) and the tests: each fake follows its partner's published documents and official clients, with
//! the partner's failure modes switchable, and records what it was sent.
//!
//! - [`smartme`]: smart-me's OAuth 2.0 (sign-in page, codes with PKCE, refresh-token rotation, revocation) and REST
//!   API (`/api/User`, `/api/Devices`, `/api/Actions`, `/api/RegisterForRealtimeApi`).
//! - [`sber`]: Sber's partner API (state pushes, device lists, unlink).
//! - [`retailcrm`]: a RetailCRM account (the integration-module calls).
//! - [`smallcase`]: smallcase's Gateway (transactions, their details and auth tokens).
//!
//! Each also answers under `/sandbox/` what a person would see or do at the partner (what Sber received, the
//! modules a CRM holds, a transaction completed in smallcase's SDK), for `switchyard try`.

pub mod retailcrm;
pub mod sber;
pub mod smallcase;
pub mod smartme;

use bytes::Bytes;
use http_body_util::Full;

/// An answer of a fake.
pub type Answer = hyper::Response<Full<Bytes>>;

/// Serves `service` on every connection `listener` accepts, each on its own task, until the runtime ends.
pub fn serve_http<S>(listener: tokio::net::TcpListener, service: S)
where
    S: hyper::service::Service<hyper::Request<hyper::body::Incoming>, Response = Answer> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                // A peer hanging up mid-request is not the fake's concern; a service error closes the connection.
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
}

/// An answer with `status`, `content_type` and `body`.
pub fn reply(status: u16, content_type: &str, body: impl Into<Bytes>) -> Answer {
    let mut response = hyper::Response::new(Full::new(body.into()));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// A JSON answer.
pub fn json(status: u16, body: &serde_json::Value) -> Answer {
    reply(status, "application/json", body.to_string())
}

/// A redirect to `location`.
pub fn redirect(location: &str) -> Answer {
    let mut response = reply(302, "text/plain", "");
    if let Ok(value) = hyper::header::HeaderValue::from_str(location) {
        response.headers_mut().insert(hyper::header::LOCATION, value);
    }
    response
}
