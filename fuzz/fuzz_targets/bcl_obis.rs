//! protobuf-net bcl conversions and OBIS codes on their own: any DateTime value/scale/kind converts or is refused
//! (never overflows), any Guid bytes map to a UUID and back, any 6 bytes are an OBIS code whose text parses back,
//! and any text either parses as OBIS or is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::partners::smartme::bcl::{guid_to_uuid, uuid_to_guid};
use shared::partners::smartme::proto::bcl;
use shared::partners::smartme::{Obis, UtcTicks};

fuzz_target!(|input: (i64, i32, i32, u64, u64, [u8; 6], &str)| {
    let (value, scale, kind, lo, hi, obis, text) = input;
    if let Ok(ticks) = UtcTicks::from_bcl(&bcl::DateTime { value, scale, kind }) {
        assert_eq!(UtcTicks::from_bcl(&ticks.to_bcl()), Ok(ticks));
        assert_eq!(ticks.to_rfc3339().len(), 28);
    }
    let guid = bcl::Guid { lo, hi };
    assert_eq!(uuid_to_guid(guid_to_uuid(&guid)), guid);
    let code = Obis::from_bytes(&obis).expect("six bytes are an OBIS code");
    assert_eq!(code.to_string().parse::<Obis>().ok(), Some(code));
    if let Ok(parsed) = text.parse::<Obis>() {
        assert_eq!(parsed.to_string().parse::<Obis>().ok(), Some(parsed));
    }
});
