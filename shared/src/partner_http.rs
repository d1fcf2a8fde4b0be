//! The HTTP client every partner call uses (RetailCRM, smallcase Gateway, smart-me REST).

use std::sync::OnceLock;
use std::time::Duration;

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
