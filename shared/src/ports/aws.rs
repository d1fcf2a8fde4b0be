//! Building the AWS side of a function once per sandbox: SDK configuration with timeouts, the store, the secrets.

use crate::Deps;
use crate::env::{self, ConfigError, Vars};
use crate::ports::secrets::{CachePolicy, SecretsManager};
use crate::ports::store::dynamo::DynamoStore;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::sync::Arc;
use std::time::Duration;

/// SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL*`), with timeouts.
///
/// The SDK sets no operation timeout by default; ours stay well below the functions' 10 s timeout so a stuck call
/// becomes a retryable error answer (503) instead of a Lambda timeout.
pub async fn sdk_config(vars: &Vars) -> Result<SdkConfig, ConfigError> {
    let attempt_ms = vars.parse_or("SWITCHYARD_AWS_ATTEMPT_TIMEOUT_MS", 1_500u64)?;
    let operation_ms = vars.parse_or("SWITCHYARD_AWS_OPERATION_TIMEOUT_MS", 4_000u64)?;
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(attempt_ms.min(1_000)))
        .operation_attempt_timeout(Duration::from_millis(attempt_ms))
        .operation_timeout(Duration::from_millis(operation_ms))
        .build();
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts).http_client(aws_http_client());
    if vars.get("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        // In Lambda, region and credentials are environment variables: skip the profile files and the chains that
        // probe them, web identity, ECS and IMDS (init time). Elsewhere (the CLI) the default chains apply.
        use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
        let no_files = EnvConfigFiles::builder()
            .include_default_config_file(false)
            .include_default_credentials_file(false)
            .with_contents(EnvConfigFileKind::Config, "")
            .build();
        loader = loader
            .profile_files(no_files)
            .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
        if let Some(region) = vars.get("AWS_REGION") {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
    }
    Ok(loader.load().await)
}

/// The roots AWS endpoints chain to (Amazon Trust Services), compiled in.
const AWS_ROOTS: &[u8] = include_bytes!("../../certs/aws-roots.pem");

/// The SDK's HTTPS client (hyper, rustls on aws-lc) trusting only Amazon's roots.
///
/// The default client loads the platform's whole certificate store at start-up (about 150 roots, one file each on
/// Debian): that was most of a function's init time. AWS endpoints need only these five roots.
pub fn aws_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let trust = tls::TrustStore::empty().with_pem_certificate(AWS_ROOTS);
    // A TLS context without custom server names cannot fail to build.
    let context = tls::TlsContext::builder().with_trust_store(trust).build().unwrap_or_default();
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

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

#[cfg(test)]
mod tests {
    #[test]
    fn the_compiled_in_roots_are_five_valid_certificates() {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let certs = CertificateDer::pem_slice_iter(super::AWS_ROOTS).collect::<Result<Vec<_>, _>>().unwrap();
        assert_eq!(certs.len(), 5);
        let mut store = rustls::RootCertStore::empty();
        for cert in certs {
            store.add(cert).unwrap();
        }
    }
}
