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
    let removed = switchyard(&with(&["user", "remove", "bob"]), "", env).await;
    assert!(removed.ok, "{}", removed.stderr);
    let listed = switchyard(&with(&["user", "list"]), "", env).await;
    assert_eq!(listed.stdout.lines().count(), 1, "only alice is left");
    assert!(!switchyard(&with(&["user", "remove", "bob"]), "", env).await.ok);
    // The login is free again.
    assert!(switchyard(&with(&["user", "add", "bob"]), "bob's new password\n", env).await.ok);
    assert!(switchyard(&with(&["user", "remove", "bob"]), "", env).await.ok);
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
    let (store, _) = testkit::moto::fresh_store().await;
    let table = store.table().to_owned();
    session(&["--table", &table], &testkit::moto::aws_env()).await;
    let store: &DynamoStore = &store;
    let (user, hash) = Users::new(store).credentials("ALICE").await.unwrap().unwrap();
    assert!(
        password::verify("a new horse battery", Some(&hash)) && !password::verify("correct horse battery", Some(&hash))
    );
    assert_eq!(Users::new(store).devices(&user.id).await.unwrap().len(), 1);
}
