//! `switchyard user` and `switchyard device` on the embedded store and on a DynamoDB table (moto).

mod common;

use common::switchyard;
use shared::identity::users::{Users, password};
use shared::ports::store::dynamo::DynamoStore;
use std::path::Path;

const METER: &str = "3BD0FCE9-9F8E-4183-B3D1-0C1622A22CA1";

/// The same session against either store: `place` is `--data DIR` or `--table NAME`.
async fn session(place: &[&str], env: &[(String, String)]) {
    let with = |args: &[&'static str]| -> Vec<String> { args.iter().chain(place).map(|s| s.to_string()).collect() };
    let added = switchyard(&with(&["user", "add", "Alice"]), "correct horse battery\n", env).await;
    assert!(added.ok, "{}", added.stderr);
    let (id, login) = added.stdout.trim().split_once('\t').unwrap();
    assert!(id.starts_with("u-"));
    assert_eq!(login, "alice");
    assert!(!added.stdout.contains("correct horse"), "the password is never printed");

    let again = switchyard(&with(&["user", "add", "alice"]), "another password\n", env).await;
    assert!(!again.ok);
    assert!(again.stderr.contains("taken"), "{}", again.stderr);
    let weak = switchyard(&with(&["user", "add", "bob"]), "short\n", env).await;
    assert!(!weak.ok && weak.stderr.contains("8 to 1024"), "{}", weak.stderr);
    let empty = switchyard(&with(&["user", "add", "bob"]), "", env).await;
    assert!(!empty.ok && empty.stderr.contains("standard input"), "{}", empty.stderr);
    assert!(switchyard(&with(&["user", "add", "bob"]), "bob's password\n", env).await.ok);

    let changed = switchyard(&with(&["user", "password", "ALICE"]), "a new horse battery\n", env).await;
    assert!(changed.ok && changed.stdout.contains(id) && !changed.stdout.contains("horse"), "{}", changed.stderr);
    let nobody = switchyard(&with(&["user", "password", "carol"]), "carol's password\n", env).await;
    assert!(!nobody.ok && nobody.stderr.contains("carol"), "{}", nobody.stderr);
    let weak = switchyard(&with(&["user", "password", "alice"]), "short\n", env).await;
    assert!(!weak.ok && weak.stderr.contains("8 to 1024"), "{}", weak.stderr);

    let listed = switchyard(&with(&["user", "list"]), "", env).await;
    assert!(listed.ok, "{}", listed.stderr);
    let logins: Vec<&str> = listed.stdout.lines().map(|l| l.split('\t').nth(1).unwrap()).collect();
    assert_eq!(logins, ["alice", "bob"]);
    assert!(listed.stdout.lines().next().unwrap().starts_with(id));

    let linked = switchyard(
        &with(&["device", "link", "--user", "ALICE", "--smartme-device", METER, "--name", "Kitchen"]),
        "",
        env,
    )
    .await;
    assert!(linked.ok, "{}", linked.stderr);
    let bad =
        switchyard(&with(&["device", "link", "--user", "alice", "--smartme-device", "nope", "--name", "X"]), "", env)
            .await;
    assert!(!bad.ok && bad.stderr.contains("GUID"), "{}", bad.stderr);
    let nobody =
        switchyard(&with(&["device", "link", "--user", "carol", "--smartme-device", METER, "--name", "X"]), "", env)
            .await;
    assert!(!nobody.ok && nobody.stderr.contains("carol"), "{}", nobody.stderr);
    let devices = switchyard(&with(&["device", "list", "--user", "alice"]), "", env).await;
    assert_eq!(devices.stdout.trim(), format!("{}\tKitchen", METER.to_lowercase()));

    // bob: linked, unlinked, removed.
    assert!(
        switchyard(&with(&["device", "link", "--user", "bob", "--smartme-device", METER, "--name", "B"]), "", env)
            .await
            .ok
    );
    let unlinked = switchyard(&with(&["device", "unlink", "--user", "bob", "--smartme-device", METER]), "", env).await;
    assert!(unlinked.ok, "{}", unlinked.stderr);
    let again = switchyard(&with(&["device", "unlink", "--user", "bob", "--smartme-device", METER]), "", env).await;
    assert!(!again.ok && again.stderr.contains("not linked"), "{}", again.stderr);
    assert!(switchyard(&with(&["device", "list", "--user", "bob"]), "", env).await.stdout.trim().is_empty());
    let removed = switchyard(&with(&["user", "remove", "bob", "--yes"]), "", env).await;
    assert!(removed.ok, "{}", removed.stderr);
    let listed = switchyard(&with(&["user", "list"]), "", env).await;
    assert_eq!(listed.stdout.lines().count(), 1, "only alice is left");
    assert!(!switchyard(&with(&["user", "remove", "bob", "--yes"]), "", env).await.ok);
    // The login is free again.
    assert!(switchyard(&with(&["user", "add", "bob"]), "bob's new password\n", env).await.ok);
    assert!(switchyard(&with(&["user", "remove", "bob", "--yes"]), "", env).await.ok);
}

#[tokio::test]
async fn manages_users_and_devices_on_the_embedded_store() {
    let data = std::env::temp_dir().join(testkit::unique_name("directory"));
    let data_arg = data.to_str().unwrap();
    session(&["--data", data_arg], &[]).await;
    let secrets_path = testkit::workspace_root().join("local/secrets.json");
    let secrets_arg = secrets_path.to_str().unwrap();
    let minted = switchyard(
        &["token", "mint", "--user", "alice", "--client", "sber", "--secrets", secrets_arg, "--data", data_arg]
            .map(String::from),
        "",
        &[],
    )
    .await;
    assert!(minted.ok, "{}", minted.stderr);
    let unknown = switchyard(
        &["token", "mint", "--user", "alice", "--client", "nobody", "--secrets", secrets_arg, "--data", data_arg]
            .map(String::from),
        "",
        &[],
    )
    .await;
    assert!(!unknown.ok && unknown.stderr.contains("nobody"), "{}", unknown.stderr);
    // What the CLI wrote is what the functions read: the stored hash verifies the password, the minted token
    // verifies for Sber's audience.
    let store = shared::ports::store::embedded::EmbeddedStore::open(&Path::new(data_arg).join("store.redb")).unwrap();
    let deps = shared::Deps::new(
        std::sync::Arc::new(store),
        std::sync::Arc::new(shared::ports::secrets::FileSecrets::load(&secrets_path).unwrap()),
    );
    let verifier = shared::identity::oauth::AccessVerifier::for_audiences(None, vec!["sber".into()]);
    let claims = verifier.verify(&deps, Some(minted.stdout.trim()), shared::ports::clock::now_epoch()).await.unwrap();
    let store = deps.store.as_ref();
    let (user, hash) = Users::new(store).credentials("alice").await.unwrap().unwrap();
    assert_eq!(claims.sub, user.id);
    assert!(
        password::verify("a new horse battery", Some(&hash)) && !password::verify("correct horse battery", Some(&hash))
    );
    assert_eq!(Users::new(store).devices(&user.id).await.unwrap()[0].name, "Kitchen");
}

#[tokio::test]
async fn manages_users_and_devices_on_a_dynamodb_table() {
    let (store, _) = testkit::aws::moto::fresh_store().await;
    let table = store.table().to_owned();
    session(&["--table", &table], &testkit::aws::moto::aws_env()).await;
    let store: &DynamoStore = &store;
    let (user, hash) = Users::new(store).credentials("ALICE").await.unwrap().unwrap();
    assert!(
        password::verify("a new horse battery", Some(&hash)) && !password::verify("correct horse battery", Some(&hash))
    );
    assert_eq!(Users::new(store).devices(&user.id).await.unwrap().len(), 1);
}

/// `device link` asks smart-me what switches the meter (`GET /api/Actions/{id}` with the vendor's key), or takes it
/// from `--switch-action` / `--no-switch`; what it learns is on the owner item, which decides whether Sber is offered
/// the meter. Without `SMARTME_API_URL` a local directory asks nobody.
#[tokio::test]
async fn a_linked_meter_is_asked_what_switches_it() {
    const RELAY: &str = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1";
    const PLAIN: &str = "0c1622a2-2ca1-4183-9f8e-3bd0fce9b3d1";
    const STATED: &str = "5a5a5a5a-1111-4222-8333-444444444444";
    let api_key = "vendor-smartme-api-key-for-the-cli";
    let smartme = testkit::partners::smartme_api::FakeSmartMe::start(&format!("ApiKey {api_key}"), &[RELAY]).await;
    let data = std::env::temp_dir().join(testkit::unique_name("directory-switch"));
    std::fs::create_dir_all(&data).unwrap();
    let secrets = data.join("secrets.json");
    let document =
        serde_json::json!({"smartme": {"username": "u", "password": "realtime-password", "api_key": api_key}});
    std::fs::write(&secrets, document.to_string()).unwrap();
    testkit::assertions::leaks::fixture_secrets([api_key]);
    let place = ["--data", data.to_str().unwrap(), "--secrets", secrets.to_str().unwrap()];
    let asking = vec![("SMARTME_API_URL".to_owned(), smartme.url.clone())];
    let add: Vec<String> = ["user", "add", "alice"].iter().chain(place.iter()).map(|s| s.to_string()).collect();
    assert!(switchyard(&add, "alice-password-1\n", &[]).await.ok);
    let link = |meter: &'static str, extra: &'static [&'static str], env: Vec<(String, String)>| {
        let mut args = vec!["device", "link", "--user", "alice", "--smartme-device", meter, "--name", "M"];
        args.extend_from_slice(extra);
        let args: Vec<String> = args.into_iter().chain(place.iter().copied()).map(String::from).collect();
        async move { switchyard(&args, "", &env).await }
    };
    let relay = link(RELAY, &[], asking.clone()).await;
    assert!(relay.ok && relay.stdout.trim().ends_with("\tswitches"), "{} {}", relay.stdout, relay.stderr);
    let plain = link(PLAIN, &[], asking.clone()).await;
    assert!(plain.ok && plain.stdout.trim().ends_with("\tno relay"), "{} {}", plain.stdout, plain.stderr);
    let stated = link(STATED, &["--switch-action", "1-0:99.12.0*255"], vec![]).await;
    assert!(stated.ok && stated.stdout.trim().ends_with("\tswitches"), "{}", stated.stderr);
    let unasked = link(PLAIN, &[], vec![]).await;
    assert!(unasked.ok && unasked.stdout.trim().ends_with("\tswitch not known yet"), "{}", unasked.stdout);

    let store = shared::ports::store::embedded::EmbeddedStore::open(&data.join("store.redb")).unwrap();
    let alice = Users::new(&store).by_login("alice").await.unwrap();
    let owner = |meter: &str| shared::identity::users::MeterOwner::key(meter, &alice.id);
    use shared::ports::store::Store;
    let switchable = |item: Option<shared::ports::store::Item>| item.and_then(|i| i.bool("switchable"));
    assert_eq!(switchable(store.get(&owner(RELAY)).await.unwrap()), Some(true));
    assert_eq!(switchable(store.get(&owner(PLAIN)).await.unwrap()), Some(false), "a rename keeps what was learnt");
    assert_eq!(switchable(store.get(&owner(STATED)).await.unwrap()), Some(true));
}

/// The CLI on a real machine: an explicit `--data` wins over `SWITCHYARD_TABLE` in the environment; a read on a
/// store that does not exist says so and creates nothing; `user remove` asks (without a terminal it needs `--yes`);
/// a closed pipe ends a command quietly, not with a panic.
#[tokio::test]
async fn the_cli_is_safe_on_a_real_machine() {
    let data = std::env::temp_dir().join(testkit::unique_name("cli-safety"));
    let data_arg = data.to_str().unwrap().to_owned();
    let with = |args: &[&str]| -> Vec<String> {
        args.iter().map(|s| s.to_string()).chain(["--data".into(), data_arg.clone()]).collect()
    };
    let table_env = [("SWITCHYARD_TABLE".to_owned(), "a-table-that-does-not-exist".to_owned())];
    let missing = switchyard(&with(&["user", "list"]), "", &table_env).await;
    assert!(!missing.ok && missing.stderr.contains("no store in"), "{}", missing.stderr);
    assert!(!data.exists(), "a read creates nothing");
    let added = switchyard(&with(&["user", "add", "carol"]), "carol's password 1\n", &table_env).await;
    assert!(added.ok, "--data wins over SWITCHYARD_TABLE: {}", added.stderr);
    let asked = switchyard(&with(&["user", "remove", "carol"]), "y\n", &[]).await;
    assert!(!asked.ok && asked.stderr.contains("--yes"), "{}", asked.stderr);
    assert!(switchyard(&with(&["user", "list"]), "", &[]).await.stdout.contains("carol"), "not removed");
    assert!(switchyard(&with(&["user", "remove", "carol", "--yes"]), "", &[]).await.ok);
    // More than a pipe holds, to a reader that stops at the first byte.
    let errors = data.join("stderr.txt");
    let command = format!(
        "'{}' completions bash 2>'{}' | head -c 1 >/dev/null",
        env!("CARGO_BIN_EXE_switchyard"),
        errors.display()
    );
    let status = tokio::process::Command::new("sh").args(["-c", &command]).status().await.unwrap();
    assert!(status.success());
    let stderr = std::fs::read_to_string(&errors).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `switchyard doctor` reads every secret as the functions do and names what would not work, never a value.
#[tokio::test]
async fn doctor_names_what_would_not_work() {
    let dir = std::env::temp_dir().join(testkit::unique_name("doctor"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(testkit::workspace_root().join("local/secrets.json")).unwrap())
            .unwrap();
    let secrets_path = testkit::workspace_root().join("local/secrets.json");
    let fine = switchyard(&["doctor", "--secrets", secrets_path.to_str().unwrap()], "", &[]).await;
    assert!(fine.ok, "the development file works: {}{}", fine.stdout, fine.stderr);
    document["smallcase"]["gateway_name"] = serde_json::json!("");
    document["oauth"]["clients"] = serde_json::json!([]);
    document["sber"]["api_key"] = serde_json::json!("REPLACE_WITH_THE_STUDIO_KEY");
    document.as_object_mut().unwrap().remove("retailcrm");
    let broken = dir.join("secrets.json");
    std::fs::write(&broken, document.to_string()).unwrap();
    let run = switchyard(&["doctor", "--secrets", broken.to_str().unwrap()], "", &[]).await;
    assert!(!run.ok);
    for expected in [
        "ERROR\tretailcrm\t",
        "ERROR\tsmallcase\tthe functions cannot read it",
        "ERROR\toauth\tno client",
        "ERROR\tsber\t`api_key` is still a placeholder",
    ] {
        assert!(run.stdout.contains(expected), "{expected}: {}", run.stdout);
    }
    assert!(!run.stdout.contains("dev-smartme-password"), "no value is printed");
}
