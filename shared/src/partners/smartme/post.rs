//! A smart-me Realtime API post built from plain values: what tests, benchmarks and tools send to `ingest`.

use super::UtcTicks;
use super::bcl::uuid_to_guid;
use super::proto::{DeviceData, DeviceDataArray, DeviceValue};
use prost::Message;
use uuid::Uuid;

/// One meter's values (`(OBIS code, value)`) at `unix_ms`, as smart-me encodes them.
pub fn reading(device: Uuid, unix_ms: i64, values: &[([u8; 6], f64)]) -> DeviceData {
    DeviceData {
        device_id: uuid_to_guid(device),
        date_time: UtcTicks(unix_ms * 10_000).to_bcl(),
        device_values: values.iter().map(|(obis, value)| DeviceValue { obis: obis.to_vec(), value: *value }).collect(),
    }
}

/// The body of one post carrying `readings`.
pub fn body(readings: Vec<DeviceData>) -> Vec<u8> {
    DeviceDataArray { device_data_items: readings }.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_post_decodes_to_its_values() {
        let meter = Uuid::from_u128(0x3bd0fce9_9f8e_4183_b3d1_0c1622a22ca1);
        let post = body(vec![reading(meter, 1_700_000_000_123, &[([1, 0, 1, 7, 0, 255], 240.5)])]);
        let decoded = super::super::decode(&post).unwrap().readings;
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].device_id, meter);
        assert_eq!(decoded[0].time, UtcTicks(1_700_000_000_123 * 10_000));
        assert_eq!(decoded[0].values.len(), 1);
    }
}
