//! `switchyard user ...` and `switchyard device ...`: the user directory, on the embedded store of `serve` or on a
//! deployed stack's DynamoDB table.

use crate::deployed::DeployedStack;
use crate::local_stream::LocalStream;
use crate::output::OutputArgs;
use serde_json::json;
use shared::identity::users::Users;
use shared::ports::secrets::file::FileSecrets;
use shared::ports::store::Store;
use shared::ports::store::dynamo::DynamoStore;
use shared::ports::store::embedded::EmbeddedStore;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the directory lives.
#[derive(clap::Args, Clone)]
pub struct StoreArgs {
    /// Directory of the embedded store (the one `serve --data` uses; `.switchyard` by default). Given, it wins
    /// over `SWITCHYARD_TABLE` and `SWITCHYARD_STACK` from the environment.
    #[arg(long)]
    data: Option<PathBuf>,
    /// A deployed stack's DynamoDB table (its `TableName` output) instead of the embedded store; region and
    /// credentials come from the usual AWS environment and profile.
    #[arg(long, env = "SWITCHYARD_TABLE")]
    table: Option<String>,
    /// A deployed stack by name: its table (and secret prefix) from its CloudFormation outputs.
    #[arg(long, env = "SWITCHYARD_STACK", conflicts_with = "table")]
    stack: Option<String>,
    /// Secrets file of the embedded store (the one `serve --secrets` uses): Sber's key for telling Sber of
    /// changed devices, the oauth clients for `token mint`.
    #[arg(long, default_value = "local/secrets.json")]
    secrets: PathBuf,
}

/// A directory opened for changes Sber hears of: on the embedded store, its own stand-in of the table's stream
/// (deployed, the table's stream does it).
pub struct Directory {
    pub store: Arc<dyn Store>,
    stream: Option<LocalStream>,
    /// The secrets file the stream read Sber's key from (named when Sber could not be told).
    secrets: PathBuf,
}

impl Directory {
    /// Tells Sber of what changed, as the runner would, before the command ends.
    pub async fn settle(self) -> Result<(), String> {
        let Some(stream) = self.stream else { return Ok(()) };
        let given_up = stream.drain().await;
        let sber = given_up.iter().filter(|d| d.reader == "notify").count();
        match (sber, given_up.len()) {
            (_, 0) => Ok(()),
            (0, lost) => Err(format!("the change is stored, but {lost} change(s) never reached the local event bus")),
            (sber, _) => Err(format!(
                "the change is stored, but Sber was not told of {sber} change(s) after every retry (is SBER_API_URL \
                 reachable, and the `sber` secret's api_key in {} right?)",
                self.secrets.display()
            )),
        }
    }
}

impl StoreArgs {
    /// The stack `--stack` names, read once.
    pub async fn stack(&self) -> Result<Option<DeployedStack>, String> {
        match &self.stack {
            Some(name) => DeployedStack::describe(name).await.map(Some),
            None => Ok(None),
        }
    }

    /// Whether the store is a deployed stack's (an explicit `--data` is the embedded store whatever the
    /// environment says).
    pub fn is_deployed(&self) -> bool {
        self.data.is_none() && (self.table.is_some() || self.stack.is_some())
    }

    /// The embedded store's directory.
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(|| PathBuf::from(".switchyard"))
    }

    /// The store, to read: an embedded store that does not exist yet is an error, and nothing is created.
    pub async fn open(&self) -> Result<Arc<dyn Store>, String> {
        if !self.is_deployed() && !self.data_dir().join("store.redb").exists() {
            return Err(format!(
                "no store in {}: nothing was added there yet (`switchyard serve --data` or `user add --data` makes it)",
                self.data_dir().display()
            ));
        }
        self.open_in(self.stack().await?.as_ref()).await
    }

    /// The store: `--table`, `stack`'s table (as [`StoreArgs::stack`] read it), or the embedded one.
    pub async fn open_in(&self, stack: Option<&DeployedStack>) -> Result<Arc<dyn Store>, String> {
        let table = match (&self.table, stack) {
            _ if !self.is_deployed() => None,
            (Some(table), _) => Some(table.clone()),
            (None, Some(stack)) => Some(stack.table()?.to_owned()),
            (None, None) => None,
        };
        match table {
            Some(table) => {
                let vars = shared::env::Vars::from_process();
                let config = shared::ports::aws::sdk_config(&vars).await.map_err(|e| e.to_string())?;
                Ok(Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), &table)))
            }
            None => {
                let data = self.data_dir();
                if let Some(lent) = crate::store_socket::LentStore::find(&data).await {
                    return Ok(Arc::new(lent));
                }
                std::fs::create_dir_all(&data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
                let store = EmbeddedStore::open(&data.join("store.redb"))
                    .map_err(|e| format!("cannot open the store in {}: {e}", data.display()))?;
                Ok(Arc::new(store))
            }
        }
    }

    /// The store, with the stream that tells Sber of its changes (see [`Directory::settle`]).
    pub async fn open_for_changes(&self) -> Result<Directory, String> {
        if !self.is_deployed()
            && let Some(lent) = crate::store_socket::LentStore::find(&self.data_dir()).await
        {
            // The runner's own stream sees the writes made through it.
            return Ok(Directory { store: Arc::new(lent), stream: None, secrets: self.secrets.clone() });
        }
        let store = self.open_in(self.stack().await?.as_ref()).await?;
        if self.is_deployed() {
            return Ok(Directory { store, stream: None, secrets: self.secrets.clone() });
        }
        // Without the secrets file the change is still made: Sber is told only if it linked the user, and then the
        // missing `sber` key fails the command clearly.
        let secrets = if self.secrets.exists() {
            FileSecrets::load(&self.secrets)?
        } else {
            FileSecrets::from_json(serde_json::json!({}))?
        };
        let bus = crate::events_tail::local_bus(&self.data_dir());
        let (store, stream) =
            LocalStream::over(&shared::env::Vars::from_process(), store, Arc::new(secrets), Some(bus))?;
        Ok(Directory { store, stream: Some(stream), secrets: self.secrets.clone() })
    }
}

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from the first line of standard input.
    Add {
        /// The login (case-insensitive; stored lower-case).
        login: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List every user: id, login, creation time.
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Replace a user's password, read from the first line of standard input (links and tokens stay).
    Password {
        login: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a user with their devices, links and tokens (their access tokens stop working at once). Asks first,
    /// on a terminal; elsewhere `--yes` is required.
    Remove {
        login: String,
        /// Remove without asking.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(clap::Subcommand)]
pub enum DeviceCommand {
    /// Link a smart-me meter to a user (linking it again renames it).
    Link {
        /// The user's login.
        #[arg(long)]
        user: String,
        /// The meter's smart-me device GUID.
        #[arg(long = "smartme-device")]
        smartme_device: String,
        /// The name Sber shows for the meter.
        #[arg(long)]
        name: String,
        /// The meter's on/off action (its ObisCode at smart-me), stated instead of asked.
        #[arg(long, conflicts_with = "no_switch")]
        switch_action: Option<String>,
        /// The meter has no relay: Sber is not offered it (unless `SBER_UNSWITCHABLE_METERS=socket`).
        #[arg(long)]
        no_switch: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Unlink a smart-me meter from a user.
    Unlink {
        #[arg(long)]
        user: String,
        #[arg(long = "smartme-device")]
        smartme_device: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List a user's meters.
    List {
        /// The user's login.
        #[arg(long)]
        user: String,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
}

fn read_password() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(
            "no password on standard input (pipe it in: `printf '%s\\n' \"$PASSWORD\" | switchyard user add LOGIN`)"
                .into(),
        );
    }
    Ok(password)
}

pub async fn user(command: UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Add { login, store } => {
            let password = read_password()?;
            // The first user makes the store.
            let store = store.open_in(store.stack().await?.as_ref()).await?;
            let user = Users::new(store.as_ref())
                .add(&login, &password, shared::ports::clock::now_epoch())
                .await
                .map_err(|e| e.to_string())?;
            println!("{}\t{}", user.id, user.login);
        }
        UserCommand::Password { login, store } => {
            let password = read_password()?;
            let store = store.open().await?;
            let user = Users::new(store.as_ref()).set_password(&login, &password).await.map_err(|e| e.to_string())?;
            println!("password changed {}\t{}", user.id, user.login);
        }
        UserCommand::Remove { login, yes, store } => {
            if !yes {
                confirm(&format!("Remove user {login} with their devices, links and tokens? [y/N] "))?;
            }
            let directory = store.open_for_changes().await?;
            let user = shared::partners::offboarding::remove_user(
                directory.store.as_ref(),
                &login,
                shared::ports::clock::now_epoch(),
            )
            .await
            .map_err(|e| e.to_string())?;
            println!("removed {}\t{}", user.id, user.login);
            directory.settle().await?;
        }
        UserCommand::List { store, output } => {
            let store = store.open().await?;
            let users = Users::new(store.as_ref()).list().await.map_err(|e| e.to_string())?;
            let records: Vec<_> = users
                .iter()
                .map(|u| json!({"id": u.id, "login": u.login, "createdAt": shared::time_text::rfc3339(u.created_at)}))
                .collect();
            output.print(&records, &["id", "login", "createdAt"])?;
        }
    }
    Ok(())
}

/// What switches `device`, as smart-me's `GET /api/Actions/{id}` tells under the vendor's REST credentials:
/// `Some(Some(obis))`, `Some(None)` for no relay, `None` when it could not be asked (then Sber is offered the meter
/// once its switch is learnt: at Sber's next device list, or from a reading of its switch state). A local directory
/// asks only a smart-me named by `SMARTME_API_URL`: a command on the embedded store never calls the real one.
async fn asked_switch(store: &StoreArgs, device: &str) -> Option<Option<String>> {
    let vars = shared::env::Vars::from_process();
    if !store.is_deployed() && vars.get("SMARTME_API_URL").is_none() {
        return None;
    }
    let asked = async {
        let stack = store.stack().await?;
        let prefix = match &stack {
            Some(stack) => Some(stack.secret_prefix()?.to_owned()),
            None => store.is_deployed().then(|| vars.get_or("SWITCHYARD_SECRET_PREFIX", "").to_owned()),
        };
        let secrets = crate::secret_source::open(&store.secrets, prefix.as_deref()).await?;
        let secret = shared::partners::smartme::secret::SmartMeSecret::load(secrets.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        let auth = secret.rest_auth().ok_or("the smartme secret holds no REST API credentials")?.header();
        let rest = shared::partners::smartme::client::SmartMeClient::from_vars(&vars).map_err(|e| e.to_string())?;
        let actions = rest.actions(&auth, device).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(shared::partners::smartme::control::main_switch(&actions))
    };
    match asked.await {
        Ok(action) => Some(action),
        Err(error) => {
            eprintln!("note: smart-me was not asked what switches the meter ({error}); Sber is offered it once known");
            None
        }
    }
}

/// Asks `question` on the terminal; anything but yes stops the command. Without a terminal (a script, a pipe), the
/// caller must say `--yes`.
fn confirm(question: &str) -> Result<(), String> {
    use std::io::{IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err("not removed: confirm with --yes (no terminal to ask on)".into());
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| e.to_string())?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") { Ok(()) } else { Err("not removed".into()) }
}

pub async fn device(command: DeviceCommand) -> Result<(), String> {
    match command {
        DeviceCommand::Link { user, smartme_device, name, switch_action, no_switch, store } => {
            let switch = match (switch_action, no_switch) {
                (Some(action), _) => Some(Some(action)),
                (None, true) => Some(None),
                (None, false) => asked_switch(&store, &smartme_device).await,
            };
            let directory = store.open_for_changes().await?;
            let users = Users::new(directory.store.as_ref());
            let owner = users.by_login(&user).await.map_err(|e| e.to_string())?;
            let device = users
                .link_device(&owner.id, &smartme_device, &name, shared::ports::clock::now_epoch())
                .await
                .map_err(|e| e.to_string())?;
            if let Some(action) = &switch {
                let known = shared::identity::users::MeterOwner::switch_known(action.as_deref(), false);
                let key = shared::identity::users::MeterOwner::key(&device.id, &owner.id);
                let present = shared::ports::store::Condition::ItemPresent;
                directory.store.update(&key, known, present).await.map_err(|e| e.to_string())?;
            }
            let switches = match &switch {
                Some(Some(_)) => "switches",
                Some(None) => "no relay",
                None => "switch not known yet",
            };
            println!("{}\t{}\t{}\t{switches}", owner.login, device.id, device.name);
            directory.settle().await?;
        }
        DeviceCommand::Unlink { user, smartme_device, store } => {
            let directory = store.open_for_changes().await?;
            let users = Users::new(directory.store.as_ref());
            let owner = users.by_login(&user).await.map_err(|e| e.to_string())?;
            if !users.unlink_device(&owner.id, &smartme_device).await.map_err(|e| e.to_string())? {
                return Err(format!("{smartme_device} is not linked to {}", owner.login));
            }
            println!("unlinked {smartme_device}");
            directory.settle().await?;
        }
        DeviceCommand::List { user, store, output } => {
            let store = store.open().await?;
            let users = Users::new(store.as_ref());
            let owner = users.by_login(&user).await.map_err(|e| e.to_string())?;
            let devices = users.devices(&owner.id).await.map_err(|e| e.to_string())?;
            let records: Vec<_> = devices
                .iter()
                .map(|d| {
                    let linked_at = shared::time_text::rfc3339(d.linked_at);
                    json!({"id": d.id, "name": d.name, "user": owner.login, "linkedAt": linked_at})
                })
                .collect();
            output.print(&records, &["id", "name"])?;
        }
    }
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Mint an access token for a user as if they had linked with CLIENT (for testing a partner route by hand):
    /// prints the access token; the link and its token family are stored like a real linking's.
    Mint {
        /// The user's login.
        #[arg(long)]
        user: String,
        /// The OAuth client (from the `oauth` secret) the token is for.
        #[arg(long)]
        client: String,
        /// Space-separated scopes (default: the client's scopes).
        #[arg(long)]
        scope: Option<String>,
        /// Secrets Manager name prefix of the deployed stack (`<stack>/`).
        #[arg(long, env = "SWITCHYARD_SECRET_PREFIX", default_value = "")]
        secret_prefix: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn token(command: TokenCommand) -> Result<(), String> {
    let TokenCommand::Mint { user, client, scope, secret_prefix, store } = command;
    let stack = store.stack().await?;
    let prefix = match &stack {
        Some(stack) => Some(stack.secret_prefix()?.to_owned()),
        None => store.table.is_some().then_some(secret_prefix),
    };
    let secrets = crate::secret_source::open(&store.secrets, prefix.as_deref()).await?;
    let store = store.open_in(stack.as_ref()).await?;
    let owner = Users::new(store.as_ref()).by_login(&user).await.map_err(|e| e.to_string())?;
    let settings =
        shared::identity::oauth::OAuthSettings::load(secrets.as_ref(), None).await.map_err(|e| e.to_string())?;
    let client = settings.client(&client).ok_or_else(|| format!("the oauth secret has no client `{client}`"))?;
    let scope = scope.unwrap_or_else(|| client.scopes.join(" "));
    if !scope.split(' ').all(|s| client.scopes.iter().any(|c| c == s)) {
        return Err(format!("scope `{scope}` is not among the client's scopes"));
    }
    let lifetimes = shared::identity::oauth::grants::Lifetimes::from_vars(&shared::env::Vars::from_process())
        .map_err(|e| e.to_string())?;
    let grants = shared::identity::oauth::grants::Grants {
        store: store.as_ref(),
        settings: &settings,
        lifetimes,
        now: shared::ports::clock::now_epoch(),
    };
    let tokens = grants.mint(&owner.id, client, &scope).await.map_err(|e| e.to_string())?;
    println!("{}", tokens.access_token);
    Ok(())
}
