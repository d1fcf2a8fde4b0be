//! What only a browser judges, in headless Chromium against the local runner: CORS on `/smallcase/*` for the web
//! origin smallcase whitelisted (a page there gets its user's smallcaseAuthToken with `fetch`; the same page from
//! any other origin is refused by the browser itself).

use serde_json::{Value, json};
use std::path::Path;
use testkit::browser::Browser;
use testkit::http::Runner;

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
    testkit::leaks::fixture_secrets(["browser-user-password"]);
    switchyard(&["user", "add", "alice", "--data", data], "browser-user-password\n").await;
    let minted = switchyard(
        &["token", "mint", "--user", "alice", "--client", "app-dev", "--secrets", secrets, "--data", data],
        "",
    )
    .await;
    let token = minted.trim().to_owned();
    testkit::leaks::fixture_secrets([&token]);
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
    testkit::leaks::fixture_secrets([token]);
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
