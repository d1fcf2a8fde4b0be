//! What only a browser judges, in headless Chromium against the local runner:
//! - CORS on `/smallcase/*` for the web origin smallcase whitelisted (a page there gets its user's
//!   smallcaseAuthToken with `fetch`; the same page from any other origin is refused by the browser itself);
//! - our two pages, the sign-in form and RetailCRM's account page, render with no Content-Security-Policy
//!   violation or script error, the form works as a person uses it, and a screenshot of each is kept in
//!   `target/browser-screenshots/`.

use serde_json::{Value, json};
use std::path::Path;
use testkit::browser::Browser;
use testkit::http_client::Runner;

/// A page on a loopback origin of its own (any path answers the same small HTML page).
async fn page_origin() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let page = "<!doctype html><html><head><title>partner app</title></head><body>partner app</body></html>";
    let service = hyper::service::service_fn(move |_request| async move {
        let mut response = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(page)));
        response.headers_mut().insert("content-type", "text/html; charset=utf-8".parse().unwrap());
        Ok::<_, std::convert::Infallible>(response)
    });
    testkit::serve_http(listener, service);
    origin
}

/// Runs the CLI with `args` (and `stdin`); its standard output.
async fn switchyard(args: &[&str], stdin: &str) -> String {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).await.unwrap();
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success(), "switchyard {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// A user with an access token of the development web client (`app-dev`, audience smallcase) in `data`.
async fn user_with_app_token(data: &Path, secrets: &Path) -> String {
    let (data, secrets) = (data.to_str().unwrap(), secrets.to_str().unwrap());
    testkit::assertions::leaks::fixture_secrets(["browser-user-password"]);
    switchyard(&["user", "add", "alice", "--data", data], "browser-user-password\n").await;
    let minted = switchyard(
        &["token", "mint", "--user", "alice", "--client", "app-dev", "--secrets", secrets, "--data", data],
        "",
    )
    .await;
    let token = minted.trim().to_owned();
    testkit::assertions::leaks::fixture_secrets([&token]);
    token
}

const FETCH_SMALLCASE_TOKEN: &str = r#"
const [base, token, done] = arguments;
fetch(base + '/smallcase/token', {method: 'POST', headers: {'Authorization': 'Bearer ' + token}})
  .then(r => r.json().then(body => done({ok: true, status: r.status, body})))
  .catch(e => done({ok: false, error: String(e)}));
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_whitelisted_origin_gets_the_token_and_the_browser_refuses_others() {
    let (allowed, other) = (page_origin().await, page_origin().await);
    let data = std::env::temp_dir().join(testkit::unique_name("runner"));
    let secrets = testkit::workspace_root().join("local/secrets.json");
    let access = user_with_app_token(&data, &secrets).await;
    let runner =
        Runner::start(env!("CARGO_BIN_EXE_switchyard"), &data, &secrets, &[("SMALLCASE_ALLOWED_ORIGINS", &allowed)])
            .await;
    let browser = Browser::start().await;

    browser.goto(&format!("{allowed}/app")).await;
    let answer: Value = browser.run_async(FETCH_SMALLCASE_TOKEN, json!([runner.base, access])).await;
    assert_eq!(
        answer["ok"],
        true,
        "the whitelisted origin's page reads the answer: {answer} {:?}",
        browser.console().await
    );
    assert_eq!(answer["status"], 200, "{answer}");
    let token = answer["body"]["smallcaseAuthToken"].as_str().expect("a smallcaseAuthToken");
    testkit::assertions::leaks::fixture_secrets([token]);
    assert_eq!(token.split('.').count(), 3);
    browser.console().await;

    browser.goto(&format!("{other}/app")).await;
    let refused: Value = browser.run_async(FETCH_SMALLCASE_TOKEN, json!([runner.base, access])).await;
    assert_eq!(refused["ok"], false, "another origin's page is refused by the browser: {refused}");
    let console = browser.console().await;
    assert!(
        console.iter().any(|e| e.message.contains("CORS policy")),
        "the browser names CORS as the reason: {console:?}"
    );
}

fn screenshot_path(name: &str) -> std::path::PathBuf {
    testkit::workspace_root().join("target/browser-screenshots").join(format!("{name}.png"))
}

/// No console error: a CSP violation ("Refused to ...") or a script error would be one. (The browser also notes a
/// page answered 404 as an error: that one is the page's status, not a fault of it.)
async fn assert_clean_console(browser: &Browser, page: &str) {
    let console = browser.console().await;
    let errors: Vec<_> = console
        .iter()
        .filter(|e| e.level == "SEVERE" || e.message.contains("Refused to"))
        .filter(|e| !e.message.contains("the server responded with a status of 404"))
        .collect();
    assert!(errors.is_empty(), "{page}: {errors:?}");
}

/// A secrets file like `local/secrets.json` with a public OAuth client whose redirect URI is `redirect`.
fn secrets_with_client(redirect: &str) -> std::path::PathBuf {
    let local = testkit::aws::harness::local_secrets();
    let mut secrets = local.clone();
    let client =
        json!({"client_id": "browser", "redirect_uris": [redirect], "scopes": ["smallcase"], "audience": "smallcase"});
    secrets["oauth"]["clients"].as_array_mut().unwrap().push(client);
    let path = std::env::temp_dir().join(testkit::unique_name("secrets")).with_extension("json");
    std::fs::write(&path, secrets.to_string()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sign_in_form_works_in_a_browser() {
    let client_app = page_origin().await;
    let redirect = format!("{client_app}/callback");
    let secrets = secrets_with_client(&redirect);
    let data = std::env::temp_dir().join(testkit::unique_name("runner"));
    let (data_arg, _) = (data.to_str().unwrap(), ());
    testkit::assertions::leaks::fixture_secrets(["browser-sign-in-password"]);
    switchyard(&["user", "add", "bob", "--data", data_arg], "browser-sign-in-password\n").await;
    let runner = Runner::start(env!("CARGO_BIN_EXE_switchyard"), &data, &secrets, &[]).await;
    let browser = Browser::start().await;
    // PKCE S256 of the verifier "browser-test-verifier-browser-test-verifier-0123456789".
    let challenge = shared::crypto::to_base64url(&shared::crypto::sha256(
        b"browser-test-verifier-browser-test-verifier-0123456789",
    ));
    let query = shared::codec::form::encode([
        ("response_type", "code"),
        ("client_id", "browser"),
        ("redirect_uri", redirect.as_str()),
        ("scope", "smallcase"),
        ("state", "state-from-the-client"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    browser.goto(&format!("{}/oauth/authorize?{query}", runner.base)).await;
    assert!(browser.text().await.contains("Sign in"), "{}", browser.text().await);
    assert_clean_console(&browser, "sign-in form").await;
    // The form's CSRF cookie as the browser keeps it: not readable by scripts, never sent cross-site (on plain HTTP
    // under its bare name; over HTTPS it is `__Host-` prefixed and Secure, asserted in the token function's tests).
    let cookies = browser.cookies().await;
    let csrf = cookies.iter().find(|c| c["name"] == "switchyard_csrf").unwrap_or_else(|| panic!("{cookies:?}"));
    assert_eq!((&csrf["httpOnly"], &csrf["sameSite"], &csrf["path"]), (&json!(true), &json!("Strict"), &json!("/")));
    browser.screenshot(&screenshot_path("sign-in")).await;

    browser.type_into("#username", "bob").await;
    browser.type_into("#password", "not-the-password").await;
    browser.submit("button[type=submit]").await;
    let text = browser.text().await;
    assert!(text.contains("The login or password is incorrect."), "{text}");
    assert_clean_console(&browser, "sign-in form after a wrong password").await;
    browser.screenshot(&screenshot_path("sign-in-wrong-password")).await;

    browser.type_into("#password", "browser-sign-in-password").await;
    browser.submit("button[type=submit]").await;
    let landed = url::Url::parse(&browser.current_url().await).unwrap();
    assert_eq!(format!("{}{}", landed.origin().ascii_serialization(), landed.path()), redirect);
    let pairs: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
    assert_eq!(pairs.get("state").map(String::as_str), Some("state-from-the-client"));
    let code = pairs.get("code").expect("a code");
    testkit::assertions::leaks::fixture_secrets([code]);
    assert!(code.len() >= 32);
}

/// Linking as Sber's app does it, with the runner on `SIGN_IN=smartme` and smart-me played by its sandbox: our
/// authorization URL, smart-me's sign-in page, back at the client's redirect URI with our code, the code exchanged.
#[tokio::test(flavor = "multi_thread")]
async fn linking_by_signing_in_with_smartme_works_in_a_browser() {
    let client_app = page_origin().await;
    let redirect = format!("{client_app}/callback");
    // Sber's client, with the test's page as one more redirect URI (Sber's own are real hosts).
    let mut secrets = testkit::aws::harness::local_secrets();
    let clients = secrets["oauth"]["clients"].as_array_mut().unwrap();
    let sber = clients.iter_mut().find(|c| c["client_id"] == "sber").unwrap();
    sber["redirect_uris"].as_array_mut().unwrap().push(json!(redirect));
    let client_secret = sber["client_secret"].as_str().unwrap().to_owned();
    let path = std::env::temp_dir().join(testkit::unique_name("secrets")).with_extension("json");
    std::fs::write(&path, secrets.to_string()).unwrap();
    let data = std::env::temp_dir().join(testkit::unique_name("runner"));
    let runner = Runner::start(env!("CARGO_BIN_EXE_switchyard"), &data, &path, &[("SIGN_IN", "smartme")]).await;
    let browser = Browser::start().await;
    let query = shared::codec::form::encode([
        ("response_type", "code"),
        ("client_id", "sber"),
        ("redirect_uri", redirect.as_str()),
        ("scope", "smarthome"),
        ("state", "state-of-the-sber-app"),
    ]);
    browser.goto(&format!("{}/oauth/authorize?{query}", runner.base)).await;
    assert!(browser.text().await.contains("Sign in to allow"), "smart-me's page: {}", browser.text().await);
    assert_clean_console(&browser, "smart-me's sign-in page").await;
    browser.screenshot(&screenshot_path("smartme-sign-in")).await;
    browser.type_into("#username", "demo").await;
    browser.type_into("#password", "demo-password").await;
    browser.submit("#allow").await;

    let landed = url::Url::parse(&browser.current_url().await).unwrap();
    assert_eq!(format!("{}{}", landed.origin().ascii_serialization(), landed.path()), redirect);
    let pairs: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
    assert_eq!(pairs.get("state").map(String::as_str), Some("state-of-the-sber-app"));
    assert_clean_console(&browser, "back at the client").await;
    let code = pairs.get("code").expect("our code");
    testkit::assertions::leaks::fixture_secrets([code]);
    let form = shared::codec::form::encode([
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &redirect),
    ]);
    let basic = shared::codec::BasicCredentials::header_value("sber", &client_secret);
    let headers = [("content-type", "application/x-www-form-urlencoded"), ("authorization", basic.as_str())];
    let tokens = testkit::http_client::send(&runner.base, "POST", "/oauth/token", &headers, form).await.json();
    let access = tokens["access_token"].as_str().expect("an access token");
    testkit::assertions::leaks::fixture_secrets([access, tokens["refresh_token"].as_str().unwrap()]);
    // The demo account's meters are the user's; Sber is offered the one that switches (the garage's has no relay).
    let bearer = format!("Bearer {access}");
    let devices =
        testkit::http_client::send(&runner.base, "GET", "/sber/v1/devices", &[("authorization", &bearer)], "").await;
    let names: Vec<Value> = devices.json()["devices"].as_array().unwrap().iter().map(|d| d["name"].clone()).collect();
    assert_eq!(names, [json!("Kitchen")], "{}", devices.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_retailcrm_account_page_shows_the_installation() {
    let crm = testkit::partners::retailcrm::FakeRetailCrm::start(testkit::partners::retailcrm::Mode::Success).await;
    let crm_page = page_origin().await;
    let data = std::env::temp_dir().join(testkit::unique_name("runner"));
    let secrets_path = testkit::workspace_root().join("local/secrets.json");
    let runner =
        Runner::start(env!("CARGO_BIN_EXE_switchyard"), &data, &secrets_path, &[("RETAILCRM_ALLOWED_HOSTS", &crm.url)])
            .await;
    let module_secret = testkit::aws::harness::local_secrets()["retailcrm"]["secret"].as_str().unwrap().to_owned();
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let body = crm.register_json_body(&module_secret, "crm-api-key-for-the-browser");
    let answer = testkit::http_client::send(&runner.base, "POST", "/retailcrm/register", &headers, body).await.json();
    assert_eq!(answer["success"], true, "{answer}");
    let client_id = crm.calls()[0].module["clientId"].as_str().unwrap().to_owned();
    let browser = Browser::start().await;

    // As the CRM does it: its page posts a form with clientId to the accountUrl it was given.
    browser.goto(&format!("{crm_page}/crm")).await;
    let account_url = answer["accountUrl"].as_str().unwrap();
    let form = r#"
        const [url, clientId] = arguments;
        const form = document.createElement('form');
        form.method = 'POST'; form.action = url;
        const field = document.createElement('input');
        field.type = 'hidden'; field.name = 'clientId'; field.value = clientId;
        const button = document.createElement('button');
        button.id = 'open-module'; button.type = 'submit'; button.textContent = 'Open the module';
        form.append(field, button); document.body.appendChild(form);
    "#;
    browser.run(&format!("return (function() {{ {form} }}).apply(null, {})", json!([account_url, client_id]))).await;
    browser.submit("#open-module").await;
    assert_eq!(browser.current_url().await, account_url);
    let text = browser.text().await;
    assert!(text.contains(&crm.url) && text.contains("Active"), "{text}");
    assert!(!text.contains("crm-api-key-for-the-browser"), "never the API key");
    assert_clean_console(&browser, "account page").await;
    browser.screenshot(&screenshot_path("retailcrm-account")).await;

    browser.goto(&format!("{}/retailcrm/account?clientId=nobody", runner.base)).await;
    assert!(browser.text().await.contains("Installation not found"));
    assert_clean_console(&browser, "account page, unknown installation").await;
}
