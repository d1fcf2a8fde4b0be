//! Forwarding one request to a server on loopback and reading its whole answer: what the recording and the fault
//! proxies, and the TLS front, do with every request they pass on.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// A whole answer, or why there is none.
pub type Answer = Result<hyper::Response<Full<Bytes>>, std::io::Error>;

/// Sends one request to `target` (`host:port`) on a connection of its own and returns the whole answer.
pub async fn send_to(target: &str, parts: &http::request::Parts, body: Bytes) -> Answer {
    let stream = tokio::net::TcpStream::connect(target).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    let mut request = hyper::Request::builder().method(parts.method.clone()).uri(parts.uri.clone());
    for (name, value) in &parts.headers {
        if name != "content-length" {
            request = request.header(name, value);
        }
    }
    let request = request.body(Full::new(body)).map_err(std::io::Error::other)?;
    let response = sender.send_request(request).await.map_err(std::io::Error::other)?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    Ok(hyper::Response::from_parts(parts, Full::new(body)))
}
