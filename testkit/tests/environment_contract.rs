//! The environment contract between `template.yaml` and the code, in every `samconfig.toml` environment: each
//! function is prepared exactly as its `main` prepares it (logging, ports, handler, request observer) from the
//! variables the translated template gives it plus those Lambda sets, and then
//! - every variable the template sets for a function is read by that function (nothing set for nothing), and
//! - every variable a function reads is set by the template, set by Lambda, or documented with its default in the
//!   Configuration table of `docs/configuration.md`.

use shared::env::Vars;
use std::collections::BTreeSet;
use testkit::aws::template::{Binding, Resolver, Translated};

/// What Lambda itself sets in a function's environment ("Defined runtime environment variables", plus
/// `AWS_LAMBDA_LOG_FORMAT` and `AWS_LAMBDA_LOG_LEVEL` from advanced logging controls).
const SET_BY_LAMBDA: [&str; 20] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_LAMBDA_LOG_LEVEL",
    "TZ",
];

/// Every variable named in the first column of the Configuration table (`docs/configuration.md`).
fn documented() -> BTreeSet<String> {
    let path = testkit::workspace_root().join("docs/configuration.md");
    let readme = std::fs::read_to_string(path).expect("docs/configuration.md");
    let section = readme.split("\n## Configuration variables\n").nth(1).expect("a Configuration variables section");
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| l.split('|').nth(1).unwrap_or_default().split('`').skip(1).step_by(2).map(str::to_owned))
        .collect()
}

/// Prepares `function` as its `main` does, from `vars`.
async fn prepare(function: &str, vars: &Vars) {
    use shared::edge::lambda::{prepare, prepare_with_aws};
    let outcome = match function {
        "config" => prepare("config", vars, switchyard_config::ConfigFunction::from_vars).map(drop),
        "register" => prepare_with_aws("register", vars, switchyard_register::RegisterFunction::new).await.map(drop),
        "user" => prepare_with_aws("user", vars, switchyard_user::UserFunction::new).await.map(drop),
        "ingest" => prepare_with_aws("ingest", vars, switchyard_ingest::IngestFunction::new).await.map(drop),
        "webhook" => prepare_with_aws("webhook", vars, switchyard_webhook::WebhookFunction::new).await.map(drop),
        "token" => prepare_with_aws("token", vars, switchyard_token::TokenFunction::new).await.map(drop),
        // A stream consumer, not an HTTP function: its main builds the same parts without lambda_http.
        "notify" => {
            async {
                shared::edge::lambda::Logging::from_vars(vars)?;
                let deps = shared::edge::compose::deployed_deps(vars).await?;
                switchyard_notify::NotifyFunction::new(deps, vars)?;
                Ok::<_, lambda_http::Error>(())
            }
            .await
        }
        "events" => {
            async {
                shared::edge::lambda::Logging::from_vars(vars)?;
                let bus = shared::edge::compose::deployed_event_bus(vars).await?;
                switchyard_events::EventsFunction::new(std::sync::Arc::new(bus), vars);
                Ok::<_, lambda_http::Error>(())
            }
            .await
        }
        other => panic!("the template has a function {other} this test does not know how to prepare"),
    };
    outcome.unwrap_or_else(|e| panic!("{function} does not start with the template's environment: {e}"));
}

#[tokio::test]
async fn the_template_sets_what_the_code_reads_and_nothing_else() {
    let documented = documented();
    assert!(documented.len() > 20, "the Configuration table of docs/configuration.md was not found: {documented:?}");
    let mut problems = Vec::new();
    for translated in Translated::environments() {
        let env = &translated.environment;
        let binding = Binding::new("environment-contract");
        for spec in Resolver::new(&translated, &binding).functions() {
            let mut vars = Vars::default();
            for (name, value) in &spec.environment {
                vars = vars.with(name, value);
            }
            for (name, value) in [
                ("AWS_LAMBDA_FUNCTION_NAME", format!("environment-contract-{}", spec.binary)),
                ("AWS_REGION", "eu-central-1".to_owned()),
                ("AWS_LAMBDA_LOG_FORMAT", spec.log_format.clone().unwrap_or_default()),
                ("AWS_LAMBDA_LOG_LEVEL", spec.application_log_level.clone().unwrap_or_default()),
            ] {
                vars = vars.with(name, &value);
            }
            prepare(&spec.binary, &vars).await;
            let asked = vars.names_asked();
            for name in spec.environment.keys().filter(|n| !asked.contains(*n)) {
                problems.push(format!("[{env}] {} sets {name}, which {} never reads", spec.logical_id, spec.binary));
            }
            for name in &asked {
                let set = spec.environment.contains_key(name) || SET_BY_LAMBDA.contains(&name.as_str());
                if !set && !documented.contains(name) {
                    problems.push(format!(
                        "[{env}] {} reads {name}, which the template does not set and docs/configuration.md does not document",
                        spec.binary
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "environment contract broken:\n{}", problems.join("\n"));
}
