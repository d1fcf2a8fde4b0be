//! `switchyard try <partner>`: a partner's side of the API acted out against the running local runner, each step
//! printed as the partner (or the person at the browser) would see it. The runner says where everything is in
//! `<data>/sandbox.json`; a partner the runner calls for real has nothing played to try.
//!
//! Nothing here is a credential's output: tokens, API keys and clientIds are used, never printed.

mod link;
mod retailcrm;
mod sber;
mod smallcase;
mod smartme;
mod visitor;

use crate::sandbox::Tour;
use shared::ports::secrets::file::FileSecrets;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct TryArgs {
    /// The partner whose side to play.
    #[arg(value_enum)]
    partner: Partner,
    /// The data directory of the running runner.
    #[arg(long, default_value = ".switchyard")]
    data: PathBuf,
    /// The runner's secrets file (the partners hold the same secrets).
    #[arg(long, default_value = "local/secrets.json")]
    secrets: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum Partner {
    /// A CRM installs the module: config, registration, the CRM's edit call, the account page.
    Retailcrm,
    /// Sber links the demo user's account, lists and switches a meter, and receives the state push.
    Sber,
    /// smart-me posts a reading.
    Smartme,
    /// An app links a user, opens a smallcase transaction and the user completes it.
    Smallcase,
}

/// What `try` works with: where things are, the partners' secrets, and the person at the browser.
pub struct Scene {
    pub tour: Tour,
    pub secrets: FileSecrets,
    pub visitor: visitor::Visitor,
}

impl Scene {
    /// The secrets, read as the functions read them.
    pub fn secrets(&self) -> &dyn shared::ports::secrets::Secrets {
        &self.secrets
    }

    /// `path` on the runner.
    pub fn runner(&self, path: &str) -> String {
        format!("{}{path}", self.tour.runner)
    }
}

pub async fn run(args: &TryArgs) -> Result<(), String> {
    let tour = Tour::read(&args.data)?;
    let secrets = FileSecrets::load(&args.secrets)?;
    let scene = Scene { tour, secrets, visitor: visitor::Visitor::new()? };
    match args.partner {
        Partner::Retailcrm => retailcrm::play(&scene).await,
        Partner::Sber => sber::play(&scene).await,
        Partner::Smartme => smartme::play(&scene).await,
        Partner::Smallcase => smallcase::play(&scene).await,
    }
}

/// Prints a step: what the partner does.
fn step(text: &str) {
    println!("→ {text}");
}

/// Prints what came back.
fn saw(text: &str) {
    println!("  ← {text}");
}
