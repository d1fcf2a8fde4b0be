//! The HTTP client every partner call uses (RetailCRM, smallcase Gateway, smart-me REST).

use crate::telemetry::PartnerCall;
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
    /// The partner's name in metrics (`PartnerCallLatency` and `PartnerCallFailures` by `Partner`).
    partner: &'static str,
    timeout: Duration,
    client: OnceLock<reqwest::Client>,
}

impl PartnerClient {
    pub fn new(partner: &'static str, timeout: Duration) -> Self {
        Self { partner, timeout, client: OnceLock::new() }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` (built on [`Self::client`]) and reads the whole answer: its status and body. The call's
    /// latency and success (a 2xx answer) go to the current request's metrics.
    pub async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), CallFailure> {
        let started = std::time::Instant::now();
        let result = self.send(request).await;
        let ok = matches!(result, Ok((status, _)) if (200..300).contains(&status));
        crate::telemetry::partner_call(PartnerCall { partner: self.partner, elapsed: started.elapsed(), ok });
        if !ok {
            let answer = match &result {
                Ok((status, _)) => format!("status {status}"),
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

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), CallFailure> {
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
