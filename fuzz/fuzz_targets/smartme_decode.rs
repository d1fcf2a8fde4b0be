//! smart-me realtime posts: decoding and validation never panic, what decodes has valid parts, and every item is
//! either a reading or a skipped item.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(decoded) = shared::partners::smartme::decode(body) {
        for skipped in &decoded.skipped {
            assert!(skipped.device_id.is_none_or(|id| !id.is_nil()));
        }
        for reading in decoded.readings {
            assert!(!reading.device_id.is_nil());
            assert_eq!(reading.time.to_rfc3339().len(), 28);
            for (obis, value) in reading.values {
                assert!(value.is_finite());
                assert_eq!(obis.to_string().parse::<shared::partners::smartme::Obis>().unwrap(), obis);
            }
        }
    }
});
