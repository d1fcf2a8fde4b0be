//! The per-request record: counters and partner calls collected while a handler runs.

use http::StatusCode;
use std::cell::RefCell;
use std::time::Duration;

tokio::task_local! {
    static CURRENT: RefCell<RequestRecord>;
}

/// Why a request was refused, attached to the response by `http::error`: the error code of its body and whose
/// fault it was. Partners with 200-for-errors protocols (RetailCRM) make the status alone insufficient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason {
    pub code: &'static str,
    /// Our side (or a dependency) failed, rather than the caller sending something we refuse.
    pub ours: bool,
}

impl Reason {
    /// The caller's fault.
    pub fn caller(code: &'static str) -> Self {
        Self { code, ours: false }
    }

    /// Our side's fault.
    pub fn ours(code: &'static str) -> Self {
        Self { code, ours: true }
    }
}

/// A per-request counter published as a metric of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Deliveries (or readings) that had been accepted before and were acknowledged without storing them again.
    Duplicates,
    /// smart-me readings stored for the first time.
    ReadingsStored,
    /// State pushes Sber took (`notify`, one per user per batch of changes).
    SberStatePushes,
    /// The sandbox's first invocation (its init ran just before it).
    ColdStarts,
    /// Events the event bus took (`events`).
    EventsPublished,
    /// Meters whose latest state a stored smart-me post could not move (`ingest`; the next reading moves it).
    LatestStatesDeferred,
    /// Calls Sber refused with a 4xx (`notify`): logged with Sber's answer and not sent again.
    SberRefusals,
    /// Items of a smart-me post skipped for failing validation (`ingest`; the post's other items are stored).
    ReadingsSkipped,
}

impl Counter {
    pub const ALL: [Counter; 8] = [
        Counter::Duplicates,
        Counter::ReadingsStored,
        Counter::SberStatePushes,
        Counter::ColdStarts,
        Counter::EventsPublished,
        Counter::LatestStatesDeferred,
        Counter::SberRefusals,
        Counter::ReadingsSkipped,
    ];

    pub fn metric_name(self) -> &'static str {
        match self {
            Counter::Duplicates => "Duplicates",
            Counter::ReadingsStored => "ReadingsStored",
            Counter::SberStatePushes => "SberStatePushes",
            Counter::ColdStarts => "ColdStarts",
            Counter::EventsPublished => "EventsPublished",
            Counter::LatestStatesDeferred => "LatestStatesDeferred",
            Counter::SberRefusals => "SberRefusals",
            Counter::ReadingsSkipped => "ReadingsSkipped",
        }
    }
}

/// One HTTP call to a partner's API.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartnerCall {
    pub partner: &'static str,
    pub elapsed: Duration,
    /// A 2xx answer arrived; anything else (timeout, no connection, other status) is a failure.
    pub ok: bool,
}

/// What happened during one request, beyond its response.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RequestRecord {
    counters: Vec<(Counter, u64)>,
    pub partner_calls: Vec<PartnerCall>,
}

impl RequestRecord {
    pub fn add(&mut self, counter: Counter, n: u64) {
        if n > 0 {
            self.counters.push((counter, n));
        }
    }

    pub fn counter(&self, counter: Counter) -> u64 {
        self.counters.iter().filter(|(c, _)| *c == counter).map(|(_, n)| n).sum()
    }

    /// Runs `work` with a fresh record as the current one and returns its output with what it recorded.
    pub async fn collect<F: Future>(work: F) -> (F::Output, RequestRecord) {
        CURRENT
            .scope(RefCell::new(RequestRecord::default()), async {
                let output = work.await;
                (output, CURRENT.with(|record| record.take()))
            })
            .await
    }
}

/// Adds `n` to `counter` for the current request.
pub fn count(counter: Counter, n: u64) {
    let _ = CURRENT.try_with(|record| record.borrow_mut().add(counter, n));
}

/// Records a partner call of the current request.
pub fn partner_call(call: PartnerCall) {
    let _ = CURRENT.try_with(|record| record.borrow_mut().partner_calls.push(call));
}

/// How a request ended, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with 2xx or 3xx (a redirect is how the OAuth endpoints succeed).
    Accepted,
    /// Refused with a 4xx: the caller's fault.
    Rejected(&'static str),
    /// Answered 5xx: ours, or a dependency's.
    Failed(&'static str),
}

impl Outcome {
    /// The outcome of a response with `status` and the reason its error body gave, if any.
    pub fn of(status: StatusCode, reason: Option<Reason>) -> Self {
        match reason {
            Some(Reason { code, ours: true }) => Outcome::Failed(code),
            Some(Reason { code, ours: false }) => Outcome::Rejected(code),
            None if status.is_server_error() => Outcome::Failed(fallback_reason(status)),
            None if status.is_client_error() => Outcome::Rejected(fallback_reason(status)),
            None => Outcome::Accepted,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Rejected(_) => "rejected",
            Outcome::Failed(_) => "failed",
        }
    }

    pub fn reason(self) -> Option<&'static str> {
        match self {
            Outcome::Accepted => None,
            Outcome::Rejected(reason) | Outcome::Failed(reason) => Some(reason),
        }
    }
}

/// A bounded reason for error responses built without an `ApiError` (HTML pages): metric dimensions must stay few.
fn fallback_reason(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        429 => "too_many_requests",
        503 => "unavailable",
        s if s >= 500 => "server_error",
        _ => "client_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_only_inside_a_request() {
        count(Counter::ReadingsStored, 5);
        let ((), record) = RequestRecord::collect(async {
            count(Counter::ReadingsStored, 3);
            tokio::task::yield_now().await;
            count(Counter::ReadingsStored, 4);
            count(Counter::Duplicates, 0);
            partner_call(PartnerCall { partner: "retailcrm", elapsed: Duration::from_millis(7), ok: false });
        })
        .await;
        assert_eq!(record.counter(Counter::ReadingsStored), 7);
        assert_eq!(record.counter(Counter::Duplicates), 0);
        assert_eq!(record.partner_calls.len(), 1);
        let ((), next) = RequestRecord::collect(async {}).await;
        assert_eq!(next, RequestRecord::default());
    }

    #[test]
    fn outcomes_follow_the_status_class() {
        assert_eq!(Outcome::of(StatusCode::FOUND, None), Outcome::Accepted);
        let refused = Some(Reason::caller("bad_signature"));
        assert_eq!(Outcome::of(StatusCode::UNAUTHORIZED, refused), Outcome::Rejected("bad_signature"));
        assert_eq!(Outcome::of(StatusCode::FORBIDDEN, None), Outcome::Rejected("forbidden"));
        assert_eq!(Outcome::of(StatusCode::BAD_GATEWAY, None), Outcome::Failed("server_error"));
        // RetailCRM's protocol answers errors with 200: the reason decides.
        assert_eq!(Outcome::of(StatusCode::OK, Some(Reason::caller("refused"))), Outcome::Rejected("refused"));
        assert_eq!(Outcome::of(StatusCode::OK, Some(Reason::ours("unavailable"))), Outcome::Failed("unavailable"));
    }
}
