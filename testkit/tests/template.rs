//! `template.yaml` declares exactly the routes the local runner serves, and the resources the code relies on.

use serde_yaml::Value;
use shared::edge::routes::{FUNCTIONS, ROUTES, STREAM_FUNCTIONS};
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
            if binary == "notify" && event["Type"] == "Schedule" {
                // The silence check's bucket width is this rate.
                assert_eq!(event["Properties"]["Schedule"], "rate(5 minutes)");
                assert_eq!(shared::partners::sber::silence::BUCKET_MS, 300_000);
                continue;
            }
            if STREAM_FUNCTIONS.contains(&binary.as_str()) {
                assert_eq!(
                    event["Type"], "DynamoDB",
                    "{binary} is invoked by the table's stream (notify: and its schedule)"
                );
                assert_eq!(event["Properties"]["FunctionResponseTypes"][0], "ReportBatchItemFailures");
                assert!(matches!(
                    event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"],
                    Value::Tagged(_)
                ));
                continue;
            }
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
    assert_eq!(binaries, FUNCTIONS.into_iter().chain(STREAM_FUNCTIONS).collect());
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
    assert_eq!(keys, [(shared::ports::store::PK, "HASH"), (shared::ports::store::SK, "RANGE")]);
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], shared::ports::store::TTL);
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
        ["retailcrm", "smartme", "sber", "smallcase", "oauth", "webhook/schurter", "smartme-oauth", "oidc", "sealing"]
            .into_iter()
            .map(String::from)
            .collect();
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

/// A value without its CloudFormation short-form tag (`!Sub x` -> `x`).
fn untagged(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => &tagged.value,
        other => other,
    }
}

/// The metric names our EMF documents publish: stack-wide (dimension set `[]`) or under any dimensions, from real
/// documents of a request that counted everything.
/// The metrics the template's metric filters publish in `namespace`, each from the API's access log.
fn filtered_metrics(template: &Value, namespace: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (name, filter) in resources(template).filter(|(_, r)| r["Type"] == "AWS::Logs::MetricFilter") {
        let properties = &filter["Properties"];
        assert_eq!(untagged(&properties["LogGroupName"]), "AccessLogs", "{name} reads the access log");
        for transformation in properties["MetricTransformations"].as_sequence().unwrap() {
            if untagged(&transformation["MetricNamespace"]) == namespace {
                names.insert(transformation["MetricName"].as_str().unwrap().to_owned());
            }
        }
    }
    names
}

fn published_metrics(stack_wide: bool) -> BTreeSet<String> {
    use shared::telemetry::emf::{RequestMetrics, documents};
    use shared::telemetry::{Counter, Outcome, PartnerCall, RequestRecord};
    let mut record = RequestRecord::default();
    for counter in Counter::ALL {
        record.add(counter, 1);
    }
    record.partner_calls.push(PartnerCall { partner: "retailcrm", elapsed: Default::default(), ok: false });
    let metrics = RequestMetrics {
        namespace: "Switchyard/stack",
        function: "register",
        request_id: "r",
        outcome: Outcome::Rejected("refused"),
        latency: Default::default(),
        record: &record,
        timestamp_ms: 0,
    };
    let mut names = BTreeSet::new();
    for document in documents(&metrics) {
        for directive in document["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            let sets = directive["Dimensions"].as_array().unwrap();
            if !stack_wide || sets.iter().any(|set| set.as_array().unwrap().is_empty()) {
                for metric in directive["Metrics"].as_array().unwrap() {
                    names.insert(metric["Name"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    names
}

#[test]
fn alarms_and_the_dashboard_watch_metrics_the_functions_publish() {
    let template = template();
    let namespace = "Switchyard/${AWS::StackName}";
    let env = &template["Globals"]["Function"]["Environment"]["Variables"];
    // `!If [PublishesMetrics, !Sub "Switchyard/${AWS::StackName}", ""]`
    let choice = untagged(&env["METRICS_NAMESPACE"]);
    assert_eq!((untagged(&choice[1]), &choice[2]), (&Value::from(namespace), &Value::from("")));
    let mut published = published_metrics(true);
    for name in ["Requests", "Rejected", "Failed", "PartnerCallFailures"] {
        assert!(published.contains(name), "{name} is not published stack-wide: {published:?}");
    }
    // What API Gateway answers itself (a throttled partner's 429) reaches no function: the access log's metric
    // filters publish it, stack-wide too.
    let filtered = filtered_metrics(&template, namespace);
    assert!(filtered.len() >= 5, "a throttle metric per partner: {filtered:?}");
    published.extend(filtered.iter().cloned());
    let watched_function_names = |alarm: &Value| -> BTreeSet<String> {
        let metrics = alarm["Properties"]["Metrics"].as_sequence().map(Vec::as_slice).unwrap_or_default();
        metrics
            .iter()
            // A conditional function's metric is `!If [Condition, metric, !Ref AWS::NoValue]`.
            .map(|m| match untagged(m).as_sequence() {
                Some(branches) => &branches[1],
                None => m,
            })
            .filter_map(|m| m["MetricStat"]["Metric"]["Dimensions"].as_sequence())
            .flatten()
            .map(|d| untagged(&d["Value"]).as_str().unwrap().to_owned())
            .collect()
    };
    let mut alarms = 0;
    for (name, resource) in resources(&template).filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm") {
        alarms += 1;
        let properties = &resource["Properties"];
        assert!(untagged(&properties["AlarmActions"][0]) == "AlarmTopic", "{name} notifies the topic");
        assert_eq!(properties["TreatMissingData"], "notBreaching", "{name}: no traffic is not an alarm");
        let mut ours = Vec::new();
        if untagged(&properties["Namespace"]) == namespace {
            ours.push(properties["MetricName"].as_str().unwrap().to_owned());
        }
        for metric in properties["Metrics"].as_sequence().map(Vec::as_slice).unwrap_or_default() {
            let stat = &metric["MetricStat"]["Metric"];
            if untagged(&stat["Namespace"]) == namespace {
                assert!(stat["Dimensions"].is_null(), "{name}: our alarms watch the stack-wide totals");
                ours.push(stat["MetricName"].as_str().unwrap().to_owned());
            }
        }
        for metric in ours {
            assert!(published.contains(&metric), "{name} watches {metric}, which nothing publishes");
        }
        if properties["Metrics"]
            .as_sequence()
            .is_some_and(|m| m.iter().any(|m| untagged(&m["MetricStat"]["Metric"]["Namespace"]) == "AWS/Lambda"))
        {
            let functions: BTreeSet<String> = functions(&template).iter().map(|(id, _)| id.to_string()).collect();
            assert_eq!(watched_function_names(resource), functions, "{name} watches every function");
        }
    }
    assert!(alarms >= 5, "errors, throttles, failures, rejection spikes, partner failures");

    let dashboard = &template["Resources"]["Dashboard"]["Properties"]["DashboardBody"];
    let body = untagged(dashboard)[0].as_str().unwrap();
    let body = body.replace("${Ns}", "Switchyard/stack").replace("${AWS::Region}", "eu-west-1");
    let body: serde_json::Value = serde_json::from_str(&body).expect("the dashboard body is JSON");
    let text = body.to_string();
    let mut published = published_metrics(false);
    published.extend(filtered);
    let mut searched = 0;
    // Each search of our namespace names metrics something publishes (searches of AWS/ namespaces are AWS's).
    for search in text.split("SEARCH('{").skip(1) {
        let search = search.split("')").next().unwrap();
        if search.starts_with("AWS/") {
            continue;
        }
        for part in search.split("MetricName=\\\"").skip(1) {
            let metric = part.split('\\').next().unwrap();
            assert!(published.contains(metric), "the dashboard searches {metric}, which nothing publishes");
            searched += 1;
        }
    }
    assert!(searched >= 6 && body["widgets"].as_array().unwrap().len() >= 4);
}

#[test]
fn logs_have_a_retention_and_the_api_logs_what_never_reaches_a_function() {
    let template = template();
    let logging = &template["Globals"]["Function"]["LoggingConfig"];
    assert_eq!(logging["LogFormat"], "JSON", "advanced logging: the runtime's JSON lines pass through");
    assert_eq!(untagged(&logging["LogGroup"]), "FunctionLogs");
    for (name, function) in functions(&template) {
        assert!(function["Properties"]["LoggingConfig"].is_null(), "{name} overrides the shared log group");
    }
    for group in ["FunctionLogs", "AccessLogs"] {
        let properties = &template["Resources"][group]["Properties"];
        assert_eq!(untagged(&properties["RetentionInDays"]), "LogRetentionDays", "{group} is kept forever");
    }
    let access = &template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    assert_eq!(untagged(&access["DestinationArn"]), "AccessLogs.Arn");
    let format: serde_json::Value =
        serde_json::from_str(access["Format"].as_str().unwrap()).expect("the access log format is one JSON object");
    for field in ["requestId", "status", "routeKey", "integrationError"] {
        assert!(format[field].is_string(), "the access log lacks {field}");
    }
    assert!(!access["Format"].as_str().unwrap().contains('\n'), "an access log format is one line");
}

#[test]
fn openapi_lists_sbers_error_codes_and_only_those() {
    let path = testkit::workspace_root().join("openapi.yaml");
    let spec: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let responses = &spec["components"]["responses"];
    let per_device = &responses["SberStates"]["content"]["application/json"]["schema"]["properties"]["errors"];
    let common = &responses["SberError"]["content"]["application/json"]["schema"]["properties"]["code"];
    for codes in [&per_device["items"]["properties"]["code"]["enum"], &common["enum"]] {
        let codes: Vec<u16> = serde_yaml::from_value(codes.clone()).expect("an enum of codes");
        assert_eq!(codes, shared::partners::sber::ERROR_CODES);
    }
}
