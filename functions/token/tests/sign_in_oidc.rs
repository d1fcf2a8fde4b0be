//! Signing in with any OpenID Connect provider (`SIGN_IN=oidc`), against a real, OpenID Certified one: npm's
//! `oidc-provider` on loopback (`testkit::partners::oidc`). Discovery, the code flow with PKCE and a nonce, the ID token
//! verified by the provider's JWKS, a key the provider rotated, and the ID tokens a provider never sends for this
//! sign-in (issued to another client, replayed from an earlier sign-in, expired) refused. A man in the middle of
//! the token endpoint (`testkit::partners::oidc::Tamper`) makes those; the provider signs them all.

mod common;

use common::*;
use serde_json::{Value, json};
use shared::ports::store::keys;
use std::collections::BTreeMap;
use switchyard_token::TokenFunction;
use testkit::partners::oidc::{Agent, OidcProvider, Tamper};
use testkit::partners::upstream::{arrive, depart, redirect_query};

const BASE: &str = "https://api.switchyard.test";
const OURS: (&str, &str) = ("switchyard", "oidc-client-secret-for-the-tests");
const OTHER: (&str, &str) = ("other-app", "another-apps-client-secret");
const OTHER_REDIRECT: &str = "https://other.example.com/cb";

struct Oidc {
    stack: Stack,
    tamper: Tamper,
    provider: OidcProvider,
}

async fn oidc_with_clock(backend: Backend, clock: fn() -> i64) -> Oidc {
    oidc_with(backend, clock, &[], &[]).await
}

/// The provider (with the account's `smartme_devices` claim when `devices` is not empty) and our token function
/// with `vars` added.
async fn oidc_with(backend: Backend, clock: fn() -> i64, devices: &[&str], vars: &[(&str, &str)]) -> Oidc {
    let tamper = Tamper::start().await;
    let clients = json!([
        {"client_id": OURS.0, "client_secret": OURS.1, "redirect_uris": [format!("{BASE}/oauth/callback")]},
        {"client_id": OTHER.0, "client_secret": OTHER.1, "redirect_uris": [OTHER_REDIRECT]},
    ]);
    let mut config = json!({"issuer": tamper.address, "clients": clients, "account": "alice"});
    if !devices.is_empty() {
        config["devices"] = json!(devices);
    }
    let provider = OidcProvider::start(&config).await;
    tamper.forward_to(&provider.address);
    let mut secrets = secrets();
    secrets.push(("oidc", json!({"client_id": OURS.0, "client_secret": OURS.1})));
    let mut stack = stack_with_secrets(backend, secrets).await;
    let mut all = shared::env::Vars::from_pairs([
        ("SWITCHYARD_PUBLIC_URL", BASE),
        ("SIGN_IN", "oidc"),
        ("OIDC_ISSUER", tamper.address.as_str()),
        ("OIDC_SCOPES", "openid email"),
    ]);
    for (name, value) in vars {
        all = all.with(name, value);
    }
    stack.function =
        TokenFunction::new(stack.deps.clone().with_clock(shared::ports::clock::Clock::reading(clock)), &all).unwrap();
    Oidc { stack, tamper, provider }
}

async fn oidc(backend: Backend) -> Oidc {
    oidc_with_clock(backend, now).await
}

impl Oidc {
    /// One sign-in for Sber: the client's redirect query (a code, or an error).
    async fn sign_in(&self, state: &str) -> BTreeMap<String, String> {
        let departure =
            depart(&self.stack.function, &authorize_query(SBER.0, SBER_REDIRECT, "smarthome", state, None)).await;
        assert!(departure.location.starts_with(&format!("{}/auth?", self.tamper.address)), "{}", departure.location);
        let back = Agent::default().sign_in(&departure.location, &format!("{BASE}/oauth/callback")).await;
        let code =
            url::Url::parse(&back).unwrap().query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned());
        let arrived = arrive(&self.stack.function, &back, Some(&departure.cookie)).await;
        // The provider's code and ID tokens must never reach a log line.
        testkit::assertions::leaks::fixture_secrets(code.into_iter().chain(self.tamper.issued()));
        redirect_query(&arrived, SBER_REDIRECT)
    }

    /// A whole linking: our access token's claims.
    async fn link(&self) -> Value {
        let pairs = self.sign_in("sber-state").await;
        assert_eq!(pairs["state"], "sber-state");
        let code = pairs.get("code").unwrap_or_else(|| panic!("no code: {pairs:?}"));
        let body = form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", SBER_REDIRECT)]);
        let (status, tokens, _) = self.stack.token(&body, Some(SBER)).await;
        assert_eq!(status, 200, "{tokens}");
        let payload = tokens["access_token"].as_str().unwrap().split('.').nth(1).unwrap();
        serde_json::from_slice(&shared::crypto::from_base64url(payload).unwrap()).unwrap()
    }

    /// An ID token the provider issued to the other client (whose sign-in the test drives itself).
    async fn other_clients_id_token(&self) -> String {
        let verifier = shared::identity::oauth::pkce::new_verifier();
        let challenge = shared::identity::oauth::pkce::challenge_of(&verifier);
        let query = form(&[
            ("response_type", "code"),
            ("client_id", OTHER.0),
            ("redirect_uri", OTHER_REDIRECT),
            ("scope", "openid"),
            ("state", "other-state"),
            ("nonce", "other-nonce"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        let back = Agent::default().sign_in(&format!("{}/auth?{query}", self.tamper.address), OTHER_REDIRECT).await;
        let code = url::Url::parse(&back).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", OTHER_REDIRECT),
            ("code_verifier", &verifier),
        ]);
        let reply = testkit::http_client::send(
            &self.tamper.address,
            "POST",
            "/token",
            &[("content-type", "application/x-www-form-urlencoded"), ("authorization", &basic(OTHER))],
            body,
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["id_token"].as_str().unwrap().to_owned()
    }
}

async fn signs_in_through_a_certified_provider(backend: Backend) {
    let oidc = oidc(backend).await;
    let claims = oidc.link().await;
    let user_id = claims["sub"].as_str().unwrap().to_owned();
    let profile = oidc.stack.admin.get(&keys::user_profile(&user_id)).await.unwrap().unwrap();
    assert!(profile.str("login").unwrap().starts_with("oidc:"));
    // A conforming provider puts `email` at its UserInfo endpoint, not in the ID token: no name to show then.
    assert_eq!((profile.str("provider"), profile.str("displayName")), (Some("oidc"), None));
    // The same person at the provider is the same user of ours.
    assert_eq!(oidc.link().await["sub"], user_id.as_str());
}

async fn a_key_the_provider_rotated_is_fetched_again(backend: Backend) {
    let oidc = oidc(backend).await;
    let first = oidc.link().await;
    let kids = oidc.provider.rotate_key().await;
    assert_eq!(kids["kids"][0], "key-2", "the new key signs");
    assert_eq!(oidc.link().await["sub"], first["sub"], "signed with a key we did not hold: the JWKS is read again");
}

async fn an_id_token_issued_to_another_client_is_refused(backend: Backend) {
    let oidc = oidc(backend).await;
    let theirs = oidc.other_clients_id_token().await;
    oidc.tamper.replace_next_id_token(&theirs);
    let pairs = oidc.sign_in("sber-state").await;
    assert_eq!((pairs["error"].as_str(), pairs["state"].as_str()), ("access_denied", "sber-state"));
    assert!(!pairs.contains_key("code"));
}

async fn an_id_token_replayed_from_an_earlier_sign_in_is_refused(backend: Backend) {
    let oidc = oidc(backend).await;
    oidc.link().await;
    let earlier = oidc.tamper.issued().pop().expect("the first sign-in's ID token");
    oidc.tamper.replace_next_id_token(&earlier);
    let pairs = oidc.sign_in("second").await;
    assert_eq!(pairs["error"], "access_denied", "its nonce is another sign-in's: {pairs:?}");
}

fn two_hours_ahead() -> i64 {
    now() + 7200
}

async fn an_expired_id_token_is_refused(backend: Backend) {
    // Our clock two hours ahead of the provider's: its one-hour ID tokens arrive expired.
    let oidc = oidc_with_clock(backend, two_hours_ahead).await;
    let pairs = oidc.sign_in("late").await;
    assert_eq!(pairs["error"], "access_denied", "{pairs:?}");
}

/// Meters from the provider: the configured claim lists the person's smart-me device ids, and the user's meters
/// follow it at each sign-in.
async fn meters_come_from_a_configured_claim(backend: Backend) {
    const HALL: &str = "2c6d6e4b-3f29-4f2b-9b5e-0c7a36f2a0e1";
    let vars = [("OIDC_SCOPES", "openid smartme"), ("OIDC_DEVICES_CLAIM", "smartme_devices")];
    let oidc = oidc_with(backend, now, &[HALL, "not-a-device"], &vars).await;
    let user_id = oidc.link().await["sub"].as_str().unwrap().to_owned();
    let devices = shared::identity::users::Users::new(oidc.stack.admin.as_ref()).devices(&user_id).await.unwrap();
    assert_eq!(devices.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [HALL], "ids that are no device skipped");
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    // The provider's own address is configured, but its documents name the tamper's as the issuer.
    let oidc = oidc(Backend::Embedded).await;
    let vars = shared::env::Vars::from_pairs([
        ("SWITCHYARD_PUBLIC_URL", BASE),
        ("SIGN_IN", "oidc"),
        ("OIDC_ISSUER", oidc.provider.address.as_str()),
    ]);
    let function = TokenFunction::new(oidc.stack.deps.clone(), &vars).unwrap();
    let query = authorize_query(SBER.0, SBER_REDIRECT, "smarthome", "s", None);
    let response = shared::edge::handler::Handler::handle(&function, get(&format!("/oauth/authorize?{query}"))).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("location").is_none(), "nobody is sent to an impostor");
}

testkit::on_both_backends!(
    signs_in_through_a_certified_provider,
    a_key_the_provider_rotated_is_fetched_again,
    an_id_token_issued_to_another_client_is_refused,
    an_id_token_replayed_from_an_earlier_sign_in_is_refused,
    an_expired_id_token_is_refused,
    meters_come_from_a_configured_claim,
);
