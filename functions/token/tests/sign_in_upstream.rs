//! Signing in upstream (`SIGN_IN=smartme`) from the token function's side, with smart-me played by the sandbox:
//! what goes upstream (our client, PKCE, a state bound to the browser), what comes back when the person declines,
//! and every callback that must finish nothing: an unknown state, another browser's, one already used, one too
//! late, a smart-me code presented twice. Password sign-in is off meanwhile; `local` keeps it (every other test).

mod common;

use common::*;
use serde_json::json;
use std::collections::BTreeMap;
use switchyard_token::TokenFunction;
use testkit::partners::smartme_api::{Account, FakeSmartMe, Meter, OAuthClient};
use testkit::partners::upstream::{arrive, depart, redirect_query, with_smartme};

const BASE: &str = "https://api.switchyard.test";
const SMARTME_CLIENT: (&str, &str) = ("switchyard-vendor", "smartme-oauth-secret-for-token-tests");
const PERSON: (&str, &str) = ("carla", "carla-smartme-password");

struct Upstream {
    stack: Stack,
    smartme: FakeSmartMe,
}

async fn upstream(backend: Backend) -> Upstream {
    let mut secrets = secrets();
    secrets.push(("smartme", json!({"username": "realtime", "password": "realtime-password-for-token-tests"})));
    secrets.push(("smartme-oauth", json!({"client_id": SMARTME_CLIENT.0, "client_secret": SMARTME_CLIENT.1})));
    secrets.push(("sealing", json!({"secret": "sealing-secret-for-the-token-tests-0123456789"})));
    let mut stack = stack_with_secrets(backend, secrets).await;
    let smartme = FakeSmartMe::start_empty().await;
    smartme.add_client(OAuthClient {
        client_id: SMARTME_CLIENT.0.into(),
        client_secret: Some(SMARTME_CLIENT.1.into()),
        redirect_uris: vec![format!("{BASE}/oauth/callback")],
    });
    let meter = Meter::new("2c6d6e4b-3f29-4f2b-9b5e-0c7a36f2a0e1", "Hall", true);
    smartme.add_account(Account { id: 77, username: PERSON.0.into(), password: PERSON.1.into(), meters: vec![meter] });
    let vars = shared::env::Vars::from_pairs([
        ("SWITCHYARD_PUBLIC_URL", BASE),
        ("SIGN_IN", "smartme"),
        ("SMARTME_OAUTH_URL", smartme.url.as_str()),
        ("SMARTME_API_URL", smartme.url.as_str()),
    ]);
    stack.function = TokenFunction::new(stack.deps.clone(), &vars).unwrap();
    Upstream { stack, smartme }
}

fn sber_query(state: &str) -> String {
    authorize_query(SBER.0, SBER_REDIRECT, "smarthome", state, None)
}

fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

async fn page(response: lambda_http::Response<lambda_http::Body>, status: u16, says: &str) {
    assert_eq!(response.status(), status);
    assert!(response.headers().get("location").is_none(), "a page, never a redirect");
    let html = body_text(response);
    assert!(html.contains(says), "{html}");
}

async fn the_browser_goes_to_smartme_with_our_client_pkce_and_a_bound_state(backend: Backend) {
    let Upstream { stack, smartme } = upstream(backend).await;
    let departure = depart(&stack.function, &sber_query("sber-state")).await;
    let sent = query_of(&departure.location);
    assert!(departure.location.starts_with(&format!("{}/oauth/authorize?", smartme.url)));
    assert_eq!(sent["client_id"], SMARTME_CLIENT.0);
    assert_eq!(sent["redirect_uri"], format!("{BASE}/oauth/callback"));
    assert_eq!((sent["response_type"].as_str(), sent["code_challenge_method"].as_str()), ("code", "S256"));
    assert_eq!(sent["scope"], "device.read offline_access");
    assert_eq!(sent["code_challenge"].len(), 43);
    assert!(sent["state"].len() >= 43 && sent["state"] != "sber-state", "our own state, not the client's");
    assert!(departure.cookie.starts_with("__Host-switchyard_upstream="), "over HTTPS, the __Host- prefix");

    // Password sign-in is off while people sign in with smart-me.
    let page_form = post("/oauth/authorize", &sber_query("s"), "application/x-www-form-urlencoded");
    page(stack.call(page_form).await, 400, "existing account").await;

    // The whole way: back at Sber's redirect URI with our code and Sber's own state.
    let back = with_smartme(&stack.function, &smartme, &sber_query("sber-state"), PERSON, true).await;
    let pairs = redirect_query(&back, SBER_REDIRECT);
    assert_eq!(pairs["state"], "sber-state");
    let body = form(&[("grant_type", "authorization_code"), ("code", &pairs["code"]), ("redirect_uri", SBER_REDIRECT)]);
    let (status, tokens, _) = stack.token(&body, Some(SBER)).await;
    assert_eq!(status, 200, "{tokens}");
}

async fn a_person_who_declines_goes_back_to_the_client_with_access_denied(backend: Backend) {
    let Upstream { stack, smartme } = upstream(backend).await;
    let back = with_smartme(&stack.function, &smartme, &sber_query("sber-state"), PERSON, false).await;
    let pairs = redirect_query(&back, SBER_REDIRECT);
    assert_eq!((pairs["error"].as_str(), pairs["state"].as_str()), ("access_denied", "sber-state"));
    assert!(!pairs.contains_key("code"));
}

async fn callbacks_that_match_nothing_get_a_page(backend: Backend) {
    let Upstream { stack, smartme } = upstream(backend).await;
    let function = &stack.function;
    let departure = depart(function, &sber_query("s1")).await;
    let back = smartme.sign_in(&departure.location, PERSON.0, PERSON.1, true);

    // Another browser (no cookie, or another sign-in's), then an unknown state: pages, and the sign-in survives.
    page(arrive(function, &back, None).await, 400, "another browser").await;
    let other = depart(function, &sber_query("s2")).await;
    page(arrive(function, &back, Some(&other.cookie)).await, 400, "another browser").await;
    let forged = back.replace("state=", "state=x");
    page(arrive(function, &forged, Some(&departure.cookie)).await, 400, "unknown").await;
    page(arrive(function, &format!("{BASE}/oauth/callback?code=abc"), None).await, 400, "without its state").await;

    // The right browser finishes it, once.
    redirect_query(&arrive(function, &back, Some(&departure.cookie)).await, SBER_REDIRECT);
    page(arrive(function, &back, Some(&departure.cookie)).await, 400, "unknown").await;

    // Too late: ten minutes is all a sign-in gets.
    let late = depart(function, &sber_query("s3")).await;
    let back = smartme.sign_in(&late.location, PERSON.0, PERSON.1, true);
    stack.time.advance(601);
    page(arrive(function, &back, Some(&late.cookie)).await, 400, "expired").await;
}

async fn a_smartme_code_presented_twice_is_refused_and_the_client_told(backend: Backend) {
    let Upstream { stack, smartme } = upstream(backend).await;
    let function = &stack.function;
    let first = depart(function, &sber_query("s1")).await;
    let back = smartme.sign_in(&first.location, PERSON.0, PERSON.1, true);
    redirect_query(&arrive(function, &back, Some(&first.cookie)).await, SBER_REDIRECT);
    // Someone replays the first code with a sign-in of their own: smart-me refuses the spent code.
    let second = depart(function, &sber_query("s2")).await;
    let state = query_of(&second.location)["state"].clone();
    let code = query_of(&back)["code"].clone();
    let replay = format!("{BASE}/oauth/callback?{}", form(&[("code", &code), ("state", &state)]));
    let pairs = redirect_query(&arrive(function, &replay, Some(&second.cookie)).await, SBER_REDIRECT);
    assert_eq!((pairs["error"].as_str(), pairs["state"].as_str()), ("access_denied", "s2"));
}

async fn each_sign_in_reads_the_accounts_meters_again(backend: Backend) {
    let Upstream { stack, smartme } = upstream(backend).await;
    let first = with_smartme(&stack.function, &smartme, &sber_query("s1"), PERSON, true).await;
    redirect_query(&first, SBER_REDIRECT);
    let identity = stack.admin.get(&keys_for_person()).await.unwrap().expect("the identity of the smart-me account");
    let user_id = identity.str("user").unwrap().to_owned();
    let devices =
        || async { shared::identity::users::Users::new(stack.admin.as_ref()).devices(&user_id).await.unwrap() };
    assert_eq!(devices().await.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["Hall"]);
    // The person replaced the meter at smart-me, then links again.
    smartme.set_meters(77, vec![Meter::new("9f8e4183-b3d1-4c16-a22c-a13bd0fce99f", "Attic", false)]);
    redirect_query(&with_smartme(&stack.function, &smartme, &sber_query("s2"), PERSON, true).await, SBER_REDIRECT);
    assert_eq!(devices().await.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["Attic"]);
}

/// The identity index item of the sandbox's person (smart-me account 77).
fn keys_for_person() -> shared::ports::store::Key {
    let hash = shared::crypto::to_hex(&shared::crypto::sha256(b"smartme\n77"));
    shared::ports::store::keys::upstream_identity("smartme", &hash)
}

#[tokio::test]
async fn with_passwords_the_callback_is_not_used() {
    let stack = stack(Backend::Embedded).await;
    page(stack.call(get("/oauth/callback?code=a&state=b")).await, 404, "No sign-in is waiting").await;
}

testkit::on_both_backends!(
    the_browser_goes_to_smartme_with_our_client_pkce_and_a_bound_state,
    a_person_who_declines_goes_back_to_the_client_with_access_denied,
    callbacks_that_match_nothing_get_a_page,
    a_smartme_code_presented_twice_is_refused_and_the_client_told,
    each_sign_in_reads_the_accounts_meters_again,
);
