//! smart-me realtime posts: decoding and validation never panic, and what decodes has valid parts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(readings) = shared::partners::smartme::decode(body) {
        for reading in readings {
            assert!(!reading.device_id.is_nil());
            assert_eq!(reading.time.to_rfc3339().len(), 28);
            for (obis, value) in reading.values {
                assert!(value.is_finite());
                assert_eq!(obis.to_string().parse::<shared::partners::smartme::Obis>().unwrap(), obis);
            }
        }
    }
});
