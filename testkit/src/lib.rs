//! Test utilities shared by the workspace's tests: real wire-protocol servers and peers on loopback, in four rooms
//! that use only the ones before them and the helpers here:
//!
//! - [`assertions`]: what must hold beyond an answer (no leaked secret, module graphs, event schemas, EMF).
//! - [`aws`]: the AWS harness (moto, the recorder and IAM, the translated template, AWS's faults).
//! - [`lambda`]: the Lambda emulator (runtime API, log filter, stream filter, the `events/` catalogue).
//! - [`partners`]: the partners and peers (the sandbox's fakes, a real OpenID Provider, TLS for partners).
//!
//! Beside them: [`clock`] (time a test moves), [`http_client`], [`browser`] (headless Chromium), [`forward`].

pub mod assertions;
pub mod aws;
pub mod browser;
pub mod clock;
pub mod forward;
pub mod http_client;
pub mod lambda;
pub mod partners;

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
/// [`aws::harness::Backend`], so a behaviour suite runs against both implementations of the ports.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod embedded { $( #[tokio::test] async fn $case() { super::$case($crate::aws::harness::Backend::Embedded).await } )* }
        mod dynamodb { $( #[tokio::test] async fn $case() { super::$case($crate::aws::harness::Backend::Aws).await } )* }
    };
}
