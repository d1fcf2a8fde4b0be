//! Decoding and validating a whole realtime post before anything is written: one bad item rejects the post.

use super::bcl::{UtcTicks, guid_to_uuid};
use super::obis::Obis;
use super::proto::{DeviceData, DeviceDataArray};
use prost::Message;
use uuid::Uuid;

/// One device's values at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub device_id: Uuid,
    pub time: UtcTicks,
    pub values: Vec<(Obis, f64)>,
}

/// Why a post was refused: which item (0-based), which field, what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not a DeviceDataArray: {0}")]
    NotProtobuf(String),
    #[error("unexpected data at byte {offset}: field {field} is not part of DeviceDataArray")]
    TrailingData { offset: usize, field: u32 },
    #[error("item {item}: {field} {problem}")]
    Item { item: usize, field: String, problem: String },
}

fn item_error(item: usize, field: impl Into<String>, problem: impl Into<String>) -> PayloadError {
    PayloadError::Item { item, field: field.into(), problem: problem.into() }
}

/// Decodes and validates a realtime post.
///
/// prost does not enforce proto2 `required`, so presence is checked here: DeviceId and DateTime must be present,
/// DeviceId must not be Guid.Empty, every Obis must be 6 bytes and every Value finite. Top-level data that is not
/// a DeviceDataItems entry (trailing garbage) is refused rather than silently skipped.
pub fn decode(body: &[u8]) -> Result<Vec<Reading>, PayloadError> {
    let items = top_level_items(body)?;
    let array = DeviceDataArray::decode(body).map_err(|e| PayloadError::NotProtobuf(e.to_string()))?;
    array
        .device_data_items
        .iter()
        .zip(items)
        .enumerate()
        .map(|(index, (item, raw))| {
            check_required(index, raw)?;
            reading(index, item)
        })
        .collect()
}

/// prost fills absent required fields with defaults, so presence is read from the wire bytes of each item.
fn check_required(index: usize, raw: &[u8]) -> Result<(), PayloadError> {
    let item_fields = fields(raw).map_err(|e| item_error(index, "DeviceData", e))?;
    for (number, name) in [(1, "DeviceId"), (2, "DateTime")] {
        if !item_fields.iter().any(|(n, _)| *n == number) {
            return Err(item_error(index, name, "is missing"));
        }
    }
    for (v, (_, value)) in item_fields.iter().filter(|(n, _)| *n == 3).enumerate() {
        let value_fields = fields(value).map_err(|e| item_error(index, format!("DeviceValues[{v}]"), e))?;
        for (number, name) in [(1, "Obis"), (2, "Value")] {
            if !value_fields.iter().any(|(n, _)| *n == number) {
                return Err(item_error(index, format!("DeviceValues[{v}].{name}"), "is missing"));
            }
        }
    }
    Ok(())
}

fn reading(index: usize, item: &DeviceData) -> Result<Reading, PayloadError> {
    let device_id = guid_to_uuid(&item.device_id);
    if device_id.is_nil() {
        return Err(item_error(index, "DeviceId", "is Guid.Empty"));
    }
    let time = UtcTicks::from_bcl(&item.date_time).map_err(|e| item_error(index, "DateTime", e.to_string()))?;
    let mut values = Vec::with_capacity(item.device_values.len());
    for (v, value) in item.device_values.iter().enumerate() {
        let obis = Obis::from_bytes(&value.obis).ok_or_else(|| {
            item_error(index, format!("DeviceValues[{v}].Obis"), format!("has {} bytes, not 6", value.obis.len()))
        })?;
        if !value.value.is_finite() {
            return Err(item_error(index, format!("DeviceValues[{v}].Value"), "is not a finite number"));
        }
        values.push((obis, value.value));
    }
    Ok(Reading { device_id, time, values })
}

/// The raw bytes of each top-level DeviceDataItems entry; any other top-level field (trailing garbage) is refused.
fn top_level_items(body: &[u8]) -> Result<Vec<&[u8]>, PayloadError> {
    let mut items = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let offset = body.len() - rest.len();
        let (number, _, value, after) =
            next_field(rest).map_err(|e| PayloadError::NotProtobuf(format!("at byte {offset}: {e}")))?;
        match (number, value) {
            (1, Some(bytes)) => items.push(bytes),
            _ => return Err(PayloadError::TrailingData { offset, field: number }),
        }
        rest = after;
    }
    Ok(items)
}

/// Every field of a message: (number, length-delimited bytes or empty).
fn fields(message: &[u8]) -> Result<Vec<(u32, &[u8])>, String> {
    let mut out = Vec::new();
    let mut rest = message;
    while !rest.is_empty() {
        let (number, _, value, after) = next_field(rest)?;
        out.push((number, value.unwrap_or_default()));
        rest = after;
    }
    Ok(out)
}

type Field<'a> = (u32, prost::encoding::WireType, Option<&'a [u8]>, &'a [u8]);

/// Reads one field: its number, wire type, the bytes of a length-delimited value, and what follows.
fn next_field(buf: &[u8]) -> Result<Field<'_>, String> {
    use prost::encoding::{WireType, decode_key, decode_varint};
    let mut rest = buf;
    let (number, wire_type) = decode_key(&mut rest).map_err(|e| e.to_string())?;
    fn skip(rest: &[u8], n: usize) -> Result<&[u8], String> {
        rest.get(n..).ok_or_else(|| "a field runs past the end".to_owned())
    }
    match wire_type {
        WireType::Varint => {
            decode_varint(&mut rest).map_err(|e| e.to_string())?;
            Ok((number, wire_type, None, rest))
        }
        WireType::SixtyFourBit => Ok((number, wire_type, None, skip(rest, 8)?)),
        WireType::ThirtyTwoBit => Ok((number, wire_type, None, skip(rest, 4)?)),
        WireType::LengthDelimited => {
            let len = decode_varint(&mut rest).map_err(|e| e.to_string())?;
            let len = usize::try_from(len).map_err(|_| "a length is too large".to_owned())?;
            let after = skip(rest, len)?;
            Ok((number, wire_type, Some(&rest[..len]), after))
        }
        WireType::StartGroup | WireType::EndGroup => Err("groups are not used by this schema".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partners::smartme::bcl::uuid_to_guid;
    use crate::partners::smartme::proto::{DeviceValue, bcl};
    use proptest::prelude::*;

    fn item(device: Uuid, ticks: i64, values: &[([u8; 6], f64)]) -> DeviceData {
        DeviceData {
            device_id: uuid_to_guid(device),
            date_time: UtcTicks(ticks).to_bcl(),
            device_values: values.iter().map(|(o, v)| DeviceValue { obis: o.to_vec(), value: *v }).collect(),
        }
    }

    fn encode(items: Vec<DeviceData>) -> Vec<u8> {
        DeviceDataArray { device_data_items: items }.encode_to_vec()
    }

    const DEVICE: Uuid = Uuid::from_u128(0x3bd0fce9_9f8e_4183_b3d1_0c1622a22ca1);

    #[test]
    fn names_the_item_and_field_that_is_wrong() {
        let good = item(DEVICE, 0, &[([1, 0, 1, 8, 0, 255], 1.0)]);
        let mut empty_id = good.clone();
        empty_id.device_id = bcl::Guid::default();
        let mut bad_scale = good.clone();
        bad_scale.date_time = bcl::DateTime { value: 1, scale: 9, kind: 0 };
        let short_obis = item(DEVICE, 0, &[([1, 0, 1, 8, 0, 255], 1.0)]);
        let mut short_obis = short_obis;
        short_obis.device_values[0].obis.pop();
        let nan = item(DEVICE, 0, &[([1, 0, 1, 8, 0, 255], 1.0), ([1, 0, 2, 8, 0, 255], f64::NAN)]);
        for (bad, needle) in [
            (empty_id, "item 1: DeviceId is Guid.Empty"),
            (bad_scale, "item 1: DateTime unknown time scale 9"),
            (short_obis, "item 1: DeviceValues[0].Obis has 5 bytes, not 6"),
            (nan, "item 1: DeviceValues[1].Value is not a finite number"),
        ] {
            let err = decode(&encode(vec![good.clone(), bad])).unwrap_err();
            assert_eq!(err.to_string(), needle);
        }
    }

    /// A DeviceDataArray holding one item with exactly these raw DeviceData fields.
    fn raw_array(item_fields: &[u8]) -> Vec<u8> {
        let mut body = vec![0x0a, item_fields.len() as u8];
        body.extend_from_slice(item_fields);
        body
    }

    #[test]
    fn absent_required_fields_are_named() {
        let guid = uuid_to_guid(DEVICE).encode_to_vec();
        let time = UtcTicks(0).to_bcl().encode_to_vec();
        let field = |number: u8, bytes: &[u8]| {
            let mut f = vec![(number << 3) | 2, bytes.len() as u8];
            f.extend_from_slice(bytes);
            f
        };
        let value_with = |obis: bool, value: bool| {
            let mut v = Vec::new();
            if obis {
                v.extend(field(1, &[1, 0, 1, 8, 0, 255]));
            }
            if value {
                v.push(0x11);
                v.extend_from_slice(&1.5f64.to_le_bytes());
            }
            field(3, &v)
        };
        let cases: [(Vec<u8>, &str); 4] = [
            ([field(2, &time)].concat(), "item 0: DeviceId is missing"),
            ([field(1, &guid)].concat(), "item 0: DateTime is missing"),
            (
                [field(1, &guid), field(2, &time), value_with(true, false)].concat(),
                "item 0: DeviceValues[0].Value is missing",
            ),
            (
                [field(1, &guid), field(2, &time), value_with(false, true)].concat(),
                "item 0: DeviceValues[0].Obis is missing",
            ),
        ];
        for (fields, message) in cases {
            assert_eq!(decode(&raw_array(&fields)).unwrap_err().to_string(), message);
        }
        let complete = [field(1, &guid), field(2, &time), value_with(true, true)].concat();
        let readings = decode(&raw_array(&complete)).unwrap();
        assert_eq!(readings[0].values, vec![(Obis([1, 0, 1, 8, 0, 255]), 1.5)]);
    }

    #[test]
    fn refuses_trailing_garbage_and_truncation() {
        let mut body = encode(vec![item(DEVICE, 0, &[])]);
        let clean_len = body.len();
        body.extend_from_slice(&[0x10, 0x01]); // field 2, varint 1
        assert_eq!(decode(&body).unwrap_err(), PayloadError::TrailingData { offset: clean_len, field: 2 });
        let mut body = encode(vec![item(DEVICE, 0, &[])]);
        body.pop();
        assert!(matches!(decode(&body).unwrap_err(), PayloadError::NotProtobuf(_)));
        assert!(decode(&[0xff]).is_err());
        assert_eq!(decode(&[]).unwrap(), vec![], "an empty array is a valid (empty) post");
    }

    fn arb_item() -> impl Strategy<Value = DeviceData> {
        (
            any::<u128>(),
            crate::partners::smartme::bcl::MIN_TICKS..=crate::partners::smartme::bcl::MAX_TICKS,
            proptest::collection::vec((any::<[u8; 6]>(), -1e12f64..1e12), 0..8),
        )
            .prop_filter("non-nil device", |(id, _, _)| *id != 0)
            .prop_map(|(id, ticks, values)| item(Uuid::from_u128(id), ticks, &values))
    }

    proptest! {
        #[test]
        fn encoded_arrays_decode_back_equal(items in proptest::collection::vec(arb_item(), 0..6)) {
            let readings = decode(&encode(items.clone())).unwrap();
            prop_assert_eq!(readings.len(), items.len());
            for (reading, item) in readings.iter().zip(&items) {
                prop_assert_eq!(uuid_to_guid(reading.device_id), item.device_id);
                prop_assert_eq!(reading.time.to_bcl(), item.date_time);
                let values: Vec<(Vec<u8>, f64)> = reading.values.iter().map(|(o, v)| (o.0.to_vec(), *v)).collect();
                let expected: Vec<(Vec<u8>, f64)> = item.device_values.iter().map(|v| (v.obis.clone(), v.value)).collect();
                prop_assert_eq!(values, expected);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&body);
        }
    }
}
