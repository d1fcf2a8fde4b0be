//! protobuf-net's `bcl` types as domain values: `Guid` as a UUID, `DateTime` as a UTC instant.

use super::proto::bcl;
use uuid::Uuid;

/// .NET's `Guid` from its two little-endian halves: the bytes of `Guid.ToByteArray()` (mixed-endian).
pub fn guid_to_uuid(guid: &bcl::Guid) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&guid.lo.to_le_bytes());
    bytes[8..].copy_from_slice(&guid.hi.to_le_bytes());
    Uuid::from_bytes_le(bytes)
}

/// The inverse of [`guid_to_uuid`] (for tests and tools that build payloads).
pub fn uuid_to_guid(uuid: Uuid) -> bcl::Guid {
    let bytes = uuid.to_bytes_le();
    let half = |range: std::ops::Range<usize>| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[range]);
        u64::from_le_bytes(b)
    };
    bcl::Guid { lo: half(0..8), hi: half(8..16) }
}

/// A UTC instant in .NET ticks (100 ns) since 1970-01-01T00:00:00Z, within .NET's DateTime range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTicks(pub i64);

/// Ticks per unit of each `TimeSpanScale` below MINMAX.
const TICKS_PER_DAY: i64 = 864_000_000_000;
/// DateTime.MinValue (0001-01-01T00:00:00) and MaxValue (9999-12-31T23:59:59.9999999) in ticks since 1970.
pub const MIN_TICKS: i64 = -621_355_968_000_000_000;
pub const MAX_TICKS: i64 = 2_534_023_007_999_999_999;

/// Why a `bcl.DateTime` has no instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateTimeError {
    #[error("unknown time scale {0}")]
    UnknownScale(i32),
    #[error("unknown date kind {0}")]
    UnknownKind(i32),
    #[error("MINMAX scale with value {0} (only 1 and -1 exist)")]
    BadMinMax(i64),
    #[error("the date is outside .NET's range (years 1 to 9999)")]
    OutOfRange,
}

impl UtcTicks {
    /// The instant of a `bcl.DateTime`. A missing field is its default (value 0, DAYS, UNSPECIFIED); every kind is
    /// read as UTC, as smart-me sends UTC.
    pub fn from_bcl(datetime: &bcl::DateTime) -> Result<Self, DateTimeError> {
        use bcl::date_time::{DateTimeKind, TimeSpanScale};
        if DateTimeKind::try_from(datetime.kind).is_err() {
            return Err(DateTimeError::UnknownKind(datetime.kind));
        }
        let per_unit = match TimeSpanScale::try_from(datetime.scale) {
            Ok(TimeSpanScale::Days) => TICKS_PER_DAY,
            Ok(TimeSpanScale::Hours) => TICKS_PER_DAY / 24,
            Ok(TimeSpanScale::Minutes) => 600_000_000,
            Ok(TimeSpanScale::Seconds) => 10_000_000,
            Ok(TimeSpanScale::Milliseconds) => 10_000,
            Ok(TimeSpanScale::Ticks) => 1,
            Ok(TimeSpanScale::Minmax) => {
                return match datetime.value {
                    1 => Ok(Self(MAX_TICKS)),
                    -1 => Ok(Self(MIN_TICKS)),
                    other => Err(DateTimeError::BadMinMax(other)),
                };
            }
            Err(_) => return Err(DateTimeError::UnknownScale(datetime.scale)),
        };
        let ticks = datetime.value.checked_mul(per_unit).ok_or(DateTimeError::OutOfRange)?;
        if !(MIN_TICKS..=MAX_TICKS).contains(&ticks) {
            return Err(DateTimeError::OutOfRange);
        }
        Ok(Self(ticks))
    }

    /// As a `bcl.DateTime` in TICKS scale, kind UTC.
    pub fn to_bcl(self) -> bcl::DateTime {
        bcl::DateTime {
            value: self.0,
            scale: bcl::date_time::TimeSpanScale::Ticks as i32,
            kind: bcl::date_time::DateTimeKind::Utc as i32,
        }
    }

    /// Milliseconds since the Unix epoch (floor).
    pub fn unix_millis(self) -> i64 {
        self.0.div_euclid(10_000)
    }

    /// Seconds since the Unix epoch (floor).
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(10_000_000)
    }

    /// RFC 3339 with seven fraction digits, `Z`: fixed width for years 1 to 9999, so text order is time order.
    pub fn to_rfc3339(self) -> String {
        // Within MIN_TICKS..=MAX_TICKS there is always a date (years 1 to 9999).
        crate::time_text::rfc3339_sortable(i128::from(self.0) * 100).unwrap_or_else(|| format!("ticks:{}", self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bcl::date_time::{DateTimeKind, TimeSpanScale};
    use proptest::prelude::*;

    fn dt(value: i64, scale: TimeSpanScale, kind: i32) -> bcl::DateTime {
        bcl::DateTime { value, scale: scale as i32, kind }
    }

    #[test]
    fn guid_is_mixed_endian_like_dotnet() {
        let guid = bcl::Guid { lo: 0x41839F8E3BD0FCE9, hi: 0xA12CA222160CD1B3 };
        assert_eq!(guid_to_uuid(&guid).to_string(), "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1");
        assert_eq!(uuid_to_guid(guid_to_uuid(&guid)), guid);
        assert_eq!(guid_to_uuid(&bcl::Guid::default()), Uuid::nil(), "Guid.Empty is the empty message");
    }

    #[test]
    fn every_scale_converts() {
        let utc = DateTimeKind::Utc as i32;
        assert_eq!(
            UtcTicks::from_bcl(&dt(1, TimeSpanScale::Days, utc)).unwrap().to_rfc3339(),
            "1970-01-02T00:00:00.0000000Z"
        );
        assert_eq!(
            UtcTicks::from_bcl(&dt(-1, TimeSpanScale::Hours, utc)).unwrap().to_rfc3339(),
            "1969-12-31T23:00:00.0000000Z"
        );
        assert_eq!(
            UtcTicks::from_bcl(&dt(90, TimeSpanScale::Minutes, utc)).unwrap().to_rfc3339(),
            "1970-01-01T01:30:00.0000000Z"
        );
        assert_eq!(
            UtcTicks::from_bcl(&dt(1_571_228_444, TimeSpanScale::Seconds, utc)).unwrap().to_rfc3339(),
            "2019-10-16T12:20:44.0000000Z"
        );
        assert_eq!(
            UtcTicks::from_bcl(&dt(-1, TimeSpanScale::Milliseconds, utc)).unwrap().to_rfc3339(),
            "1969-12-31T23:59:59.9990000Z"
        );
        assert_eq!(
            UtcTicks::from_bcl(&dt(15_712_284_449_788_512, TimeSpanScale::Ticks, utc)).unwrap().to_rfc3339(),
            "2019-10-16T12:20:44.9788512Z"
        );
        // Missing fields: value 0 in DAYS is the epoch.
        assert_eq!(UtcTicks::from_bcl(&bcl::DateTime::default()).unwrap(), UtcTicks(0));
    }

    #[test]
    fn minmax_and_extremes() {
        let max = UtcTicks::from_bcl(&dt(1, TimeSpanScale::Minmax, 0)).unwrap();
        assert_eq!(max.to_rfc3339(), "9999-12-31T23:59:59.9999999Z");
        let min = UtcTicks::from_bcl(&dt(-1, TimeSpanScale::Minmax, 0)).unwrap();
        assert_eq!(min.to_rfc3339(), "0001-01-01T00:00:00.0000000Z");
        assert_eq!(UtcTicks::from_bcl(&dt(0, TimeSpanScale::Minmax, 0)), Err(DateTimeError::BadMinMax(0)));
        assert_eq!(UtcTicks::from_bcl(&dt(i64::MAX, TimeSpanScale::Days, 0)), Err(DateTimeError::OutOfRange));
        assert_eq!(UtcTicks::from_bcl(&dt(i64::MIN, TimeSpanScale::Ticks, 0)), Err(DateTimeError::OutOfRange));
        assert_eq!(UtcTicks::from_bcl(&dt(2_932_897, TimeSpanScale::Days, 0)), Err(DateTimeError::OutOfRange));
        assert_eq!(
            UtcTicks::from_bcl(&dt(-719_162, TimeSpanScale::Days, 0)).unwrap().to_rfc3339(),
            "0001-01-01T00:00:00.0000000Z"
        );
        assert_eq!(UtcTicks::from_bcl(&dt(-719_163, TimeSpanScale::Days, 0)), Err(DateTimeError::OutOfRange));
    }

    #[test]
    fn unknown_scale_and_kind_are_errors() {
        assert_eq!(
            UtcTicks::from_bcl(&bcl::DateTime { value: 1, scale: 6, kind: 0 }),
            Err(DateTimeError::UnknownScale(6))
        );
        assert_eq!(
            UtcTicks::from_bcl(&bcl::DateTime { value: 1, scale: 0, kind: 3 }),
            Err(DateTimeError::UnknownKind(3))
        );
        assert!(UtcTicks::from_bcl(&bcl::DateTime { value: 1, scale: 0, kind: DateTimeKind::Local as i32 }).is_ok());
    }

    proptest! {
        #[test]
        fn any_input_converts_or_errors_without_panicking(value in any::<i64>(), scale in any::<i32>(), kind in any::<i32>()) {
            if let Ok(t) = UtcTicks::from_bcl(&bcl::DateTime { value, scale, kind }) {
                prop_assert!((MIN_TICKS..=MAX_TICKS).contains(&t.0));
                prop_assert_eq!(t.to_rfc3339().len(), 28);
            }
        }

        #[test]
        fn ticks_round_trip(ticks in MIN_TICKS..=MAX_TICKS) {
            prop_assert_eq!(UtcTicks::from_bcl(&UtcTicks(ticks).to_bcl()).unwrap(), UtcTicks(ticks));
        }

        #[test]
        fn text_order_is_time_order(a in MIN_TICKS..=MAX_TICKS, b in MIN_TICKS..=MAX_TICKS) {
            prop_assert_eq!(UtcTicks(a).to_rfc3339().cmp(&UtcTicks(b).to_rfc3339()), a.cmp(&b));
        }
    }
}
