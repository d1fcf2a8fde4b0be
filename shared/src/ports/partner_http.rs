//! The HTTP client every partner call uses (RetailCRM, smallcase Gateway, smart-me REST).

use crate::telemetry::PartnerCall;
use std::sync::OnceLock;
use std::time::Duration;

/// The largest partner answer read (bytes): a partner, or whoever answers in its place, cannot make us hold more.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Why a partner call produced no answer to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFailure {
    /// No complete answer within the timeout (milliseconds).
    Timeout(u64),
    /// No connection, or the connection broke before an answer began.
    Unreachable,
    /// The answer began (`status`) but its body could not be read, or was larger than [`MAX_ANSWER_BYTES`].
    BodyLost { status: u16 },
}

/// A reqwest client with connect and total timeouts that never follows redirects (a redirect could move a call off
/// an allow-listed host), built on first use: building it loads the platform's root certificates, which would
/// otherwise cost every cold start, although most requests never call a partner.
#[derive(Debug, Clone)]
pub struct PartnerClient {
    /// The partner's name in metrics (`PartnerCallLatency` and `PartnerCallFailures` by `Partner`).
    partner: &'static str,
    timeout: Duration,
    /// Trust anchors added to the platform's (a partner whose certificates chain to a root the platform lacks).
    extra_roots: Vec<reqwest::Certificate>,
    /// Connect only to public addresses ([`super::public_dns`]): for hosts a caller of ours named.
    public_only: bool,
    /// `None` when the client could not be built: calls then fail, never fall back to a client without the
    /// redirect policy and timeouts.
    client: OnceLock<Option<reqwest::Client>>,
}

impl PartnerClient {
    pub fn new(partner: &'static str, timeout: Duration) -> Self {
        Self { partner, timeout, extra_roots: Vec::new(), public_only: false, client: OnceLock::new() }
    }

    /// The same client, connecting only to public internet addresses whatever a name resolves to.
    pub fn public_addresses_only(mut self) -> Self {
        self.public_only = true;
        self.client = OnceLock::new();
        self
    }

    /// The same client, also trusting the certificates of the PEM bundle `pem` as roots. Line breaks may have been
    /// turned into spaces (a CloudFormation parameter holds one line).
    pub fn trusting(mut self, pem: &str) -> Result<Self, String> {
        let roots = reqwest::Certificate::from_pem_bundle(rewrapped_pem(pem).as_bytes()).map_err(|e| e.to_string())?;
        if roots.is_empty() {
            return Err("no PEM certificate in it".into());
        }
        self.extra_roots = roots;
        self.client = OnceLock::new();
        Ok(self)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends the request `build` makes on the client and reads the whole answer (at most [`MAX_ANSWER_BYTES`]):
    /// its status and body. The call's latency and success (a 2xx answer) go to the current request's metrics.
    pub async fn exchange(
        &self,
        build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<(u16, Vec<u8>), CallFailure> {
        self.exchange_with_headers(build).await.map(|(status, _, body)| (status, body))
    }

    /// [`Self::exchange`], also answering the answer's `Retry-After` (in seconds) when it has one.
    pub async fn exchange_with_headers(
        &self,
        build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<(u16, Option<Duration>, Vec<u8>), CallFailure> {
        let started = std::time::Instant::now();
        let result = match self.client() {
            Some(client) => self.send(build(client)).await,
            None => Err(CallFailure::Unreachable),
        };
        let ok = matches!(result, Ok((status, _, _)) if (200..300).contains(&status));
        crate::telemetry::partner_call(PartnerCall { partner: self.partner, elapsed: started.elapsed(), ok });
        if !ok {
            let answer = match &result {
                Ok((status, _, _)) => format!("status {status}"),
                Err(failure) => format!("{failure:?}"),
            };
            tracing::warn!(
                partner = self.partner,
                answer,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "partner call failed"
            );
        }
        result
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(u16, Option<Duration>, Vec<u8>), CallFailure> {
        let timeout = || CallFailure::Timeout(self.timeout.as_millis() as u64);
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Err(timeout()),
            Err(_) => return Err(CallFailure::Unreachable),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut response = response;
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_ANSWER_BYTES => body.extend_from_slice(&chunk),
                Ok(Some(_)) => {
                    tracing::warn!(
                        partner = self.partner,
                        status,
                        "partner answer over {MAX_ANSWER_BYTES} bytes; not read"
                    );
                    return Err(CallFailure::BodyLost { status });
                }
                Ok(None) => return Ok((status, retry_after, body)),
                Err(e) if e.is_timeout() => return Err(timeout()),
                Err(_) => return Err(CallFailure::BodyLost { status }),
            }
        }
    }

    /// The client, built now if this is the first call; `None` (logged) if it cannot be built.
    fn client(&self) -> Option<&reqwest::Client> {
        self.client
            .get_or_init(|| {
                let mut builder = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(self.timeout)
                    .timeout(self.timeout)
                    .tls_certs_merge(self.extra_roots.iter().cloned());
                if self.public_only {
                    builder = builder.dns_resolver(std::sync::Arc::new(super::public_dns::PublicOnly));
                }
                let built = builder.build();
                built
                    .map_err(|error| tracing::error!(partner = self.partner, %error, "partner HTTP client not built"))
                    .ok()
            })
            .as_ref()
    }
}

/// The certificates of `pem` with their base64 on lines of 64 characters, whatever whitespace separated it.
fn rewrapped_pem(pem: &str) -> String {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = String::new();
    for block in pem.split(BEGIN).skip(1) {
        let Some((body, _)) = block.split_once(END) else { continue };
        let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        out.push_str(BEGIN);
        out.push('\n');
        for line in base64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str(END);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `body` with status 200 to every connection, on a loopback port; its base URL.
    async fn serving(body: Vec<u8>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = stream.read(&mut request).await;
                    let head =
                        format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                });
            }
        });
        url
    }

    #[tokio::test]
    async fn answers_are_read_up_to_the_cap() {
        let client = PartnerClient::new("test", Duration::from_secs(5));
        let small = serving(vec![b'x'; 1000]).await;
        assert_eq!(client.exchange(|c| c.get(&small)).await.map(|(s, b)| (s, b.len())), Ok((200, 1000)));
        let huge = serving(vec![b'x'; MAX_ANSWER_BYTES + 1]).await;
        assert_eq!(client.exchange(|c| c.get(&huge)).await, Err(CallFailure::BodyLost { status: 200 }));
    }

    #[tokio::test]
    async fn without_a_client_calls_fail_and_nothing_is_sent() {
        let client =
            PartnerClient { client: OnceLock::from(None), ..PartnerClient::new("test", Duration::from_secs(1)) };
        let mut built = false;
        let answer = client
            .exchange(|c| {
                built = true;
                c.get("http://127.0.0.1:9")
            })
            .await;
        assert_eq!(answer, Err(CallFailure::Unreachable));
        assert!(!built, "no request is made on a fallback client");
    }
}
