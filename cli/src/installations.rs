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
        "createdAt": shared::ports::clock::rfc3339(account.created_at),
        "updatedAt": shared::ports::clock::rfc3339(account.updated_at),
    })
}

pub async fn run(command: InstallationCommand) -> Result<(), String> {
    match command {
        InstallationCommand::List { store, output } => {
            let store = store.open().await?;
            let accounts = Accounts::new(store.as_ref()).list().await.map_err(|e| e.to_string())?;
            output.print(&accounts.iter().map(record).collect::<Vec<_>>(), &COLUMNS)
        }
        InstallationCommand::Show { client_id, store, output } => {
            let store = store.open().await?;
            let account = Accounts::new(store.as_ref()).by_client_id(&client_id).await.map_err(|e| e.to_string())?;
            let account = account.ok_or_else(|| format!("no installation with clientId `{client_id}`"))?;
            output.print(&[record(&account)], &COLUMNS)
        }
    }
}
