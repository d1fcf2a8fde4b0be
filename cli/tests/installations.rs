//! `switchyard installation update-scopes`: every active installation whose CRM holds other scopes than the module
//! requires (`RETAILCRM_SCOPES`) is asked for them (`update-scopes`), and the API key its CRM answers is kept.

mod common;

use common::switchyard;
use shared::partners::retailcrm::account::{Account, Accounts};
use testkit::partners::retailcrm::{FakeRetailCrm, Mode};

#[tokio::test]
async fn an_operator_brings_every_installation_to_the_required_scopes() {
    let data = std::env::temp_dir().join(testkit::unique_name("installations"));
    std::fs::create_dir_all(&data).unwrap();
    let crm = FakeRetailCrm::start(Mode::Success).await;
    let module = serde_json::json!({"clientId": "client-a", "code": "switchyard-a"});
    crm.hold_module("switchyard-a", "key-a", module);
    {
        let store = shared::ports::store::embedded::EmbeddedStore::open(&data.join("store.redb")).unwrap();
        for (client_id, active, system_url) in
            [("client-a", true, crm.url.as_str()), ("client-off", false, "https://off.retailcrm.ru")]
        {
            let account = Account {
                client_id: client_id.into(),
                code: format!("switchyard-{}", &client_id[7..]),
                system_url: system_url.to_owned(),
                api_key: "key-a".into(),
                active,
                freeze: false,
                settings: None,
                scopes: None,
                created_at: 1_764_400_000,
                updated_at: 1_764_400_000,
            };
            Accounts::new(&store).save(&account).await.unwrap();
        }
    }
    testkit::assertions::leaks::fixture_secrets(["key-after-scopes-1"]);
    let env = [
        ("RETAILCRM_SCOPES".to_owned(), "integration_read,integration_write,order_read".to_owned()),
        ("RETAILCRM_ALLOWED_HOSTS".to_owned(), crm.url.clone()),
    ];
    let args = ["installation", "update-scopes", "--data", data.to_str().unwrap()];
    let run = switchyard(&args, "", &env).await;
    assert!(run.ok, "{}", run.stderr);
    assert!(run.stdout.contains("client-a\t") && run.stdout.contains("\tupdated"), "{}", run.stdout);
    assert!(run.stdout.contains("inactive, not asked"), "{}", run.stdout);
    assert_eq!(crm.scopes_calls().len(), 1);
    let again = switchyard(&args, "", &env).await;
    assert!(again.ok && again.stdout.contains("already granted"), "{}", again.stdout);
    assert_eq!(crm.scopes_calls().len(), 1, "granted scopes are not asked for again");
    let store = shared::ports::store::embedded::EmbeddedStore::open(&data.join("store.redb")).unwrap();
    let account = Accounts::new(&store).by_client_id("client-a").await.unwrap().unwrap();
    assert_eq!(account.api_key, "key-after-scopes-1");
    assert!(!run.stdout.contains("key-after-scopes-1"), "the key is never printed");
}
