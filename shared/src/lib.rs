//! Switchyard's shared library: everything the six Lambda functions have in common.
//!
//! The dependency direction follows the hexagonal split: function crates (HTTP edge) call the partner modules here
//! (`retailcrm`, ...), which call the ports (`store::Store`, `secrets::Secrets`); nothing here knows which function
//! or runtime it runs in.

pub mod codec;
pub mod crypto;
pub mod edge;
pub mod env;
pub mod identity;
pub mod partners;
pub mod ports;
pub mod telemetry;
pub mod time_text;

pub use ports::Deps;
