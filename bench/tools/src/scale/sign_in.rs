//! The sign-in path: people linking Sber with the password they have with us (the flow that reads the one shared
//! partition, the login index).

use super::{Billing, Heat, Model, unchanged};
use crate::request;
use lambda_http::Body;
use shared::codec::BasicCredentials;
use shared::env::Vars;
use shared::ports::store::{Condition, Item, Store, Value, Write, keys};
use std::collections::BTreeMap;

const SBER_REDIRECT: &str = "https://gateway.iot.sberdevices.ru/gateway/v1/binder/backward";
const PASSWORD: &str = "model-password-1";

/// `sign_ins` people signing in in one second, each another user: Sber's authorize page, the form posted with the
/// login and password, the code exchanged for tokens with Sber's client credentials.
pub async fn sign_ins(sign_ins: u64) -> Heat {
    let mut model = Model::new();
    // One hash for every user (hashing is the sign-in's cost, not the setup's).
    let hash = shared::identity::users::password::hash(PASSWORD).expect("a hash");
    for n in 0..sign_ins {
        let (user, login) = (format!("u-model-{n:06}"), format!("model-{n}"));
        let pointer = Item::new(keys::user_login(&login)).with("user", Value::str(&user));
        let profile = Item::new(keys::user_profile(&user))
            .with("login", Value::str(&login))
            .with("passwordHash", Value::str(&hash))
            .with("createdAt", Value::int(0));
        let writes = [pointer, profile].map(|item| Write::Put { item, condition: Condition::ItemAbsent });
        model.store.transact(writes.into()).await.expect("a user");
    }
    model.settle();
    let client = model.local["oauth"]["clients"][0].clone();
    assert_eq!(client["client_id"], "sber");
    let secret = client["client_secret"].as_str().expect("the client secret").to_owned();
    let issuer = model.local["oauth"]["issuer"].as_str().expect("the issuer").to_owned();
    // The model's one function stands for as many sandboxes as the rate needs: each has its own hashing budget.
    let burst = sign_ins.to_string();
    let vars = Vars::from_pairs([("SWITCHYARD_PUBLIC_URL", issuer.as_str()), ("OAUTH_HASH_BURST", burst.as_str())]);
    let token = switchyard_token::TokenFunction::new(model.deps.clone(), &vars).expect("the token function");
    let form = ("content-type", "application/x-www-form-urlencoded".to_owned());
    for n in 0..sign_ins {
        let query = shared::codec::form::encode([
            ("response_type", "code"),
            ("client_id", "sber"),
            ("redirect_uri", SBER_REDIRECT),
            ("scope", "smarthome"),
            ("state", "sber-state"),
        ]);
        let page = model.call(&token, request("GET", &format!("/oauth/authorize?{query}"), &[], Body::Empty)).await;
        assert_eq!(page.status(), 200);
        let cookie = page.headers()["set-cookie"].to_str().expect("a cookie").split(';').next().unwrap().to_owned();
        let html = String::from_utf8(page.body().as_ref().to_vec()).expect("a page");
        let csrf = html.split("name=\"csrf_token\" value=\"").nth(1).and_then(|s| s.split('"').next()).expect("csrf");
        let body = format!("{query}&csrf_token={csrf}&username=model-{n}&password={PASSWORD}");
        let headers = [form.clone(), ("cookie", cookie)];
        let signed_in = model.call(&token, request("POST", "/oauth/authorize", &headers, Body::Text(body))).await;
        assert_eq!(signed_in.status(), 302, "sign-in {n}");
        let location = url::Url::parse(signed_in.headers()["location"].to_str().expect("a location")).expect("a URL");
        let code = location.query_pairs().find(|(k, _)| k == "code").expect("a code").1.into_owned();
        let exchange = shared::codec::form::encode([
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", SBER_REDIRECT),
        ]);
        let headers = [form.clone(), ("authorization", BasicCredentials::header_value("sber", &secret))];
        let tokens = model.call(&token, request("POST", "/oauth/token", &headers, Body::Text(exchange))).await;
        assert_eq!(tokens.status(), 200, "tokens {n}");
    }
    let request = "a password sign-in: the authorize page, the form, the code exchanged".to_owned();
    let heat = model.heat("sign-ins", (sign_ins, request), BTreeMap::new(), unchanged).await;
    // Three requests to `token`, which the template gives 256 MB (hashing).
    Heat { billing: Billing { memory_mb: 256, invocations: 3.0, api_requests: 3.0 }, ..heat }
}
