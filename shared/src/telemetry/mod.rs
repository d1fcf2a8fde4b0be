//! What a function tells its operator: one structured log line and one set of CloudWatch embedded-metric-format
//! (EMF) metrics per request, written by [`crate::edge::observed::Observed`] around each function's handler.
//!
//! Handlers and domain code add to the current request's record through [`count`] and [`partner_call`] (no-ops
//! outside an observed request, so domain code stays usable from the CLI and tests); the reason of a rejection
//! travels on the response as a [`Reason`] extension set by [`crate::edge::handler::error`].

pub mod emf;
pub mod excerpt;
mod record;
pub mod sink;
pub mod text_fields;

pub use record::{Counter, Outcome, PartnerCall, Reason, RequestRecord, count, partner_call};
pub use sink::{MetricSink, NoMetrics, StdoutMetrics};
