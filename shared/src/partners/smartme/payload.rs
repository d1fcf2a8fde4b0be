//! Decoding and validating a realtime post before anything is written: the post's framing must be sound (a
//! `DeviceDataArray` and nothing else), and each item is judged on its own. An item that fails validation (no or an
//! empty DeviceId, a DateTime of an unknown kind or scale, an Obis that is not 6 bytes, a value that is not a
//! finite number) is skipped and reported; the others are stored, so one bad meter never costs the others their
//! readings (smart-me would redeliver the same post, refused again).
//!
//! smart-me also publishes the schema as proto3, where a zero is left out: a `DeviceValue` without a value is 0.

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

/// Why a post was refused whole: its framing is not a `DeviceDataArray`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not a DeviceDataArray: {0}")]
    NotProtobuf(String),
    #[error("unexpected data at byte {offset}: field {field} is not part of DeviceDataArray")]
    TrailingData { offset: usize, field: u32 },
}

/// An item skipped for failing validation: which (0-based), its device when that much could be read, what was
/// wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("item {item}: {field} {problem}")]
pub struct SkippedItem {
    pub item: usize,
    pub device_id: Option<Uuid>,
    pub field: String,
    pub problem: String,
}

/// A decoded post: its valid readings, in order, and the items skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub readings: Vec<Reading>,
    pub skipped: Vec<SkippedItem>,
}

fn skipped(item: usize, device_id: Option<Uuid>, field: impl Into<String>, problem: impl Into<String>) -> SkippedItem {
    SkippedItem { item, device_id, field: field.into(), problem: problem.into() }
}

/// Decodes and validates a realtime post.
///
/// prost does not enforce proto2 `required`, so presence is read from the wire: DeviceId and DateTime must be
/// present, DeviceId must not be Guid.Empty, every DeviceValue must carry its Obis (6 bytes) and any value it
/// carries must be finite (an absent value is proto3's 0). Top-level data that is not a DeviceDataItems entry
/// (trailing garbage) refuses the post rather than being silently skipped.
pub fn decode(body: &[u8]) -> Result<Decoded, PayloadError> {
    let items = top_level_items(body)?;
    let array = DeviceDataArray::decode(body).map_err(|e| PayloadError::NotProtobuf(e.to_string()))?;
    let mut decoded = Decoded::default();
    for (index, (item, raw)) in array.device_data_items.iter().zip(items).enumerate() {
        match check_required(index, raw).and_then(|()| reading(index, item)) {
            Ok(reading) => decoded.readings.push(reading),
            Err(mut skip) => {
                let id = guid_to_uuid(&item.device_id);
                skip.device_id = skip.device_id.or((!id.is_nil()).then_some(id));
                decoded.skipped.push(skip);
            }
        }
    }
    Ok(decoded)
}

/// prost fills absent required fields with defaults, so presence is read from the wire bytes of each item.
fn check_required(index: usize, raw: &[u8]) -> Result<(), SkippedItem> {
    let item_fields = fields(raw).map_err(|e| skipped(index, None, "DeviceData", e))?;
    for (number, name) in [(1, "DeviceId"), (2, "DateTime")] {
        if !item_fields.iter().any(|(n, _)| *n == number) {
            return Err(skipped(index, None, name, "is missing"));
        }
    }
    for (v, (_, value)) in item_fields.iter().filter(|(n, _)| *n == 3).enumerate() {
        let value_fields = fields(value).map_err(|e| skipped(index, None, format!("DeviceValues[{v}]"), e))?;
        if !value_fields.iter().any(|(n, _)| *n == 1) {
            return Err(skipped(index, None, format!("DeviceValues[{v}].Obis"), "is missing"));
        }
    }
    Ok(())
}

fn reading(index: usize, item: &DeviceData) -> Result<Reading, SkippedItem> {
    let device_id = guid_to_uuid(&item.device_id);
    if device_id.is_nil() {
        return Err(skipped(index, None, "DeviceId", "is Guid.Empty"));
    }
    let device = Some(device_id);
    let time = UtcTicks::from_bcl(&item.date_time).map_err(|e| skipped(index, device, "DateTime", e.to_string()))?;
    let mut values = Vec::with_capacity(item.device_values.len());
    for (v, value) in item.device_values.iter().enumerate() {
        let obis = Obis::from_bytes(&value.obis).ok_or_else(|| {
            let problem = format!("has {} bytes, not 6", value.obis.len());
            skipped(index, device, format!("DeviceValues[{v}].Obis"), problem)
        })?;
        if !value.value.is_finite() {
            return Err(skipped(index, device, format!("DeviceValues[{v}].Value"), "is not a finite number"));
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

    /// Each invalid item is skipped and named (with its device when it has one); the valid ones around it are kept.
    #[test]
    fn a_bad_item_is_skipped_and_named_and_the_others_kept() {
        let good = item(DEVICE, 0, &[([1, 0, 1, 8, 0, 255], 1.0)]);
        let mut empty_id = good.clone();
        empty_id.device_id = bcl::Guid::default();
        let mut bad_scale = good.clone();
        bad_scale.date_time = bcl::DateTime { value: 1, scale: 9, kind: 0 };
        let mut bad_kind = good.clone();
        bad_kind.date_time = bcl::DateTime { value: 1, scale: 3, kind: 7 };
        let mut short_obis = item(DEVICE, 0, &[([1, 0, 1, 8, 0, 255], 1.0)]);
        short_obis.device_values[0].obis.pop();
        let nan = item(DEVICE, 0, &[([1, 0, 1, 8, 0, 255], 1.0), ([1, 0, 2, 8, 0, 255], f64::NAN)]);
        for (bad, needle, device) in [
            (empty_id, "item 1: DeviceId is Guid.Empty", None),
            (bad_scale, "item 1: DateTime unknown time scale 9", Some(DEVICE)),
            (bad_kind, "item 1: DateTime unknown date kind 7", Some(DEVICE)),
            (short_obis, "item 1: DeviceValues[0].Obis has 5 bytes, not 6", Some(DEVICE)),
            (nan, "item 1: DeviceValues[1].Value is not a finite number", Some(DEVICE)),
        ] {
            let decoded = decode(&encode(vec![good.clone(), bad, good.clone()])).unwrap();
            assert_eq!(decoded.readings.len(), 2, "{needle}");
            assert_eq!(decoded.skipped.len(), 1);
            assert_eq!(decoded.skipped[0].to_string(), needle);
            assert_eq!(decoded.skipped[0].device_id, device);
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
        let cases: [(Vec<u8>, &str); 3] = [
            ([field(2, &time)].concat(), "item 0: DeviceId is missing"),
            ([field(1, &guid)].concat(), "item 0: DateTime is missing"),
            (
                [field(1, &guid), field(2, &time), value_with(false, true)].concat(),
                "item 0: DeviceValues[0].Obis is missing",
            ),
        ];
        for (fields, message) in cases {
            let decoded = decode(&raw_array(&fields)).unwrap();
            assert_eq!((decoded.readings.len(), decoded.skipped[0].to_string()), (0, message.to_owned()));
        }
        let complete = [field(1, &guid), field(2, &time), value_with(true, true)].concat();
        let readings = decode(&raw_array(&complete)).unwrap().readings;
        assert_eq!(readings[0].values, vec![(Obis([1, 0, 1, 8, 0, 255]), 1.5)]);
        // proto3 leaves a zero out: a value without its Value field is 0.
        let zero = [field(1, &guid), field(2, &time), value_with(true, false)].concat();
        let readings = decode(&raw_array(&zero)).unwrap().readings;
        assert_eq!(readings[0].values, vec![(Obis([1, 0, 1, 8, 0, 255]), 0.0)]);
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
        assert_eq!(decode(&[]).unwrap(), Decoded::default(), "an empty array is a valid (empty) post");
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
            let decoded = decode(&encode(items.clone())).unwrap();
            prop_assert!(decoded.skipped.is_empty());
            let readings = decoded.readings;
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

        /// However many items are invalid and wherever they are, every valid item is kept, in order.
        #[test]
        fn every_valid_item_is_kept(items in proptest::collection::vec((arb_item(), any::<bool>()), 0..8)) {
            let sent: Vec<DeviceData> = items
                .iter()
                .map(|(item, broken)| {
                    let mut item = item.clone();
                    if *broken {
                        item.date_time.scale = 11;
                    }
                    item
                })
                .collect();
            let decoded = decode(&encode(sent)).unwrap();
            let valid: Vec<_> = items.iter().filter(|(_, broken)| !broken).map(|(i, _)| i.device_id).collect();
            let kept: Vec<_> = decoded.readings.iter().map(|r| uuid_to_guid(r.device_id)).collect();
            prop_assert_eq!(kept, valid);
            prop_assert_eq!(decoded.skipped.len(), items.iter().filter(|(_, broken)| *broken).count());
        }
    }
}
