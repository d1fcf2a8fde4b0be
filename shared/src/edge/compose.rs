//! The composition root of a deployed function: the ports built once per sandbox from the environment (the AWS
//! SDK's configuration with its trust roots, the DynamoDB store, Secrets Manager with its cache, the event bus).
//! Nothing else builds deployed adapters; `ports` only defines them.

use crate::env::{self, ConfigError, Vars};
use crate::ports::Deps;
use crate::ports::aws::sdk_config;
#[cfg(feature = "eventbridge")]
use crate::ports::event_bus::EventBridgeBus;
use crate::ports::secrets::{CachePolicy, SecretsManager};
use crate::ports::store::dynamo::DynamoStore;
use std::sync::Arc;
use std::time::Duration;

/// Secrets cache policy from `SWITCHYARD_SECRETS_TTL_S`, `SWITCHYARD_SECRETS_STALE_S`, `SWITCHYARD_SECRETS_MISSING_TTL_S`.
pub fn cache_policy(vars: &Vars) -> Result<CachePolicy, ConfigError> {
    let default = CachePolicy::default();
    Ok(CachePolicy {
        ttl: Duration::from_secs(vars.parse_or("SWITCHYARD_SECRETS_TTL_S", default.ttl.as_secs())?),
        stale: Duration::from_secs(vars.parse_or("SWITCHYARD_SECRETS_STALE_S", default.stale.as_secs())?),
        missing_ttl: Duration::from_secs(
            vars.parse_or("SWITCHYARD_SECRETS_MISSING_TTL_S", default.missing_ttl.as_secs())?,
        ),
    })
}

/// The store (DynamoDB table `SWITCHYARD_TABLE`) and secrets (Secrets Manager, prefix `SWITCHYARD_SECRET_PREFIX`)
/// a deployed function uses.
pub async fn deployed_deps(vars: &Vars) -> Result<Deps, ConfigError> {
    let sdk = sdk_config(vars).await?;
    let table = vars.require(env::TABLE)?;
    let prefix = vars.get_or(env::SECRET_PREFIX, "");
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk), prefix, cache_policy(vars)?);
    Ok(Deps::new(Arc::new(store), Arc::new(secrets)))
}

/// The vendor's EventBridge bus (`EVENT_BUS_NAME`), for the events function.
#[cfg(feature = "eventbridge")]
pub async fn deployed_event_bus(vars: &Vars) -> Result<EventBridgeBus, ConfigError> {
    let sdk = sdk_config(vars).await?;
    Ok(EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), vars.require("EVENT_BUS_NAME")?))
}
