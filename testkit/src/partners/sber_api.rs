//! Sber's partner API as the tests play it: the sandbox's fake, and the same over HTTPS on a test authority (as
//! Sber's own certificate chains to a root Lambda's store lacks).

pub use sandbox::sber::{Failure, FakeSber, SberCall};

/// The fake accepting `Authorization: <expected>`, over HTTPS with a certificate of `ca`.
pub async fn start_tls(expected: &str, ca: &crate::partners::tls::TestCa) -> FakeSber {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake Sber API");
    let url = format!("https://{}", listener.local_addr().expect("address"));
    let (fake, service) = FakeSber::unstarted(url, expected);
    ca.serve_https(listener, service);
    fake
}
