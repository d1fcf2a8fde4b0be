//! smart-me: the Realtime API's protobuf `DeviceDataArray` posts decoded, validated and stored as readings; the
//! REST API and OAuth 2.0 that act for a meter's owner (their own grant, or the vendor's key): signing in with
//! smart-me, discovering and switching meters, subscribing them to the Realtime API.

pub mod access;
pub mod account;
pub mod batch;
pub mod bcl;
pub mod client;
pub mod control;
pub mod grant;
pub mod latest;
pub mod meters;
pub mod oauth;
pub mod obis;
pub mod payload;
pub mod post;
pub mod realtime;
pub mod registration;
pub mod secret;
pub mod storage;

/// Types generated from `proto/` by the build script.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    pub mod bcl {
        include!(concat!(env!("OUT_DIR"), "/bcl.rs"));
    }
    pub mod realtime_api {
        pub mod containers {
            include!(concat!(env!("OUT_DIR"), "/realtime_api.containers.rs"));
        }
    }
    pub use realtime_api::containers::{DeviceData, DeviceDataArray, DeviceValue};
}

pub use bcl::UtcTicks;
pub use obis::Obis;
pub use payload::{PayloadError, Reading, decode};
