//! When a meter counts as online for Sber: judged against the meter's own rhythm. smart-me meters upload every few
//! seconds, or every 5, 15 or 60 minutes, or hours; a fixed window would show slow meters offline most of the day.
//! A meter's expected interval is the gap between its two newest readings (the latest state keeps the previous
//! reading's time), and it stays online for two intervals and a minute after its newest reading, never less than
//! the configured minimum window nor more than two days.

use crate::partners::smartme::latest::LatestState;

/// The longest window any meter gets (milliseconds).
const MAX_WINDOW_MS: i64 = 2 * 86_400_000;

/// Slack on top of two intervals: an upload that is a little late is not an outage.
const GRACE_MS: i64 = 60_000;

/// The online rule of one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnlineRule {
    /// The shortest window (`SBER_ONLINE_WINDOW_S`), also the window of a meter whose interval is not known yet.
    pub min_window_s: i64,
}

impl OnlineRule {
    /// How long after its newest reading the meter whose latest state is `latest` stays online (milliseconds).
    pub fn window_ms(&self, latest: &LatestState) -> i64 {
        let floor = self.min_window_s * 1000;
        match latest.interval_ms() {
            Some(interval) => (2 * interval + GRACE_MS).clamp(floor, MAX_WINDOW_MS.max(floor)),
            None => floor,
        }
    }

    /// When the meter goes offline unless it reports again (epoch milliseconds); `None` when it never reported.
    pub fn offline_at_ms(&self, latest: &LatestState) -> Option<i64> {
        (latest.time_ms > 0).then(|| latest.time_ms + self.window_ms(latest))
    }

    /// Whether the meter is online at `now` (epoch seconds).
    pub fn online(&self, latest: &LatestState, now: i64) -> bool {
        self.offline_at_ms(latest).is_some_and(|at| now * 1000 < at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latest(time_ms: i64, previous_ms: Option<i64>) -> LatestState {
        LatestState { time_ms, previous_ms, ..Default::default() }
    }

    #[test]
    fn each_meter_is_judged_by_its_own_rhythm() {
        let rule = OnlineRule { min_window_s: 300 };
        let minute = 60_000;
        let quarter_hourly = latest(100 * minute, Some(85 * minute));
        assert!(rule.online(&quarter_hourly, (100 * minute + 14 * minute) / 1000), "online at minute 14");
        assert_eq!(rule.offline_at_ms(&quarter_hourly), Some(100 * minute + 31 * minute));
        assert!(!rule.online(&quarter_hourly, (100 * minute + 31 * minute) / 1000));
        let fast = latest(100 * minute, Some(100 * minute - 5_000));
        assert_eq!(rule.window_ms(&fast), 300_000, "never under the minimum");
        assert_eq!(rule.window_ms(&latest(100 * minute, None)), 300_000, "unknown interval: the minimum");
        let silent_for_a_week = latest(100 * minute, Some(100 * minute - 7 * 86_400_000));
        assert_eq!(rule.window_ms(&silent_for_a_week), MAX_WINDOW_MS);
        assert!(!rule.online(&LatestState::default(), 0), "never reported");
        assert_eq!(rule.window_ms(&latest(100 * minute, Some(100 * minute))), 300_000, "no gap: unknown");
    }
}
