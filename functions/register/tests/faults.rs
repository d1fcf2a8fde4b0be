//! Registrations while DynamoDB and Secrets Manager throttle, fail, drop connections and answer late: after every
//! answer, each CRM has either a whole account (account and systemUrl index, agreeing) or nothing; a CRM that
//! re-sends refused registrations ends registered with its newest API key and one module.

use lambda_http::{Body, Request};
use shared::edge::handler::Handler;
use shared::partners::retailcrm::account::Accounts;
use shared::ports::store::Store;
use std::sync::Arc;
use switchyard_register::RegisterFunction;
use testkit::aws::faults::{Fault, Faulty, Plan, Service};
use testkit::partners::retailcrm::{FakeRetailCrm, Mode};

const SECRET: &str = "module-secret-for-faults";
const CRMS: usize = 12;
const RECONNECTS: usize = 5;

fn register(body: String) -> Request {
    let mut request = Request::new(Body::Text(body));
    *request.method_mut() = lambda_http::http::Method::POST;
    *request.uri_mut() = "/retailcrm/register".parse().unwrap();
    request.headers_mut().insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
    request
}

/// The CRM's installation is whole or absent: the index and the account exist together and agree.
async fn whole_or_absent(
    store: &dyn Store,
    crm: &FakeRetailCrm,
) -> Option<shared::partners::retailcrm::account::Account> {
    let accounts = Accounts::new(store);
    let client_id = accounts.client_id_for(&crm.url).await.unwrap()?;
    let account = accounts.by_client_id(&client_id).await.unwrap();
    let account = account.unwrap_or_else(|| panic!("{}: an index without its account", crm.url));
    assert_eq!(account.system_url, crm.url);
    Some(account)
}

/// Registers `crm` with `api_key` until the answer is a success, checking the store after every answer.
async fn register_until_accepted(
    function: &RegisterFunction,
    direct: &dyn Store,
    crm: &FakeRetailCrm,
    api_key: &str,
) -> usize {
    for attempt in 0..40 {
        let response = function.handle(register(crm.register_json_body(SECRET, api_key))).await;
        assert_eq!(response.status(), 200);
        let answer: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        let stored = whole_or_absent(direct, crm).await;
        if answer["success"] == true {
            let account = stored.expect("a successful registration is stored");
            assert_eq!(account.api_key, api_key);
            assert_eq!(answer["accountUrl"], "https://api.example.com/retailcrm/account");
            return attempt;
        }
        let message = answer["errorMsg"].as_str().unwrap_or_default();
        assert!(message.contains("unavailable") || message.contains("try again"), "{}: {answer}", crm.url);
    }
    panic!("{} never got registered", crm.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registrations_through_faults_store_whole_accounts_or_nothing() {
    let plan = Plan::every_fault(0.2, &[Service::DynamoDb, Service::SecretsManager], 11);
    let cache = shared::ports::secrets::CachePolicy { ttl: std::time::Duration::from_secs(1), ..Default::default() };
    let secret = serde_json::json!({"secret": SECRET});
    let faulty = testkit::aws::faults::deps(plan, &[("retailcrm", secret)], cache).await;
    let mut crms = Vec::new();
    for _ in 0..CRMS {
        crms.push(Arc::new(FakeRetailCrm::start(Mode::Success).await));
    }
    let allowed: Vec<&str> = crms.iter().map(|c| c.url.as_str()).collect();
    let vars = faulty.vars(&[
        ("SWITCHYARD_PUBLIC_URL", "https://api.example.com"),
        ("RETAILCRM_ALLOWED_HOSTS", allowed.join(",").as_str()),
        ("RETAILCRM_TIMEOUT_MS", "2000"),
    ]);
    let Faulty { proxy, deps, direct, .. } = faulty;
    let function = Arc::new(RegisterFunction::new(deps, &vars).unwrap());

    // An outage first: the first CRM's registration is refused and must be sent again.
    proxy.set_share(1.0);
    let response = function.handle(register(crms[0].register_json_body(SECRET, "key-0"))).await;
    let answer: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(answer["success"], false, "{answer}");
    assert!(whole_or_absent(direct.as_ref(), &crms[0]).await.is_none());
    // Writes failing while the rest works: the CRM accepted the module but we could not store the account.
    proxy.set_operations(&["TransactWriteItems"]);
    proxy.set_faults(&[Fault::ServerError, Fault::DropBefore]);
    let response = function.handle(register(crms[1].register_json_body(SECRET, "key-0"))).await;
    let answer: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(answer["success"], false, "{answer}");
    assert_eq!(crms[1].calls().len(), 1, "the CRM was called before the store failed");
    assert!(whole_or_absent(direct.as_ref(), &crms[1]).await.is_none());
    proxy.set_operations(&[]);
    proxy.set_faults(&Plan::every_fault(0.2, &[], 0).faults);
    proxy.set_share(0.2);

    let mut installations = Vec::new();
    for crm in &crms {
        let (function, direct, crm) = (function.clone(), direct.clone(), crm.clone());
        installations.push(tokio::spawn(async move {
            // A first registration, then re-registrations with new API keys (the CRM user reconnected).
            let mut resent = 0;
            for key in 1..=RECONNECTS {
                resent += register_until_accepted(&function, direct.as_ref(), &crm, &format!("key-{key}")).await;
            }
            resent
        }));
    }
    let mut resent = 2;
    for installation in installations {
        resent += installation.await.unwrap();
    }

    let injected = proxy.injected();
    eprintln!("{} AWS requests, {resent} re-sends, faults {injected:?}", proxy.requests());
    for fault in Fault::GENERAL {
        assert!(injected.get(&fault).copied().unwrap_or(0) > 0, "{fault:?} was never injected: {injected:?}");
    }
    for crm in &crms {
        let account = whole_or_absent(direct.as_ref(), crm).await.expect("registered");
        assert_eq!(account.api_key, format!("key-{RECONNECTS}"));
        let calls = crm.calls();
        assert!(calls.iter().all(|c| c.code == account.code), "{}: one module in the CRM, however often sent", crm.url);
        assert!(calls.iter().all(|c| c.module["clientId"] == account.client_id.as_str()));
    }
}
