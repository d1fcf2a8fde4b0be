//! Every text form of a time we read or write: RFC 3339 for events and pages, fixed-width RFC 3339 for sort keys,
//! and the forms partners send (unix seconds or milliseconds, RFC 3339).

/// `epoch_s` as RFC 3339 UTC with whole seconds (`2026-11-23T02:38:03Z`); out-of-range values clamp to epoch 0.
pub fn rfc3339(epoch_s: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch_s).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `unix_nanos` as RFC 3339 UTC with exactly seven fractional digits (`2026-11-23T02:38:03.1234567Z`, .NET's tick
/// precision): fixed width, so the text sorts as the time does (store keys). `None` outside years 1 to 9999.
pub fn rfc3339_sortable(unix_nanos: i128) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(unix_nanos).ok()?;
    if !(1..=9999).contains(&t.year()) {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    ))
}

/// A time a partner sent as text, in epoch seconds: unix seconds or milliseconds (digits; milliseconds from 13
/// digits on, 2001-09-09 in ms), or an RFC 3339 date-time. Anything else is `None`.
pub fn epoch_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty() && text.len() <= 16 && text.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = text.parse().ok()?;
        return Some(if text.len() >= 13 { n / 1000 } else { n });
    }
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(parsed.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_401_483), "2026-11-23T02:38:03Z");
        assert_eq!(rfc3339(i64::MAX), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn sortable_text_and_partner_times() {
        assert_eq!(rfc3339_sortable(1_795_401_483_123_456_700).as_deref(), Some("2026-11-23T02:38:03.1234567Z"));
        assert_eq!(rfc3339_sortable(i128::MAX), None);
        assert_eq!(epoch_seconds("1795374200"), Some(1_795_374_200));
        assert_eq!(epoch_seconds("1795374200123"), Some(1_795_374_200));
        assert_eq!(epoch_seconds("2026-11-23T02:38:03.123Z"), Some(1_795_401_483));
        assert_eq!(epoch_seconds("2026-11-23T05:38:03+03:00"), Some(1_795_401_483));
        for bad in ["", "yesterday", "12345678901234567", "-5"] {
            assert_eq!(epoch_seconds(bad), None, "{bad}");
        }
    }
}
