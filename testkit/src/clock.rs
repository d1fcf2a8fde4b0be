//! Time a test moves, through the clock it injects (`Deps::with_clock`, a function's `with_clock`): no thread-local
//! or global state, so each test sees only its own time, whichever threads its futures run on.

use shared::ports::clock::{Clock, now_epoch};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The system's time moved by a test: ahead by what it was advanced, and stopped once frozen.
#[derive(Clone, Default)]
pub struct TestTime {
    moves: Arc<Moves>,
}

#[derive(Default)]
struct Moves {
    ahead_s: AtomicI64,
    /// The moment the time stopped at; `None` while it runs.
    frozen_at: std::sync::Mutex<Option<i64>>,
}

impl TestTime {
    /// The system's time, until moved.
    pub fn new() -> Self {
        Self::default()
    }

    /// The clock to inject: every copy reads this time, moves included.
    pub fn clock(&self) -> Clock {
        let time = self.clone();
        Clock::from_source(move || time.now())
    }

    /// Now, in epoch seconds.
    pub fn now(&self) -> i64 {
        let base = self.moves.frozen_at.lock().unwrap_or_else(|e| e.into_inner()).unwrap_or_else(now_epoch);
        base + self.moves.ahead_s.load(Ordering::SeqCst)
    }

    /// Moves the time forward by `seconds` (back, if negative).
    pub fn advance(&self, seconds: i64) {
        self.moves.ahead_s.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Puts the time `seconds` ahead of the system's (0: back to it).
    pub fn set_ahead(&self, seconds: i64) {
        self.moves.ahead_s.store(seconds, Ordering::SeqCst);
    }

    /// Stops the time where it is: from now on only [`TestTime::advance`] moves it.
    pub fn freeze(&self) {
        let mut frozen = self.moves.frozen_at.lock().unwrap_or_else(|e| e.into_inner());
        frozen.get_or_insert_with(now_epoch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_copy_of_the_clock_sees_each_move() {
        let time = TestTime::new();
        time.freeze();
        let (clock, copy) = (time.clock(), time.clock().clone());
        let start = clock.now();
        time.advance(3600);
        assert_eq!((clock.now(), copy.now()), (start + 3600, start + 3600));
        time.set_ahead(-5);
        assert_eq!(copy.now(), start - 5);
        let other = TestTime::new();
        other.advance(7200);
        assert_eq!(clock.now(), start - 5, "another test's time is its own");
    }
}
