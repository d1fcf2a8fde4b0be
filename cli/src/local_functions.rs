//! The local stack: the six functions' handlers built over the embedded store and the secrets file, exactly as
//! their Lambda `main`s build them over DynamoDB and Secrets Manager.

use shared::Deps;
use shared::edge::handler::Handler;
use shared::edge::observed::Observed;
use shared::env::Vars;
use shared::telemetry::NoMetrics;
use std::collections::HashMap;
use std::sync::Arc;

/// Every function's handler, by function name.
pub fn handlers(vars: &Vars, deps: &Deps) -> Result<HashMap<&'static str, Arc<dyn Handler>>, String> {
    let config = switchyard_config::ConfigFunction::from_vars(vars).map_err(|e| format!("config: {e}"))?;
    let ingest = switchyard_ingest::IngestFunction::new(deps.clone(), vars).map_err(|e| format!("ingest: {e}"))?;
    let webhook = switchyard_webhook::WebhookFunction::new(deps.clone(), vars).map_err(|e| format!("webhook: {e}"))?;
    let register =
        switchyard_register::RegisterFunction::new(deps.clone(), vars).map_err(|e| format!("register: {e}"))?;
    let user = switchyard_user::UserFunction::new(deps.clone(), vars).map_err(|e| format!("user: {e}"))?;
    let token = switchyard_token::TokenFunction::new(deps.clone(), vars).map_err(|e| format!("token: {e}"))?;
    // Observed as in Lambda (the same request log line), without EMF output: a terminal is not CloudWatch.
    fn observed<H: Handler + 'static>(function: &'static str, handler: H, vars: &Vars) -> Arc<dyn Handler> {
        Arc::new(Observed::new(function, handler, vars).with_sink(Arc::new(NoMetrics)))
    }
    let handlers: [(&'static str, Arc<dyn Handler>); 6] = [
        ("config", observed("config", config, vars)),
        ("register", observed("register", register, vars)),
        ("user", observed("user", user, vars)),
        ("ingest", observed("ingest", ingest, vars)),
        ("webhook", observed("webhook", webhook, vars)),
        ("token", observed("token", token, vars)),
    ];
    Ok(handlers.into_iter().collect())
}
