//! `switchyard`: the local runner and operator commands.

mod apigw;
mod deployed;
mod directory;
mod doctor;
mod events_tail;
mod installations;
mod local_functions;
mod local_stream;
mod output;
mod sandbox;
mod secret_source;
mod secrets_init;
mod secrets_reload;
mod serve;
mod sign;
mod smartme_register;
mod store_socket;
mod tour;
mod webhook_events;

use clap::{CommandFactory, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "switchyard",
    version,
    about = "Switchyard: partner-platform Lambda functions, run locally and operated"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a command, `switchyard` serves (these are `serve`'s options).
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve all six functions behind one local HTTP server (the default command).
    Serve(ServeArgs),
    /// Play a partner's side against the running local runner: `retailcrm`, `sber`, `smartme` or `smallcase`.
    Try(tour::TryArgs),
    /// Print the headers a webhook sender would send for a body, signed with the source's current secret.
    Sign(sign::SignArgs),
    /// Manage the users who can sign in to link accounts (Sber) and use the smallcase routes.
    #[command(subcommand)]
    User(directory::UserCommand),
    /// Manage which smart-me meters each user owns.
    #[command(subcommand)]
    Device(directory::DeviceCommand),
    /// Test tokens for partner routes.
    #[command(subcommand)]
    Token(directory::TokenCommand),
    /// smart-me set-up.
    #[command(subcommand)]
    Smartme(SmartmeCommand),
    /// Every secret the stack reads, with strong random values: printed as a secrets file, or created.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Check every secret of a secrets file or a deployed stack the way the functions read them: missing,
    /// unreadable, placeholders, development values (never printing a value).
    Doctor(doctor::DoctorArgs),
    /// The RetailCRM installations of the module.
    #[command(subcommand)]
    Installation(installations::InstallationCommand),
    /// Stored webhook deliveries.
    #[command(subcommand)]
    Webhook(webhook_events::WebhookCommand),
    /// The events the local runner published (what a stack with an EventBusName puts on its bus).
    #[command(subcommand)]
    Events(events_tail::EventsCommand),
    /// Print the shell completion script for SHELL (e.g. `switchyard completions bash > /etc/bash_completion.d/switchyard`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum SmartmeCommand {
    /// Register our realtime receiver with smart-me (POST /api/RegisterForRealtimeApi).
    Register(smartme_register::RegisterArgs),
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Print (or with --create, create in Secrets Manager) every secret with fresh values.
    Init(secrets_init::InitArgs),
}

#[derive(clap::Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Directory of the embedded store.
    #[arg(long, default_value = ".switchyard")]
    data: PathBuf,
    /// Secrets file: a JSON object from secret name to value.
    #[arg(long, default_value = "local/secrets.json")]
    secrets: PathBuf,
    /// Serve on this DynamoDB table instead of the embedded store (moto, DynamoDB Local or a real table, with the
    /// usual AWS environment: AWS_ENDPOINT_URL, AWS_REGION, credentials). The data directory still holds the
    /// runner's own files.
    #[arg(long)]
    table: Option<String>,
}

fn main() -> ExitCode {
    // A closed pipe (`switchyard user list | head`) ends the command quietly, as it ends any Unix tool, instead of
    // a panic in println!.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => {
            runtime.block_on(serve::run(args.listen, &args.data, &args.secrets, args.table.as_deref()))
        }
        Command::Try(args) => runtime.block_on(tour::run(&args)),
        Command::Sign(args) => runtime.block_on(sign::run(&args)),
        Command::User(command) => runtime.block_on(directory::user(command)),
        Command::Device(command) => runtime.block_on(directory::device(command)),
        Command::Token(command) => runtime.block_on(directory::token(command)),
        Command::Secrets(SecretsCommand::Init(args)) => runtime.block_on(secrets_init::run(&args)),
        Command::Smartme(SmartmeCommand::Register(args)) => runtime.block_on(smartme_register::run(&args)),
        Command::Installation(command) => runtime.block_on(installations::run(command)),
        Command::Doctor(args) => runtime.block_on(doctor::run(&args)),
        Command::Webhook(command) => runtime.block_on(webhook_events::run(command)),
        Command::Events(command) => runtime.block_on(events_tail::run(command)),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "switchyard", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
