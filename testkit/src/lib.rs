//! Test utilities shared by the workspace's tests: real wire-protocol servers and peers on loopback.
//!
//! - [`moto`]: handles on the `moto_server` that `scripts/test` starts (DynamoDB and Secrets Manager).
//! - [`runtime`]: a Lambda runtime-API emulator, to run the real function binaries as Lambda runs them.
//! - [`events`]: the `events/` catalogue and its expected statuses.
//! - [`template`]: the stack as the SAM translator makes it, resolved for a test stack; [`iam`] and
//!   [`aws_calls`]: IAM's judgement of every AWS call the suite makes; [`lambda_logs`]: Lambda's log filter.

pub mod aws_calls;
pub mod aws_recorder;
pub mod browser;
pub mod capacity;
pub mod clock;
pub mod event_schemas;
pub mod faults;
pub mod forward;
pub mod http_client;
pub mod iam;
pub mod lambda_logs;
pub mod leaks;
pub mod module_graph;
pub mod moto;
pub mod oidc;
pub mod proxy;
pub mod retailcrm;
pub mod roles;
pub mod runtime;
pub mod sample_requests;
pub mod sber_api;
/// smallcase's Gateway, played by the sandbox.
pub use sandbox::smallcase;
/// smart-me, played by the sandbox (the local runner uses the same fake).
pub use sandbox::smartme as smartme_api;
pub mod harness;
pub mod stored_webhooks;
pub mod stream_filter;
pub mod telemetry;
pub mod template;
pub mod tls;
pub mod upstream;

use std::path::PathBuf;

/// The workspace root (for `events/`, `template.yaml`, `local/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}

/// A name no other test uses (tables, secret prefixes), so tests share one moto_server safely.
pub fn unique_name(prefix: &str) -> String {
    use rand::Rng;
    format!("{prefix}-{:016x}", rand::rng().random::<u64>())
}

pub use sandbox::serve_http;

/// Generates `mod embedded` and `mod dynamodb`, each with one `#[tokio::test]` per named async fn taking a
/// [`stack::Backend`], so a behaviour suite runs against both implementations of the ports.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod embedded { $( #[tokio::test] async fn $case() { super::$case($crate::harness::Backend::Embedded).await } )* }
        mod dynamodb { $( #[tokio::test] async fn $case() { super::$case($crate::harness::Backend::Aws).await } )* }
    };
}
