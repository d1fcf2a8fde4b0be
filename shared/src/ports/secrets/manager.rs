//! Secrets from AWS Secrets Manager, cached per sandbox.
//!
//! A value is served from cache for `ttl`; after that it is fetched again (so a rotated AWSCURRENT is picked up).
//! When the fetch fails for a reason other than "no such secret", the old value keeps serving for `stale` more,
//! then the secret fails closed. Unknown names are remembered for `missing_ttl`, so junk webhook paths cannot
//! turn into a Secrets Manager call each; the cache holds at most [`MAX_CACHED`] names, so they cannot grow it
//! without bound either (remembered misses go first, then the oldest entries).

use super::{SecretError, SecretValue, Secrets};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most names the cache holds: far more than a stack's secrets, few enough to bound a sandbox's memory.
pub const MAX_CACHED: usize = 256;

/// How long cached secrets are trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    pub ttl: Duration,
    pub stale: Duration,
    pub missing_ttl: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self { ttl: Duration::from_secs(300), stale: Duration::from_secs(900), missing_ttl: Duration::from_secs(60) }
    }
}

enum Cached {
    Value(SecretValue),
    Missing,
}

struct Entry {
    cached: Cached,
    fetched_at: Instant,
}

/// Where the cache reads elapsed time (monotonic: freshness is an age, not a date; tests move it by hand).
pub type Clock = crate::ports::clock::MonotonicClock;

/// Secrets Manager with ids `<prefix><name>`.
pub struct SecretsManager {
    client: Client,
    prefix: String,
    policy: CachePolicy,
    cache: Mutex<HashMap<String, Entry>>,
    clock: Clock,
}

impl std::fmt::Debug for SecretsManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManager").field("prefix", &self.prefix).field("policy", &self.policy).finish()
    }
}

impl SecretsManager {
    pub fn new(client: Client, prefix: impl Into<String>, policy: CachePolicy) -> Self {
        Self { client, prefix: prefix.into(), policy, cache: Mutex::new(HashMap::new()), clock: Arc::new(Instant::now) }
    }

    /// The same, reading time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The cached answer for `name` if it is still fresh.
    fn fresh(&self, name: &str, now: Instant) -> Option<Result<SecretValue, SecretError>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let entry = cache.get(name)?;
        let age = now.saturating_duration_since(entry.fetched_at);
        match &entry.cached {
            Cached::Value(v) if age < self.policy.ttl => Some(Ok(v.clone())),
            Cached::Missing if age < self.policy.missing_ttl => Some(Err(SecretError::NotFound(name.to_owned()))),
            _ => None,
        }
    }

    /// A cached value still inside the stale window, for when Secrets Manager is down.
    fn stale(&self, name: &str, now: Instant) -> Option<SecretValue> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let entry = cache.get(name)?;
        match &entry.cached {
            Cached::Value(v)
                if now.saturating_duration_since(entry.fetched_at) < self.policy.ttl + self.policy.stale =>
            {
                Some(v.clone())
            }
            _ => None,
        }
    }

    fn remember(&self, name: &str, cached: Cached, now: Instant) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED && !cache.contains_key(name) {
            // Misses first (junk names), then values, oldest first.
            let evict = cache
                .iter()
                .min_by_key(|(_, e)| (matches!(e.cached, Cached::Value(_)), e.fetched_at))
                .map(|(k, _)| k.clone());
            if let Some(evict) = evict {
                cache.remove(&evict);
            }
        }
        cache.insert(name.to_owned(), Entry { cached, fetched_at: now });
    }

    async fn fetch(&self, name: &str) -> Result<Option<SecretValue>, String> {
        let id = format!("{}{name}", self.prefix);
        match self.client.get_secret_value().secret_id(id).send().await {
            Ok(out) => {
                if let Some(text) = out.secret_string {
                    return Ok(Some(SecretValue::new(text)));
                }
                match out.secret_binary.map(|b| String::from_utf8(b.into_inner())) {
                    Some(Ok(text)) => Ok(Some(SecretValue::new(text))),
                    _ => Err("the secret holds no text".to_owned()),
                }
            }
            Err(SdkError::ServiceError(ctx)) if ctx.err().is_resource_not_found_exception() => Ok(None),
            Err(err) => Err(match &err {
                SdkError::ServiceError(ctx) => ctx.err().code().unwrap_or("service error").to_owned(),
                SdkError::TimeoutError(_) => "timed out".to_owned(),
                // What failed underneath (no connection, TLS, DNS, credentials), never the SDK's bare "dispatch failure".
                SdkError::DispatchFailure(_) => format!("unreachable: {}", cause(&err)),
                _ => format!("request failed: {}", cause(&err)),
            }),
        }
    }
}

#[async_trait::async_trait]
impl Secrets for SecretsManager {
    async fn get(&self, name: &str) -> Result<SecretValue, SecretError> {
        if let Some(answer) = self.fresh(name, (self.clock)()) {
            return answer;
        }
        match self.fetch(name).await {
            Ok(Some(value)) => {
                self.remember(name, Cached::Value(value.clone()), (self.clock)());
                Ok(value)
            }
            Ok(None) => {
                self.remember(name, Cached::Missing, (self.clock)());
                Err(SecretError::NotFound(name.to_owned()))
            }
            Err(reason) => match self.stale(name, (self.clock)()) {
                Some(value) => {
                    tracing::warn!(secret = name, reason, "Secrets Manager failed; serving the cached value");
                    Ok(value)
                }
                None => Err(SecretError::Unavailable { name: name.to_owned(), reason }),
            },
        }
    }
}

/// The chain of causes of an SDK error, bounded (what an operator needs to fix it: a refused connection, a TLS or
/// DNS failure, missing credentials).
pub(crate) fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut next = error.source();
    while let Some(source) = next {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&source.to_string());
        next = source.source();
    }
    if text.is_empty() {
        text = error.to_string();
    }
    crate::telemetry::excerpt::excerpt(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager() -> SecretsManager {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .build();
        SecretsManager::new(Client::from_conf(config), "p/", CachePolicy::default())
    }

    #[test]
    fn junk_names_cannot_grow_the_cache_and_values_outlive_misses() {
        let secrets = manager();
        let start = Instant::now();
        secrets.remember("webhook/real", Cached::Value(SecretValue::new("{}")), start);
        for n in 0..10_000 {
            secrets.remember(&format!("webhook/junk-{n}"), Cached::Missing, start + Duration::from_millis(n));
        }
        let cache = secrets.cache.lock().unwrap();
        assert_eq!(cache.len(), MAX_CACHED);
        assert!(cache.contains_key("webhook/real"), "a value is evicted after every miss");
        assert!(cache.contains_key("webhook/junk-9999"));
    }
}
