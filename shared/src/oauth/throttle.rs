//! Failed-sign-in throttling per login: after `max_failures` in a fixed window the login is refused without a
//! password check until the window ends. Unknown logins are counted too, so the throttle says nothing about which
//! logins exist.

use crate::store::{Condition, Store, StoreError, Update, keys};

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

impl LoginThrottle {
    fn window(&self, now: i64) -> i64 {
        now.div_euclid(self.window_s)
    }

    /// Seconds until `login` may try again, or `None` when it may try now.
    pub async fn locked_for(&self, store: &dyn Store, login: &str, now: i64) -> Result<Option<i64>, StoreError> {
        let window = self.window(now);
        let failures = store.get(&keys::login_throttle(login, window)).await?.and_then(|i| i.i64("failures"));
        Ok((failures.unwrap_or(0) >= self.max_failures).then(|| (window + 1) * self.window_s - now))
    }

    /// Counts one failed attempt for `login`.
    pub async fn record_failure(&self, store: &dyn Store, login: &str, now: i64) -> Result<(), StoreError> {
        let window = self.window(now);
        let update = Update::default().add("failures", 1).expiring_at(Some((window + 1) * self.window_s));
        store.update(&keys::login_throttle(login, window), update, Condition::Always).await.map(|_| ())
    }
}
