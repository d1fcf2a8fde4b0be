//! The partners and peers as the tests play them: the sandbox's fakes (RetailCRM, Sber, smart-me, smallcase), HTTPS
//! on a test authority for partners whose roots Lambda lacks, a real OpenID Provider, and the browser's part of
//! signing in upstream.

pub mod oidc;
pub mod retailcrm;
pub mod sber_api;
/// smallcase's Gateway, played by the sandbox.
pub use sandbox::smallcase;
/// smart-me, played by the sandbox (the local runner uses the same fake).
pub use sandbox::smartme as smartme_api;
pub mod tls;
pub mod upstream;
