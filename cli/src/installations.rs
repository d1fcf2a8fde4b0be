//! `switchyard installation ...`: the RetailCRM installations of the module (never their API keys).

use crate::directory::StoreArgs;
use crate::output::OutputArgs;
use serde_json::{Value, json};
use shared::partners::retailcrm::account::{Account, Accounts};

#[derive(clap::Subcommand)]
pub enum InstallationCommand {
    /// List every installation: clientId, CRM, state.
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show one installation by its clientId.
    Show {
        client_id: String,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Ask every active installation's CRM for the scopes the module requires now (`RETAILCRM_SCOPES`), where they
    /// differ from what it holds, and keep the API key each CRM answers (`update-scopes`). An installation's next
    /// activity callback does the same; this does it now.
    UpdateScopes {
        #[command(flatten)]
        store: StoreArgs,
    },
}

const COLUMNS: [&str; 5] = ["clientId", "systemUrl", "active", "freeze", "updatedAt"];

/// An installation as printed: what an operator needs, nothing that authenticates to the CRM.
fn record(account: &Account) -> Value {
    let settings: Option<Value> = account.settings.as_deref().and_then(|s| serde_json::from_str(s).ok());
    json!({
        "clientId": account.client_id,
        "code": account.code,
        "systemUrl": account.system_url,
        "active": account.active,
        "freeze": account.freeze,
        "settings": settings,
        "createdAt": shared::time_text::rfc3339(account.created_at),
        "updatedAt": shared::time_text::rfc3339(account.updated_at),
    })
}

pub async fn run(command: InstallationCommand) -> Result<(), String> {
    match command {
        InstallationCommand::List { store, output } => {
            let store = store.open().await?;
            let accounts = Accounts::new(store.as_ref()).list().await.map_err(|e| e.to_string())?;
            output.print(&accounts.iter().map(record).collect::<Vec<_>>(), &COLUMNS)
        }
        InstallationCommand::UpdateScopes { store } => {
            let store = store.open().await?;
            let secrets = shared::ports::secrets::FileSecrets::from_json(json!({}))?;
            let deps = shared::Deps::new(store.clone(), std::sync::Arc::new(secrets));
            let vars = shared::env::Vars::from_process();
            let module = shared::partners::retailcrm::module::Module::new(deps, &vars).map_err(|e| e.to_string())?;
            let mut failed = 0;
            for account in Accounts::new(store.as_ref()).list().await.map_err(|e| e.to_string())? {
                if !account.active {
                    println!("{}\t{}\tinactive, not asked", account.client_id, account.system_url);
                    continue;
                }
                let outcome = match module.update_scopes(&account).await {
                    Ok(true) => "updated".to_owned(),
                    Ok(false) => "already granted".to_owned(),
                    Err(failure) => {
                        failed += 1;
                        format!("not updated: {}", failure.message)
                    }
                };
                println!("{}\t{}\t{outcome}", account.client_id, account.system_url);
            }
            if failed > 0 {
                return Err(format!("{failed} installation(s) not updated; their next activity callback tries again"));
            }
            Ok(())
        }
        InstallationCommand::Show { client_id, store, output } => {
            let store = store.open().await?;
            let account = Accounts::new(store.as_ref()).by_client_id(&client_id).await.map_err(|e| e.to_string())?;
            let account = account.ok_or_else(|| format!("no installation with clientId `{client_id}`"))?;
            output.print(&[record(&account)], &COLUMNS)
        }
    }
}
