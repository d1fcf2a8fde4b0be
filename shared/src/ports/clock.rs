//! "Now": the clock use cases read it from (the `Clock` in `Deps`, so tests move it) and the system's clock the
//! adapters read. Text forms of a time are `time_text`'s.

/// The clock use cases read "now" from, injected through `Deps`: the system's in production, one a test moves in
/// tests (every copy of a moved clock sees each move). (The store's adapters read the wall clock themselves:
/// DynamoDB's TTL expiry is wall-clock time.)
#[derive(Clone)]
pub struct Clock(Reading);

#[derive(Clone)]
enum Reading {
    Function(fn() -> i64),
    Source(std::sync::Arc<dyn Fn() -> i64 + Send + Sync>),
}

impl Clock {
    /// The system's clock.
    pub const SYSTEM: Clock = Clock(Reading::Function(now_epoch));

    /// A clock reading epoch seconds from `now`.
    pub const fn reading(now: fn() -> i64) -> Self {
        Self(Reading::Function(now))
    }

    /// A clock reading epoch seconds from `source`, which may hold state (a test's moved time).
    pub fn from_source(source: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Self(Reading::Source(std::sync::Arc::new(source)))
    }

    /// Now, in epoch seconds.
    pub fn now(&self) -> i64 {
        match &self.0 {
            Reading::Function(now) => now(),
            Reading::Source(source) => source(),
        }
    }
}

/// A monotonic clock, for ages rather than dates (a cached secret's freshness); tests substitute one they move.
pub type MonotonicClock = std::sync::Arc<dyn Fn() -> std::time::Instant + Send + Sync>;

impl Default for Clock {
    fn default() -> Self {
        Self::SYSTEM
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// The current time in epoch seconds.
pub fn now_epoch() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Milliseconds since the epoch (metric timestamps).
pub fn now_epoch_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
