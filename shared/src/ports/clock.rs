//! Time as the functions use it: epoch seconds in, RFC 3339 text out.

/// The current time in epoch seconds.
pub fn now_epoch() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Milliseconds since the epoch (metric timestamps).
pub fn now_epoch_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

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

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_seconds() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_795_401_483), "2026-11-23T02:38:03Z");
        assert_eq!(super::rfc3339(i64::MAX), "1970-01-01T00:00:00Z");
    }
}
