//! The partners the runner plays itself when no real one is configured, so a newcomer sees every flow with
//! `cargo run` and no partner account: each is the sandbox crate's fake, started in-process and named in the start
//! banner. A partner whose URL is set in the environment is called for real, and the banner says so.
//!
//! - smart-me (`SMARTME_API_URL` / `SMARTME_OAUTH_URL` unset): OAuth sign-in with the demo account, the REST API
//!   under the vendor's key and the user's grant.
//! - Sber (`SBER_API_URL` unset): the partner API that notify pushes to, checking the `sber` secret's key.
//! - RetailCRM: a CRM account whose origin is added to `RETAILCRM_ALLOWED_HOSTS`; real CRMs name themselves in
//!   their registration, so nothing else changes.
//! - smallcase (`SMALLCASE_GATEWAY_URL` unset): the Gateway, with the `smallcase` secret's gateway name and keys.
//!
//! The runner writes where each partner is to `<data>/sandbox.json`, for `switchyard try`.

use sandbox::retailcrm::FakeRetailCrm;
use sandbox::sber::FakeSber;
use sandbox::smallcase::FakeSmallcase;
use sandbox::smartme::{Account, FakeSmartMe, Meter, OAuthClient, SWITCH_OBIS};
use shared::env::Vars;
use shared::identity::users::{MeterOwner, MeterUnits, Users};
use shared::ports::secrets::Secrets;
use shared::ports::store::{Condition, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The smart-me account the played smart-me's sign-in page accepts; on a fresh store, also the local user.
pub const DEMO_ACCOUNT: (&str, &str) = ("demo", "demo-password");

/// The meters of the demo account: one with a relay, one without.
pub const DEMO_METERS: [(&str, &str, bool); 2] = [
    ("3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1", "Kitchen", true),
    ("0c1622a2-2ca1-4183-9f8e-3bd0fce9b3d1", "Garage", false),
];

/// The units of the demo meters' power and energy readings (what the played smart-me's device data says).
pub const DEMO_UNITS: (&str, &str) = ("kW", "kWh");

/// The file in the data directory that says where the runner and each partner are.
pub const TOUR_FILE: &str = "sandbox.json";

/// Where a running runner is, and each partner it talks to.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Tour {
    /// The runner's base URL.
    pub runner: String,
    /// `SIGN_IN`: how the person at the browser is identified.
    pub sign_in: String,
    /// By partner (`smartme`, `sber`, `retailcrm`, `smallcase`).
    pub partners: BTreeMap<String, PartnerAt>,
}

/// One partner's address, and whether the runner plays it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PartnerAt {
    pub url: String,
    pub played: bool,
}

impl Tour {
    fn path(data: &Path) -> PathBuf {
        data.join(TOUR_FILE)
    }

    /// What the runner serving `data` wrote; an error that says to start it.
    pub fn read(data: &Path) -> Result<Self, String> {
        let path = Self::path(data);
        let text = std::fs::read_to_string(&path).map_err(|_| {
            format!("no runner serves {} (start one: `cargo run`, or `switchyard serve --data`)", data.display())
        })?;
        serde_json::from_str(&text).map_err(|e| format!("{} is unreadable: {e}", path.display()))
    }

    /// The partner `name`, played locally: an error says the runner calls the real one.
    pub fn played(&self, name: &str) -> Result<&str, String> {
        match self.partners.get(name) {
            Some(partner) if partner.played => Ok(&partner.url),
            Some(partner) => {
                Err(format!("the runner calls the real {name} at {}: nothing is played to try", partner.url))
            }
            None => Err(format!("the runner names no {name}")),
        }
    }

    pub fn write(&self, data: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(Self::path(data), text).map_err(|e| format!("cannot write {}: {e}", Self::path(data).display()))
    }

    pub fn remove(data: &Path) {
        let _ = std::fs::remove_file(Self::path(data));
    }
}

/// What runs for the partners, kept alive while the runner serves.
pub struct Sandbox {
    _smartme: Option<FakeSmartMe>,
    _sber: Option<FakeSber>,
    _crm: FakeRetailCrm,
    _gateway: Option<FakeSmallcase>,
    /// One line per partner for the start banner.
    pub banner: Vec<String>,
    pub tour: Tour,
}

#[derive(serde::Deserialize, Default)]
struct Client {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
}

/// Starts what is not configured and points `vars` at it; `base` is the runner's own URL.
pub async fn start(vars: Vars, secrets: &dyn Secrets, base: &str) -> Result<(Vars, Sandbox), String> {
    let mut vars = vars;
    let mut banner = Vec::new();
    let mut partners = BTreeMap::new();
    let real = |partners: &mut BTreeMap<String, PartnerAt>, banner: &mut Vec<String>, name: &str, url: &str, var| {
        banner.push(format!("  {name:<10} {url} (the real one: {var} is set)"));
        partners.insert(name.to_ascii_lowercase().replace('-', ""), PartnerAt { url: url.to_owned(), played: false });
    };

    let smartme = if vars.get("SMARTME_OAUTH_URL").is_some() || vars.get("SMARTME_API_URL").is_some() {
        let api = vars.get_or("SMARTME_API_URL", shared::partners::smartme::client::DEFAULT_URL).to_owned();
        real(&mut partners, &mut banner, "smart-me", &api, "SMARTME_API_URL or SMARTME_OAUTH_URL");
        None
    } else {
        let fake = play_smartme(secrets, base).await;
        vars = vars.with("SMARTME_OAUTH_URL", &fake.url).with("SMARTME_API_URL", &fake.url);
        let (username, password) = DEMO_ACCOUNT;
        banner.push(format!(
            "  smart-me   played at {} (sign in as {username} / {password}; its meters Kitchen, with a relay, and Garage)",
            fake.url
        ));
        partners.insert("smartme".into(), PartnerAt { url: fake.url.clone(), played: true });
        Some(fake)
    };

    let sber = match vars.get("SBER_API_URL") {
        Some(url) => {
            real(&mut partners, &mut banner, "Sber", url, "SBER_API_URL");
            None
        }
        None => {
            let api = shared::partners::sber::client::SberClient::from_vars(&vars).map_err(|e| e.to_string())?;
            // The fake takes exactly the key notify sends; without a `sber` secret it takes nothing (and the
            // runner's own logs say why pushes fail).
            let expected = api.authorization(secrets).await.unwrap_or_default();
            let fake = FakeSber::start(&expected).await;
            vars = vars.with("SBER_API_URL", &fake.url);
            banner.push(format!("  Sber       played at {} (what it receives: switchyard try sber)", fake.url));
            partners.insert("sber".into(), PartnerAt { url: fake.url.clone(), played: true });
            Some(fake)
        }
    };

    // RetailCRM has no one address: each CRM names itself. The played CRM's origin joins the allow-list.
    let crm = FakeRetailCrm::start(sandbox::retailcrm::Mode::Success).await;
    let allowed =
        vars.get_or("RETAILCRM_ALLOWED_HOSTS", shared::partners::retailcrm::system_url::DEFAULT_ALLOWED_HOSTS);
    let allowed = format!("{allowed},{}", crm.url);
    vars = vars.with("RETAILCRM_ALLOWED_HOSTS", &allowed);
    banner.push(format!("  RetailCRM  a CRM played at {} (its origin allowed; a real CRM registers itself)", crm.url));
    partners.insert("retailcrm".into(), PartnerAt { url: crm.url.clone(), played: true });

    let gateway = match vars.get("SMALLCASE_GATEWAY_URL") {
        Some(url) => {
            real(&mut partners, &mut banner, "smallcase", url, "SMALLCASE_GATEWAY_URL");
            None
        }
        None => match shared::partners::smallcase::SmallcaseSecret::load(secrets).await {
            Ok(secret) => {
                let mode = sandbox::smallcase::Mode::Success;
                let fake = FakeSmallcase::start(&secret.gateway_name, &secret.api_secret, &secret.secret, mode).await;
                vars = vars.with("SMALLCASE_GATEWAY_URL", &fake.url);
                banner.push(format!("  smallcase  Gateway played at {} (gateway {})", fake.url, secret.gateway_name));
                partners.insert("smallcase".into(), PartnerAt { url: fake.url.clone(), played: true });
                Some(fake)
            }
            Err(problem) => {
                banner.push(format!("  smallcase  not played: {problem}"));
                None
            }
        },
    };

    let sign_in = vars.get_or(shared::identity::upstream::SignInMode::VARIABLE, "local").to_ascii_lowercase();
    let tour = Tour { runner: base.to_owned(), sign_in, partners };
    Ok((vars, Sandbox { _smartme: smartme, _sber: sber, _crm: crm, _gateway: gateway, banner, tour }))
}

/// smart-me with the demo account, the vendor's OAuth client and the vendor's REST key from the secrets.
async fn play_smartme(secrets: &dyn Secrets, base: &str) -> FakeSmartMe {
    let fake = FakeSmartMe::start_empty().await;
    let client: Client = secrets.get_json("smartme-oauth").await.unwrap_or_default();
    if !client.client_id.is_empty() {
        fake.add_client(OAuthClient {
            client_id: client.client_id,
            client_secret: client.client_secret,
            redirect_uris: vec![format!("{base}/oauth/callback")],
        });
    }
    let switchable: Vec<&str> = DEMO_METERS.iter().filter(|(_, _, relay)| *relay).map(|(id, _, _)| *id).collect();
    if let Ok(secret) = shared::partners::smartme::secret::SmartMeSecret::load(secrets).await
        && let Some(auth) = secret.rest_auth()
    {
        fake.accept_vendor(&auth.header(), &switchable);
    }
    let meters = DEMO_METERS.iter().map(|(id, name, relay)| Meter::new(id, name, *relay)).collect();
    let (username, password) = DEMO_ACCOUNT;
    fake.add_account(Account { id: 1001, username: username.into(), password: password.into(), meters });
    fake
}

/// On a store with no user yet, the local user `demo` owning the demo meters (the Kitchen's relay and the meters'
/// units known), so the
/// local sign-in can be tried at once; whether it was made.
pub async fn seed_demo_user(store: &dyn Store) -> Result<bool, String> {
    let users = Users::new(store);
    if !users.list().await.map_err(|e| e.to_string())?.is_empty() {
        return Ok(false);
    }
    let now = shared::ports::clock::now_epoch();
    let (login, password) = DEMO_ACCOUNT;
    let user = users.add(login, password, now).await.map_err(|e| e.to_string())?;
    for (id, name, relay) in DEMO_METERS {
        let device = users.link_device(&user.id, id, name, now).await.map_err(|e| e.to_string())?;
        let owner = MeterOwner::key(&device.id, &user.id);
        let known = MeterOwner::switch_known(relay.then_some(SWITCH_OBIS), false);
        store.update(&owner, known, Condition::ItemPresent).await.map_err(|e| e.to_string())?;
        // The units the played smart-me's device data names, as a smart-me sign-in would have learnt them.
        let units = MeterUnits { power: Some(DEMO_UNITS.0.into()), energy: Some(DEMO_UNITS.1.into()) };
        store
            .update(&owner, MeterOwner::record_units(&units), Condition::ItemPresent)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(true)
}
