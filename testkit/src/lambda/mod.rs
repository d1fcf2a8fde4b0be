//! The Lambda emulator: the runtime API that runs the real function binaries, Lambda's log-level filter, the
//! stream event filter of the template's event source mappings, and the `events/` catalogue `sam local` invokes.

pub mod log_filter;
pub mod runtime;
pub mod sample_requests;
pub mod stream_filter;
