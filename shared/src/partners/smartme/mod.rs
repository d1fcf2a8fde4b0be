//! smart-me Realtime API: the protobuf `DeviceDataArray` smart-me posts, decoded and validated into readings.

pub mod batch;
pub mod bcl;
pub mod control;
pub mod latest;
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
