//! The local stack: the six functions' handlers built over the embedded store and the secrets file, exactly as
//! their Lambda `main`s build them over DynamoDB and Secrets Manager.

use shared::Deps;
use shared::env::Vars;
use shared::http::Handler;
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
    let handlers: [(&'static str, Arc<dyn Handler>); 6] = [
        ("config", Arc::new(config)),
        ("register", Arc::new(register)),
        ("user", Arc::new(user)),
        ("ingest", Arc::new(ingest)),
        ("webhook", Arc::new(webhook)),
        ("token", Arc::new(token)),
    ];
    Ok(handlers.into_iter().collect())
}
