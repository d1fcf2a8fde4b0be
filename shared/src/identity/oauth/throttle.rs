//! Sign-in throttling per login, and a ceiling on password-hashing work per sandbox.
//!
//! Per login: an attempt is reserved *before* the password is hashed, by an atomic increment of the current
//! window's counter that answers the new count; with the previous window's count it must stay within
//! `max_failures`, so no span of `window_s` seconds ever holds more attempts than that (a window boundary does not
//! double the allowance), and concurrent attempts cannot all pass a check made before any of them counted. A
//! successful sign-in, and a refused attempt, give their reservation back: only password checks that failed count. Unknown logins are counted the same, so the throttle says
//! nothing about which logins exist.
//!
//! Per sandbox: Argon2id costs ~34 ms of a full CPU; [`HashBudget`] is a token bucket that refuses hashing beyond
//! a steady rate, so the token function cannot be made to burn its CPU share whatever the logins tried.

use crate::ports::store::{Condition, Store, StoreError, Update, keys};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    pub max_failures: i64,
    pub window_s: i64,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self { max_failures: 5, window_s: 900 }
    }
}

/// The outcome of [`LoginThrottle::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt may check its password; give it back with [`LoginThrottle::release`] if it succeeds.
    Granted { window: i64 },
    /// Too many attempts: try again in this many seconds.
    Refused { retry_after_s: i64 },
}

impl LoginThrottle {
    fn window(&self, now: i64) -> i64 {
        now.div_euclid(self.window_s)
    }

    /// Reserves one attempt for `login` at `now`, or refuses it.
    pub async fn reserve(&self, store: &dyn Store, login: &str, now: i64) -> Result<Reservation, StoreError> {
        let window = self.window(now);
        // Kept through the next window, where it is the previous one.
        let update = Update::default().add("attempts", 1).expiring_at(Some((window + 2) * self.window_s));
        let current = store.update(&keys::login_throttle(login, window), update, Condition::Always).await?;
        let current = current.i64("attempts").unwrap_or(1);
        // Counted first, then the neighbours read: of two concurrent attempts on either side of a window boundary,
        // at least one sees the other's count. The next window counts too: an attempt whose clock was read just
        // before the boundary may reserve after attempts of the next window did.
        let count_in = |w: i64| async move {
            Ok::<_, StoreError>(store.get(&keys::login_throttle(login, w)).await?.and_then(|i| i.i64("attempts")))
        };
        let (previous, next) = (count_in(window - 1).await?.unwrap_or(0), count_in(window + 1).await?.unwrap_or(0));
        if previous + current <= self.max_failures && current + next <= self.max_failures {
            return Ok(Reservation::Granted { window });
        }
        // A refused attempt checks no password: it gives its count back, so hammering a locked login does not
        // prolong the lock (the granted attempts stay counted, so no later one can slip under the limit).
        self.release(store, login, window).await?;
        let free_from = if current > self.max_failures { window + 2 } else { window + 1 };
        Ok(Reservation::Refused { retry_after_s: free_from * self.window_s - now })
    }

    /// Gives back an attempt: a granted one that turned out to be a successful sign-in, or a refused one.
    pub async fn release(&self, store: &dyn Store, login: &str, window: i64) -> Result<(), StoreError> {
        let update = Update::default().add("attempts", -1);
        store.update(&keys::login_throttle(login, window), update, Condition::ItemPresent).await.map(|_| ())
    }
}

/// A token bucket of password hashes per sandbox: `burst` at once, refilled at `per_minute`.
#[derive(Debug)]
pub struct HashBudget {
    per_minute: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl HashBudget {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self { per_minute: f64::from(per_minute), burst, state: Mutex::new((burst, Instant::now())) }
    }

    /// Takes one hash from the budget, or answers false when it is spent.
    pub fn try_take(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(state.1).as_secs_f64() * self.per_minute / 60.0;
        state.0 = (state.0 + refill).min(self.burst);
        state.1 = now;
        if state.0 >= 1.0 {
            state.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_gives_its_burst_then_refuses() {
        let budget = HashBudget::new(1, 3);
        assert!((0..3).all(|_| budget.try_take()));
        assert!(!budget.try_take(), "spent; one more in a minute");
    }
}
