//! The partners the runner plays itself when no real one is configured, so a newcomer sees every flow with
//! `cargo run` and no partner account: each is the sandbox's fake (`sandbox` crate), started in-process and named
//! in the start banner. A partner whose URL is set in the environment is called for real, and the banner says so.

use sandbox::smartme::{Account, FakeSmartMe, Meter, OAuthClient};
use shared::env::Vars;
use shared::ports::secrets::Secrets;

/// The smart-me account the local sign-in page accepts.
pub const DEMO_ACCOUNT: (&str, &str) = ("demo", "demo-password");

/// The meters of the demo account: one with a relay, one without.
const DEMO_METERS: [(&str, &str, bool); 2] = [
    ("3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1", "Kitchen", true),
    ("0c1622a2-2ca1-4183-9f8e-3bd0fce9b3d1", "Garage", false),
];

/// What runs for the partners, kept alive while the runner serves.
pub struct Sandbox {
    _smartme: Option<FakeSmartMe>,
    /// One line per partner for the start banner.
    pub banner: Vec<String>,
}

#[derive(serde::Deserialize, Default)]
struct Client {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
}

/// Starts what is not configured and points `vars` at it; `base` is the runner's own URL.
pub async fn start(vars: Vars, secrets: &dyn Secrets, base: &str) -> (Vars, Sandbox) {
    let mut vars = vars;
    let mut banner = Vec::new();
    let smartme = if vars.get("SMARTME_OAUTH_URL").is_some() || vars.get("SMARTME_API_URL").is_some() {
        let api = vars.get_or("SMARTME_API_URL", shared::partners::smartme::rest::DEFAULT_URL).to_owned();
        banner.push(format!("smart-me: {api} (real, from SMARTME_API_URL / SMARTME_OAUTH_URL)"));
        None
    } else {
        let fake = FakeSmartMe::start_empty().await;
        let client: Client = secrets.get_json("smartme-oauth").await.unwrap_or_default();
        if !client.client_id.is_empty() {
            fake.add_client(OAuthClient {
                client_id: client.client_id,
                client_secret: client.client_secret,
                redirect_uris: vec![format!("{base}/oauth/callback")],
            });
        }
        let meters = DEMO_METERS.iter().map(|(id, name, relay)| Meter::new(id, name, *relay)).collect();
        let (username, password) = DEMO_ACCOUNT;
        fake.add_account(Account { id: 1001, username: username.into(), password: password.into(), meters });
        vars = vars.with("SMARTME_OAUTH_URL", &fake.url).with("SMARTME_API_URL", &fake.url);
        banner.push(format!(
            "smart-me: played locally at {} (sign in as {username} / {password}; SMARTME_API_URL calls the real one)",
            fake.url
        ));
        Some(fake)
    };
    (vars, Sandbox { _smartme: smartme, banner })
}
