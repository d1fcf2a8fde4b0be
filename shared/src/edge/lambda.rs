//! A function's life in Lambda: logging set up from the environment, the ports built once per sandbox, every
//! request observed, then the runtime loop.
//!
//! Logging filters itself. Lambda's own log-level filter (`ApplicationLogLevel`) counts every JSON line without a
//! valid `level` and RFC 3339 `timestamp` as INFO, which would drop the EMF documents (metrics) and the request
//! line at WARN. The template therefore leaves Lambda's filter at INFO (lower only for DEBUG and TRACE) and passes
//! the operator's `LogLevel` as `SWITCHYARD_LOG_LEVEL`, which filters everything here except the one line per
//! request (target [`REQUEST_TARGET`]) and the EMF documents, printed in every environment.

use crate::edge::handler::Handler;
use crate::edge::observed::{Observed, REQUEST_TARGET};
use crate::env::{ConfigError, Vars};
#[cfg(feature = "aws")]
use crate::ports::Deps;
use lambda_http::tracing::subscriber::filter::LevelFilter;
use lambda_http::tracing::{Level, Metadata};

/// The operator's log level (`LogLevel` in the template); Lambda's `AWS_LAMBDA_LOG_LEVEL` when unset.
pub const LOG_LEVEL: &str = "SWITCHYARD_LOG_LEVEL";
/// What Lambda sets from `LoggingConfig`.
pub const LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
pub const LAMBDA_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";

/// How a function logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logging {
    pub level: LevelFilter,
    pub json: bool,
}

impl Logging {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let (name, raw) = match (vars.get(LOG_LEVEL), vars.get(LAMBDA_LOG_LEVEL)) {
            (Some(level), _) => (LOG_LEVEL, level),
            (None, Some(level)) => (LAMBDA_LOG_LEVEL, level),
            (None, None) => (LOG_LEVEL, "INFO"),
        };
        let level = match raw.trim().to_ascii_uppercase().as_str() {
            // Lambda's FATAL has no tracing level: ERROR is the nearest.
            "FATAL" => LevelFilter::ERROR,
            other => other.parse().map_err(|_| ConfigError::new(name, "use TRACE, DEBUG, INFO, WARN or ERROR"))?,
        };
        let json = vars.get(LAMBDA_LOG_FORMAT).is_some_and(|f| f.eq_ignore_ascii_case("json"));
        Ok(Self { level, json })
    }

    /// Whether a span or event is recorded: the request line always, spans at INFO (they carry Lambda's request id
    /// onto the request line), everything else by level.
    pub fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        if metadata.is_span() {
            return *metadata.level() <= Level::INFO || *metadata.level() <= self.level;
        }
        metadata.target() == REQUEST_TARGET || *metadata.level() <= self.level
    }

    /// Installs the subscriber (the format of `lambda_http::tracing::init_default_subscriber`: JSON lines when
    /// `AWS_LAMBDA_LOG_FORMAT=JSON`, no target, Lambda adds the time) with this filter.
    pub fn init(self) {
        use lambda_http::tracing::subscriber::{self, Layer, layer::SubscriberExt, util::SubscriberInitExt};
        let filter = subscriber::filter::filter_fn(move |metadata| self.enabled(metadata));
        let format = subscriber::fmt::layer().with_target(false).with_writer(std::io::stdout);
        let layer = if self.json {
            format.json().boxed()
        } else {
            // Text for a terminal: every field bounded and escaped, no colours a caller's bytes could imitate.
            format.without_time().with_ansi(false).fmt_fields(crate::telemetry::text_fields::BoundedFields).boxed()
        };
        // A second call (tests building several functions) keeps the first subscriber.
        let _ = subscriber::registry().with(layer.with_filter(filter)).try_init();
    }
}

/// A function ready to serve: its logging and its observed handler, everything read from the environment.
pub struct Prepared<H> {
    pub logging: Logging,
    pub handler: Observed<H>,
}

/// Prepares `function` on the ports of a deployed stack (DynamoDB, Secrets Manager) from `vars`.
#[cfg(feature = "aws")]
pub async fn prepare_with_aws<H, E>(
    function: &'static str,
    vars: &Vars,
    build: impl FnOnce(Deps, &Vars) -> Result<H, E>,
) -> Result<Prepared<H>, lambda_http::Error>
where
    H: Handler,
    E: Into<lambda_http::Error>,
{
    let logging = Logging::from_vars(vars)?;
    let deps = crate::edge::compose::deployed_deps(vars).await?;
    let handler = Observed::new(function, build(deps, vars).map_err(Into::into)?, vars);
    Ok(Prepared { logging, handler })
}

/// Prepares `function`, which needs no AWS service, from `vars`.
pub fn prepare<H, E>(
    function: &'static str,
    vars: &Vars,
    build: impl FnOnce(&Vars) -> Result<H, E>,
) -> Result<Prepared<H>, lambda_http::Error>
where
    H: Handler,
    E: Into<lambda_http::Error>,
{
    let logging = Logging::from_vars(vars)?;
    let handler = Observed::new(function, build(vars).map_err(Into::into)?, vars);
    Ok(Prepared { logging, handler })
}

/// The whole life of a function on AWS: prepared from the process environment, then served until the sandbox ends.
#[cfg(feature = "aws")]
pub async fn serve_with_aws<H, E>(
    function: &'static str,
    build: impl FnOnce(Deps, &Vars) -> Result<H, E>,
) -> Result<(), lambda_http::Error>
where
    H: Handler,
    E: Into<lambda_http::Error>,
{
    run(prepare_with_aws(function, &Vars::from_process(), build).await?).await
}

/// The whole life of a function that needs no AWS service.
pub async fn serve<H, E>(
    function: &'static str,
    build: impl FnOnce(&Vars) -> Result<H, E>,
) -> Result<(), lambda_http::Error>
where
    H: Handler,
    E: Into<lambda_http::Error>,
{
    run(prepare(function, &Vars::from_process(), build)?).await
}

/// Serves a prepared function until the sandbox ends.
pub async fn run<H: Handler>(prepared: Prepared<H>) -> Result<(), lambda_http::Error> {
    prepared.logging.init();
    let observed = &prepared.handler;
    lambda_http::run(lambda_http::service_fn(|request| async {
        Ok::<_, lambda_http::Error>(observed.handle(request).await)
    }))
    .await
}

/// A function fed by the table's stream: a batch of records in, the records to retry out
/// (`{"batchItemFailures": [...]}`). Served on the runtime's one thread, so its future needs no `Send`.
#[allow(async_fn_in_trait)]
pub trait StreamHandler: Send + Sync {
    /// Handles one stream event within the X-Ray trace `trace_id`.
    async fn handle_traced(
        &self,
        request_id: &str,
        trace_id: Option<&str>,
        event: &serde_json::Value,
    ) -> serde_json::Value;
}

/// Runs a stream function built once per sandbox until the sandbox ends: each invocation's event handed over with
/// its request id and X-Ray trace id.
pub async fn run_stream_handler<S: StreamHandler>(logging: Logging, function: S) -> Result<(), lambda_runtime::Error> {
    logging.init();
    let function = &function;
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            let context = event.context;
            let trace_id = context.xray_trace_id.as_deref();
            Ok::<_, lambda_runtime::Error>(function.handle_traced(&context.request_id, trace_id, &event.payload).await)
        },
    ))
    .await
}

/// The whole life of a stream function on the deployed stack's ports (DynamoDB, Secrets Manager).
#[cfg(feature = "aws")]
pub async fn serve_stream_with_aws<S, E>(
    build: impl FnOnce(Deps, &Vars) -> Result<S, E>,
) -> Result<(), lambda_runtime::Error>
where
    S: StreamHandler,
    E: Into<lambda_runtime::Error>,
{
    let vars = Vars::from_process();
    let logging = Logging::from_vars(&vars)?;
    let deps = crate::edge::compose::deployed_deps(&vars).await?;
    run_stream_handler(logging, build(deps, &vars).map_err(Into::into)?).await
}

/// The whole life of a stream function that publishes to the vendor's EventBridge bus.
#[cfg(feature = "eventbridge")]
pub async fn serve_stream_with_bus<S: StreamHandler>(
    build: impl FnOnce(std::sync::Arc<dyn crate::ports::event_bus::EventBus>, &Vars) -> S,
) -> Result<(), lambda_runtime::Error> {
    let vars = Vars::from_process();
    let logging = Logging::from_vars(&vars)?;
    let bus = crate::edge::compose::deployed_event_bus(&vars).await?;
    run_stream_handler(logging, build(std::sync::Arc::new(bus), &vars)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_level_wins_over_lambdas_and_info_is_the_default() {
        let vars = Vars::from_pairs([(LOG_LEVEL, "warn"), (LAMBDA_LOG_LEVEL, "INFO"), (LAMBDA_LOG_FORMAT, "JSON")]);
        assert_eq!(Logging::from_vars(&vars).unwrap(), Logging { level: LevelFilter::WARN, json: true });
        let lambda_only = Vars::from_pairs([(LAMBDA_LOG_LEVEL, "DEBUG")]);
        assert_eq!(Logging::from_vars(&lambda_only).unwrap().level, LevelFilter::DEBUG);
        assert_eq!(Logging::from_vars(&Vars::default()).unwrap(), Logging { level: LevelFilter::INFO, json: false });
        assert_eq!(Logging::from_vars(&Vars::from_pairs([(LOG_LEVEL, "FATAL")])).unwrap().level, LevelFilter::ERROR);
        let bad = Logging::from_vars(&Vars::from_pairs([(LOG_LEVEL, "LOUD")])).unwrap_err();
        assert_eq!(bad.name, LOG_LEVEL);
    }
}
