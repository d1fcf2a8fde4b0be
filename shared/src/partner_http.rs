//! The HTTP client every partner call uses (RetailCRM, smallcase Gateway, smart-me REST).

use std::sync::OnceLock;
use std::time::Duration;

/// Why a partner call produced no answer to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFailure {
    /// No complete answer within the timeout (milliseconds).
    Timeout(u64),
    /// No connection, or the connection broke before an answer began.
    Unreachable,
    /// The answer began (`status`) but its body could not be read.
    BodyLost { status: u16 },
}

/// A reqwest client with connect and total timeouts that never follows redirects (a redirect could move a call off
/// an allow-listed host), built on first use: building it loads the platform's root certificates, which would
/// otherwise cost every cold start, although most requests never call a partner.
#[derive(Debug, Clone)]
pub struct PartnerClient {
    timeout: Duration,
    client: OnceLock<reqwest::Client>,
}

impl PartnerClient {
    pub fn new(timeout: Duration) -> Self {
        Self { timeout, client: OnceLock::new() }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` (built on [`Self::client`]) and reads the whole answer: its status and body.
    pub async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), CallFailure> {
        let timeout = || CallFailure::Timeout(self.timeout.as_millis() as u64);
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => return Err(timeout()),
            Err(_) => return Err(CallFailure::Unreachable),
        };
        let status = response.status().as_u16();
        match response.bytes().await {
            Ok(bytes) => Ok((status, bytes.to_vec())),
            Err(e) if e.is_timeout() => Err(timeout()),
            Err(_) => Err(CallFailure::BodyLost { status }),
        }
    }

    /// The client, built now if this is the first call.
    pub fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(self.timeout)
                .timeout(self.timeout)
                .build()
                .unwrap_or_default()
        })
    }
}
