//! Building the AWS side of a function once per sandbox: SDK configuration with timeouts, the store, the secrets.

use crate::env::{ConfigError, Vars};
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
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
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .http_client(aws_http_client_for(vars)?);
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

/// A root the benchmark's TLS terminator in front of moto chains to (`scripts/bench --cold`): PEM text.
pub const TEST_CA_VAR: &str = "SWITCHYARD_TEST_AWS_CA_PEM";

/// [`aws_http_client`], plus the test root of [`TEST_CA_VAR`] when the environment sets it.
///
/// A test root is honoured only while every AWS endpoint is overridden to a loopback address, and refused
/// otherwise: a deployed function talks to AWS's own endpoints, so setting the variable on one stops it at init
/// with this error instead of widening what it trusts.
fn aws_http_client_for(vars: &Vars) -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, ConfigError> {
    let Some(pem) = vars.get_raw(TEST_CA_VAR).map(str::trim).filter(|pem| !pem.is_empty()) else {
        // Outside Lambda (the operator CLI on a laptop, behind a company's TLS proxy), the platform's roots.
        if vars.get("AWS_LAMBDA_FUNCTION_NAME").is_none() {
            return Ok(platform_http_client());
        }
        return Ok(aws_http_client(None));
    };
    if !aws_endpoints_are_loopback(vars) {
        return Err(ConfigError::new(
            TEST_CA_VAR,
            "is a test setting: only with AWS_ENDPOINT_URL on a loopback address",
        ));
    }
    // The SDK's connector panics on a root it cannot parse: check it here, where a bad one is a config error.
    if !is_pem_root(pem.as_bytes()) {
        return Err(ConfigError::new(TEST_CA_VAR, "must be one or more PEM certificates"));
    }
    Ok(aws_http_client(Some(pem.as_bytes())))
}

/// Whether `AWS_ENDPOINT_URL` and every per-service `AWS_ENDPOINT_URL_*` present name a loopback host.
fn aws_endpoints_are_loopback(vars: &Vars) -> bool {
    let loopback = |url: &str| {
        url::Url::parse(url).ok().is_some_and(|url| match url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        })
    };
    let general = vars.get("AWS_ENDPOINT_URL");
    general.is_some_and(loopback)
        && vars
            .names_set()
            .iter()
            .filter(|name| name.starts_with("AWS_ENDPOINT_URL_"))
            .all(|name| vars.get(name).is_some_and(loopback))
}

fn is_pem_root(pem: &[u8]) -> bool {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let Ok(certs) = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>() else { return false };
    let mut store = rustls::RootCertStore::empty();
    !certs.is_empty() && certs.into_iter().all(|cert| store.add(cert).is_ok())
}

/// The SDK's HTTPS client (hyper, rustls on aws-lc) trusting only Amazon's roots, and `test_root` if given.
///
/// The default client loads the platform's whole certificate store at start-up (about 150 roots, one file each on
/// Debian): that was most of a function's init time. AWS endpoints need only these five roots.
fn aws_http_client(test_root: Option<&[u8]>) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let mut trust = tls::TrustStore::empty().with_pem_certificate(AWS_ROOTS);
    if let Some(pem) = test_root {
        trust = trust.with_pem_certificate(pem);
    }
    // A TLS context without custom server names cannot fail to build.
    let context = tls::TlsContext::builder().with_trust_store(trust).build().unwrap_or_default();
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// The SDK's HTTPS client trusting the platform's certificate store (the operator's machine: a company proxy's root
/// is there); start-up cost does not matter for a command.
fn platform_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let context = tls::TlsContext::builder().with_trust_store(tls::TrustStore::default()).build().unwrap_or_default();
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_root() -> String {
        testkit::partners::tls::TestCa::new().root_pem
    }

    #[test]
    fn a_test_root_is_trusted_only_with_loopback_aws_endpoints() {
        let root = test_root();
        let local = Vars::from_pairs([("AWS_ENDPOINT_URL", "https://127.0.0.1:4566"), (TEST_CA_VAR, root.as_str())]);
        assert!(aws_http_client_for(&local).is_ok());
        let per_service = local.clone().with("AWS_ENDPOINT_URL_DYNAMODB", "https://localhost:4567");
        assert!(aws_http_client_for(&per_service).is_ok());
        for (name, value) in [
            ("AWS_ENDPOINT_URL", "https://dynamodb.eu-central-1.amazonaws.com"),
            ("AWS_ENDPOINT_URL", "https://10.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://secretsmanager.eu-central-1.amazonaws.com"),
        ] {
            let error = aws_http_client_for(&local.clone().with(name, value)).expect_err(value);
            assert!(error.to_string().contains(TEST_CA_VAR), "{error}");
            assert!(!error.to_string().contains("BEGIN"), "the PEM is not echoed: {error}");
        }
        // As deployed: no endpoint override at all.
        let deployed = Vars::from_pairs([(TEST_CA_VAR, root.as_str())]);
        assert!(aws_http_client_for(&deployed).is_err());
        // Unset or empty: Amazon's roots alone, whatever the endpoints.
        assert!(aws_http_client_for(&Vars::from_pairs([(TEST_CA_VAR, " ")])).is_ok());
    }

    #[test]
    fn a_test_root_that_is_not_a_certificate_is_a_config_error() {
        for pem in ["not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"] {
            let vars = Vars::from_pairs([("AWS_ENDPOINT_URL", "https://127.0.0.1:4566"), (TEST_CA_VAR, pem)]);
            assert!(aws_http_client_for(&vars).is_err(), "{pem}");
        }
    }

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
