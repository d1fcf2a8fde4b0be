//! `template.yaml` declares exactly the routes the local runner serves, and the resources the code relies on.

use serde_yaml::Value;
use shared::routes::{FUNCTIONS, ROUTES};
use std::collections::BTreeSet;

fn template() -> Value {
    let path = testkit::workspace_root().join("template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn resources(template: &Value) -> impl Iterator<Item = (&str, &Value)> {
    template["Resources"].as_mapping().unwrap().iter().map(|(k, v)| (k.as_str().unwrap(), v))
}

fn functions(template: &Value) -> Vec<(&str, &Value)> {
    resources(template).filter(|(_, r)| r["Type"] == "AWS::Serverless::Function").collect()
}

#[test]
fn template_routes_equal_the_runner_routes() {
    let template = template();
    let mut declared = BTreeSet::new();
    for (_, function) in functions(&template) {
        let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
        for (_, event) in function["Properties"]["Events"].as_mapping().unwrap() {
            assert_eq!(event["Type"], "HttpApi");
            let method = event["Properties"]["Method"].as_str().unwrap().to_uppercase();
            let path = event["Properties"]["Path"].as_str().unwrap().to_owned();
            assert!(declared.insert((binary.clone(), method, path)), "route declared twice");
        }
    }
    let served: BTreeSet<_> =
        ROUTES.iter().map(|r| (r.function.to_owned(), r.method.to_owned(), r.path.to_owned())).collect();
    assert_eq!(declared, served);
}

#[test]
fn every_function_is_built_by_cargo_lambda_from_the_workspace_root() {
    let template = template();
    let binaries: BTreeSet<&str> = functions(&template)
        .iter()
        .map(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap())
        .collect();
    assert_eq!(binaries, FUNCTIONS.into_iter().collect());
    for (name, function) in functions(&template) {
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}");
        assert_eq!(function["Properties"]["CodeUri"], ".", "{name}: one workspace, one target/");
    }
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["Architectures"][0], "arm64");
}

#[test]
fn the_table_matches_the_store() {
    let template = template();
    let table = &template["Resources"]["Table"]["Properties"];
    let keys: Vec<(&str, &str)> = table["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| (k["AttributeName"].as_str().unwrap(), k["KeyType"].as_str().unwrap()))
        .collect();
    assert_eq!(keys, [(shared::store::PK, "HASH"), (shared::store::SK, "RANGE")]);
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], shared::store::TTL);
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
}

#[test]
fn secrets_use_the_names_the_code_reads() {
    let template = template();
    let names: BTreeSet<String> = resources(&template)
        .filter(|(_, r)| r["Type"] == "AWS::SecretsManager::Secret")
        .map(|(_, r)| {
            // `!Sub ${AWS::StackName}/<name>`: a tagged scalar.
            let Value::Tagged(tagged) = &r["Properties"]["Name"] else { panic!("secret name is not !Sub") };
            tagged.value.as_str().unwrap().trim_start_matches("${AWS::StackName}/").to_owned()
        })
        .collect();
    let expected: BTreeSet<String> =
        ["retailcrm", "smartme", "smallcase", "oauth", "webhook/schurter"].into_iter().map(String::from).collect();
    assert_eq!(names, expected);
    // The same names are what the local secrets file provides.
    let local: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(testkit::workspace_root().join("local/secrets.json")).unwrap())
            .unwrap();
    for name in &expected {
        assert!(local.get(name).is_some(), "local/secrets.json lacks {name}");
    }
}

#[test]
fn openapi_describes_exactly_the_served_routes() {
    let path = testkit::workspace_root().join("openapi.yaml");
    let spec: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(spec["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
    let mut described = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for (method, operation) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap().to_uppercase();
            assert!(operation["responses"].as_mapping().is_some_and(|r| !r.is_empty()), "{method} {path:?}");
            described.insert((method, path.as_str().unwrap().to_owned()));
        }
    }
    let served: BTreeSet<_> = ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    assert_eq!(described, served);
}
