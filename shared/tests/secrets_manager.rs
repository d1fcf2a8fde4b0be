//! The Secrets Manager adapter against moto_server: values, caching, rotation, missing secrets, and serving stale
//! values for a bounded window while Secrets Manager is unreachable (then failing closed).

use shared::ports::secrets::{CachePolicy, SecretError, Secrets, SecretsManager};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const POLICY: CachePolicy = CachePolicy {
    ttl: Duration::from_secs(300),
    stale: Duration::from_secs(900),
    missing_ttl: Duration::from_secs(60),
};

/// A clock the test moves by hand.
#[derive(Clone)]
struct TestClock {
    start: Instant,
    offset_s: Arc<AtomicU64>,
}

impl TestClock {
    fn new() -> Self {
        Self { start: Instant::now(), offset_s: Arc::new(AtomicU64::new(0)) }
    }

    fn advance(&self, seconds: u64) {
        self.offset_s.fetch_add(seconds, Ordering::SeqCst);
    }

    fn clock(&self) -> shared::ports::secrets::manager::Clock {
        let this = self.clone();
        Arc::new(move || this.start + Duration::from_secs(this.offset_s.load(Ordering::SeqCst)))
    }
}

async fn config_via(endpoint: &str) -> aws_config::SdkConfig {
    let base = testkit::aws::moto::sdk_config().await;
    // One attempt and short timeouts: an unreachable Secrets Manager must fail fast in the test.
    base.into_builder()
        .endpoint_url(endpoint)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .timeout_config(aws_config::timeout::TimeoutConfig::builder().operation_timeout(Duration::from_secs(2)).build())
        .build()
}

#[tokio::test]
async fn reads_string_secrets_under_the_prefix() {
    let config = testkit::aws::moto::sdk_config().await;
    let prefix = format!("{}/", testkit::unique_name("stack"));
    testkit::aws::moto::put_secret(&config, &format!("{prefix}retailcrm"), r#"{"secret":"s1"}"#).await;
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&config), &prefix, POLICY);
    let value = secrets.get("retailcrm").await.unwrap();
    assert_eq!(value.expose(), r#"{"secret":"s1"}"#);
    assert_eq!(secrets.get("smartme").await.unwrap_err(), SecretError::NotFound("smartme".into()));
}

#[tokio::test]
async fn caches_for_the_ttl_then_picks_up_rotation() {
    let config = testkit::aws::moto::sdk_config().await;
    let prefix = format!("{}/", testkit::unique_name("stack"));
    let id = format!("{prefix}webhook/schurter");
    testkit::aws::moto::put_secret(&config, &id, "v1").await;
    let clock = TestClock::new();
    let secrets =
        SecretsManager::new(aws_sdk_secretsmanager::Client::new(&config), &prefix, POLICY).with_clock(clock.clock());
    assert_eq!(secrets.get("webhook/schurter").await.unwrap().expose(), "v1");
    testkit::aws::moto::put_secret(&config, &id, "v2").await;
    clock.advance(299);
    assert_eq!(secrets.get("webhook/schurter").await.unwrap().expose(), "v1", "served from cache within the TTL");
    clock.advance(2);
    assert_eq!(secrets.get("webhook/schurter").await.unwrap().expose(), "v2", "the new AWSCURRENT after the TTL");
}

#[tokio::test]
async fn remembers_missing_secrets_briefly() {
    let config = testkit::aws::moto::sdk_config().await;
    let prefix = format!("{}/", testkit::unique_name("stack"));
    let clock = TestClock::new();
    let secrets =
        SecretsManager::new(aws_sdk_secretsmanager::Client::new(&config), &prefix, POLICY).with_clock(clock.clock());
    assert!(matches!(secrets.get("webhook/new").await, Err(SecretError::NotFound(_))));
    testkit::aws::moto::put_secret(&config, &format!("{prefix}webhook/new"), "fresh").await;
    clock.advance(59);
    assert!(matches!(secrets.get("webhook/new").await, Err(SecretError::NotFound(_))), "negative answer is cached");
    clock.advance(2);
    assert_eq!(secrets.get("webhook/new").await.unwrap().expose(), "fresh");
}

#[tokio::test]
async fn serves_stale_values_while_unreachable_then_fails_closed() {
    let base = testkit::aws::moto::sdk_config().await;
    let prefix = format!("{}/", testkit::unique_name("stack"));
    testkit::aws::moto::put_secret(&base, &format!("{prefix}smartme"), "cached").await;
    let proxy = testkit::aws::proxy::Proxy::start(&testkit::aws::moto::endpoint()).await;
    let config = config_via(&proxy.endpoint).await;
    let clock = TestClock::new();
    let secrets =
        SecretsManager::new(aws_sdk_secretsmanager::Client::new(&config), &prefix, POLICY).with_clock(clock.clock());
    assert_eq!(secrets.get("smartme").await.unwrap().expose(), "cached");

    proxy.set_down(true);
    clock.advance(300 + 899);
    assert_eq!(secrets.get("smartme").await.unwrap().expose(), "cached", "stale value inside the window");
    clock.advance(2);
    let err = secrets.get("smartme").await.unwrap_err();
    assert!(matches!(err, SecretError::Unavailable { .. }), "{err:?}");
    // A secret never fetched before has nothing to fall back on.
    assert!(matches!(secrets.get("retailcrm").await, Err(SecretError::Unavailable { .. })));

    proxy.set_down(false);
    assert_eq!(secrets.get("smartme").await.unwrap().expose(), "cached", "recovers when reachable again");
}
