//! Refresh-token rotation while DynamoDB and Secrets Manager throttle, fail, drop connections and answer late:
//! whatever the clients see, no token family is left with two refresh tokens that would refresh.

mod common;

use common::*;
use shared::identity::users::Users;
use shared::ports::store::{Query, SortRange, keys};
use switchyard_token::TokenFunction;
use testkit::aws::faults::{Fault, Faulty, Plan, Service};

const FAMILIES: usize = 6;
const REFRESHES: usize = 25;

fn refresh_form(token: &str) -> String {
    form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
}

#[tokio::test]
async fn no_family_is_left_with_two_valid_refresh_tokens() {
    let plan = Plan::every_fault(0.0, &[Service::DynamoDb, Service::SecretsManager], 5);
    let cache = shared::ports::secrets::CachePolicy { ttl: std::time::Duration::from_secs(1), ..Default::default() };
    let faulty = testkit::aws::faults::deps(plan, &secrets(), cache).await;
    let user = Users::new(faulty.direct.as_ref()).add(LOGIN, PASSWORD, now()).await.unwrap();
    let gateway = FakeSmallcase::start(GATEWAY_NAME, SC_API_SECRET, SC_SECRET, Mode::Success).await;
    let vars = faulty.vars(&[
        ("SWITCHYARD_PUBLIC_URL", "https://api.switchyard.test"),
        ("OAUTH_HASH_BURST", "64"),
        ("OAUTH_REFRESH_GRACE_S", "0"),
    ]);
    let function = TokenFunction::new(faulty.deps.clone(), &vars).unwrap();
    let stack = Stack {
        function,
        deps: faulty.deps.clone(),
        admin: faulty.direct.clone(),
        user_id: user.id.clone(),
        gateway,
        time: Default::default(),
    };

    // Linked without faults; then every refresh runs through 20% faults.
    let mut latest: Vec<String> = Vec::new();
    for _ in 0..FAMILIES {
        latest.push(stack.link("sber", "smarthome").await["refresh_token"].as_str().unwrap().to_owned());
    }
    // An outage first: the refresh is refused with 503 and nothing changes.
    faulty.proxy.set_share(1.0);
    let (status, answer, _) = stack.token(&refresh_form(&latest[0]), Some(SBER)).await;
    assert_eq!((status, answer["error"].as_str()), (503, Some("temporarily_unavailable")), "{answer}");
    faulty.proxy.set_share(0.2);
    let (mut rotated, mut resent, mut lost) = (0, 1, 0);
    for token in latest.iter_mut() {
        let (mut done, mut after_503) = (0, false);
        while done < REFRESHES {
            let (status, answer, _) = stack.token(&refresh_form(token), Some(SBER)).await;
            match status {
                200 => {
                    *token = answer["refresh_token"].as_str().unwrap().to_owned();
                    rotated += 1;
                    done += 1;
                    after_503 = false;
                }
                503 => {
                    assert_eq!(answer["error"], "temporarily_unavailable", "{answer}");
                    resent += 1;
                    after_503 = true;
                }
                _ => {
                    // A rotation applied behind a 503, then presented again: the old token is a reuse, and the
                    // family is revoked (the client links again). Never without a 503 first: the SDK's own
                    // retry of an applied rotation is recognised as ours.
                    assert_eq!((status, answer["error"].as_str()), (400, Some("invalid_grant")), "{answer}");
                    assert!(after_503, "a family was revoked on a first presentation: {answer}");
                    lost += 1;
                    break;
                }
            }
        }
        check_families(&faulty, &user.id).await;
    }
    let injected = faulty.proxy.injected();
    eprintln!("{rotated} rotations, {resent} re-sends, {lost} families revoked, faults {injected:?}");
    for fault in Fault::GENERAL {
        assert!(injected.get(&fault).copied().unwrap_or(0) > 0, "{fault:?} was never injected: {injected:?}");
    }

    // Without faults: each surviving family's newest token refreshes; an older one is a reuse that ends it.
    faulty.proxy.set_share(0.0);
    let families = families(&faulty, &user.id).await;
    for token in &latest {
        let (status, answer, _) = stack.token(&refresh_form(token), Some(SBER)).await;
        if status == 200 {
            let newer = answer["refresh_token"].as_str().unwrap();
            let (status, _, _) = stack.token(&refresh_form(token), Some(SBER)).await;
            assert_eq!(status, 400, "the rotated token is refused");
            let (status, _, _) = stack.token(&refresh_form(newer), Some(SBER)).await;
            assert_eq!(status, 400, "and its family is revoked");
        }
    }
    assert!(families.iter().any(|f| f["revoked"] != true), "at least one family survived the faults");
    check_families(&faulty, &user.id).await;
}

async fn families(faulty: &Faulty, user_id: &str) -> Vec<serde_json::Value> {
    let prefix = keys::token_family_prefix("sber");
    let query = Query::partition(keys::user_partition(user_id)).range(SortRange::Prefix(prefix));
    let items = faulty.direct.query(&query).await.unwrap();
    items
        .iter()
        .map(|f| {
            serde_json::json!({
                "id": f.key.sk.rsplit('#').next().unwrap(),
                "current": f.str("current"),
                "revoked": f.get("revoked").and_then(|v| v.as_bool()) == Some(true),
            })
        })
        .collect()
}

/// Every family that is not revoked has exactly one unused refresh token, and it is the family's current one.
async fn check_families(faulty: &Faulty, user_id: &str) {
    let tokens = faulty.scan("RTOKEN#").await;
    for family in families(faulty, user_id).await {
        if family["revoked"] == true {
            continue;
        }
        let unused: Vec<&str> = tokens
            .iter()
            .filter(|t| t["family"] == family["id"] && t["usedAt"].is_null())
            .map(|t| t["pk"].as_str().unwrap().trim_start_matches("RTOKEN#"))
            .collect();
        assert_eq!(unused, [family["current"].as_str().unwrap()], "family {}: valid refresh tokens", family["id"]);
    }
}

/// A sign-in whose code was stored by an attempt that lost its answer still redirects with that code: the SDK's
/// retry finds the code present and the write is recognised as ours, not refused.
#[tokio::test]
async fn a_code_stored_behind_a_lost_answer_still_signs_in() {
    let plan = Plan::every_fault(0.0, &[Service::DynamoDb], 9);
    let faulty = testkit::aws::faults::deps(plan, &secrets(), Default::default()).await;
    let user = Users::new(faulty.direct.as_ref()).add(LOGIN, PASSWORD, now()).await.unwrap();
    let gateway = FakeSmallcase::start(GATEWAY_NAME, SC_API_SECRET, SC_SECRET, Mode::Success).await;
    let vars = faulty.vars(&[
        ("SWITCHYARD_PUBLIC_URL", "https://api.switchyard.test"),
        ("OAUTH_HASH_BURST", "64"),
        ("OAUTH_REFRESH_GRACE_S", "0"),
    ]);
    let function = TokenFunction::new(faulty.deps.clone(), &vars).unwrap();
    let stack = Stack {
        function,
        deps: faulty.deps.clone(),
        admin: faulty.direct.clone(),
        user_id: user.id,
        gateway,
        time: Default::default(),
    };
    let page = stack.login_page("sber", SBER_REDIRECT, None).await;
    // The code's write is applied, then its answer is lost; the SDK's retry gets an answer.
    faulty.proxy.set_operations(&["PutItem"]);
    faulty.proxy.set_faults(&[Fault::DropAfter]);
    faulty.proxy.limit(1);
    faulty.proxy.set_share(1.0);
    let response = stack.call(page.submit(LOGIN, PASSWORD)).await;
    assert_eq!(response.status(), 302, "{}", body_text(response));
    assert_eq!(faulty.proxy.injected()[&Fault::DropAfter], 1);
    faulty.proxy.set_share(0.0);
    let code = code_from(&response, SBER_REDIRECT, "state-1");
    let body = form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SBER_REDIRECT)]);
    let (status, tokens, _) = stack.token(&body, Some(SBER)).await;
    assert_eq!(status, 200, "{tokens}");
}
