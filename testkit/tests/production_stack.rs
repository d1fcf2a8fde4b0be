//! The production parts of the stack, as AWS's SAM translator turns `template.yaml` into what CloudFormation
//! creates (every `samconfig.toml` environment, and the default one with a custom domain): safe rollout through an
//! alias, retained state, X-Ray tracing, the custom domain in every URL a partner pastes, and the alarms.

use serde_json::{Value, json};
use testkit::aws::template::{Binding, Resolver, Translated};

fn resolve(translated: &Translated, value: &Value) -> Value {
    let binding = Binding::new("stack");
    Resolver::new(translated, &binding).resolve(value).unwrap().unwrap_or(Value::Null)
}

fn condition(translated: &Translated, name: &str) -> bool {
    let binding = Binding::new("stack");
    Resolver::new(translated, &binding).condition(name).unwrap()
}

/// The resources CloudFormation would create: those without a condition, or whose condition holds.
fn created(translated: &Translated) -> Vec<(String, Value)> {
    translated
        .resources()
        .iter()
        .filter(|(_, r)| r["Condition"].as_str().is_none_or(|c| condition(translated, c)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn custom_domain() -> Translated {
    Translated::load("default+custom-domain")
}

#[test]
fn the_api_and_the_stream_invoke_each_functions_alias_which_codedeploy_moves() {
    for env in Translated::environments() {
        let resources = env.resources();
        let expected_config = match env.parameters["DeploymentType"].as_str() {
            "AllAtOnce" => "CodeDeployDefault.LambdaAllAtOnce".to_owned(),
            other => format!("CodeDeployDefault.Lambda{other}"),
        };
        for id in env.function_ids() {
            let alias = &resources[&format!("{id}Aliaslive")];
            assert_eq!(alias["Type"], "AWS::Lambda::Alias", "[{}] {id}", env.environment);
            let update = &alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"];
            let group_id = update["DeploymentGroupName"]["Ref"].as_str().unwrap();
            let group = &resources[group_id]["Properties"];
            assert_eq!(resolve(&env, &group["DeploymentConfigName"]), json!(expected_config), "[{}]", env.environment);
            // Rolled back when the functions fail (crashes, timeouts) or answer 5xx during the shift.
            let alarms: Vec<Value> = group["AlarmConfiguration"]["Alarms"].as_array().unwrap().clone();
            assert_eq!(
                alarms,
                [json!({"Name": {"Ref": "FunctionErrorsAlarm"}}), json!({"Name": {"Ref": "ServerFailuresAlarm"}})]
            );
            assert_eq!(group["AutoRollbackConfiguration"]["Enabled"], true);
        }
        // Every route's integration and invoke permission names an alias, never the unqualified function.
        let paths = resources["HttpApi"]["Properties"]["Body"]["paths"].as_object().unwrap();
        for (path, methods) in paths {
            for (method, operation) in methods.as_object().unwrap() {
                let uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"].as_str().unwrap_or_default();
                assert!(uri.contains("Aliaslive}/invocations"), "[{}] {method} {path}: {uri}", env.environment);
            }
        }
        for (id, permission) in resources.iter().filter(|(_, r)| r["Type"] == "AWS::Lambda::Permission") {
            let target = permission["Properties"]["FunctionName"]["Ref"].as_str().unwrap_or_default();
            assert!(target.ends_with("Aliaslive"), "[{}] {id} lets the API invoke {target}", env.environment);
        }
        for (id, mapping) in resources.iter().filter(|(_, r)| r["Type"] == "AWS::Lambda::EventSourceMapping") {
            let target = mapping["Properties"]["FunctionName"]["Ref"].as_str().unwrap_or_default();
            assert!(target.ends_with("Aliaslive"), "[{}] {id} invokes {target}", env.environment);
        }
    }
}

#[test]
fn state_and_secrets_outlive_the_stack() {
    for env in Translated::environments().into_iter().chain([custom_domain()]) {
        let kept: Vec<_> = env
            .resources()
            .iter()
            .filter(|(_, r)| r["Type"] == "AWS::SecretsManager::Secret" || r["Type"] == "AWS::DynamoDB::Table")
            .collect();
        assert!(kept.len() >= 7, "the table and the six secrets");
        for (id, resource) in kept {
            assert_eq!(resource["DeletionPolicy"], "Retain", "[{}] {id}", env.environment);
            assert_eq!(resource["UpdateReplacePolicy"], "Retain", "[{}] {id}", env.environment);
        }
    }
}

#[test]
fn tracing_follows_the_parameter() {
    for env in Translated::environments() {
        let mode = env.parameters["Tracing"].clone();
        for id in env.function_ids() {
            let tracing = resolve(&env, &env.resources()[&id]["Properties"]["TracingConfig"]);
            assert_eq!(tracing, json!({"Mode": mode}), "[{}] {id}", env.environment);
            // SAM attaches X-Ray's write-only managed policy whenever Tracing is set (Lambda uses it when Active;
            // the IAM contract knows it as harmless): nothing else about the role changes with the mode.
            let binding = Binding::new("stack");
            let spec = Resolver::new(&env, &binding).function(&id);
            let xray: Vec<_> = spec.managed_policies.iter().filter(|p| p.contains("XrayWriteOnly")).collect();
            assert_eq!(xray, ["arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"], "[{}] {id}", env.environment);
        }
    }
    let prod = Translated::load("prod");
    assert_eq!(prod.parameters["Tracing"], "Active", "production traces");
}

/// Every output a partner pastes into its console, as the stack would publish it.
fn partner_urls(env: &Translated) -> Vec<(String, String)> {
    env.template["Outputs"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.ends_with("Url") && *name != "DashboardUrl")
        .map(|(name, output)| (name.clone(), resolve(env, &output["Value"]).as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn a_custom_domain_is_every_partner_url_and_the_functions_base() {
    let plain = Translated::load("default");
    let domain = custom_domain();
    assert!(!condition(&plain, "HasDomain"));
    let names = |env: &Translated| created(env).into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    for id in ["ApiDomain", "ApiDomainMapping", "ApiDomainRecord"] {
        assert!(!names(&plain).contains(&id.to_owned()), "{id} without DomainName");
        assert!(names(&domain).contains(&id.to_owned()), "{id} with DomainName and HostedZoneId");
    }
    let resources = domain.resources();
    assert_eq!(resolve(&domain, &resources["ApiDomain"]["Properties"]["DomainName"]), "api.switchyard.example");
    let mapping = &resources["ApiDomainMapping"]["Properties"];
    assert_eq!(mapping["ApiId"], json!({"Ref": "HttpApi"}));
    // The stage the HTTP API's routes are deployed to (SAM's `$default`).
    let stage = mapping["Stage"]["Ref"].as_str().unwrap();
    assert_eq!(resources[stage]["Properties"]["StageName"], "$default");

    let urls = partner_urls(&domain);
    assert!(urls.len() >= 8, "{urls:?}");
    for (name, url) in &urls {
        assert!(url.starts_with("https://api.switchyard.example"), "{name}: {url}");
    }
    for (name, url) in partner_urls(&plain) {
        assert!(url.starts_with("https://stack-HttpApi.execute-api."), "{name}: {url}");
    }
    let binding = Binding::new("stack");
    for spec in Resolver::new(&domain, &binding).functions() {
        assert_eq!(
            spec.environment.get("SWITCHYARD_PUBLIC_URL").map(String::as_str),
            Some("https://api.switchyard.example"),
            "{}: the base of the URLs it hands out",
            spec.binary
        );
    }
    for spec in Resolver::new(&plain, &binding).functions() {
        assert_eq!(spec.environment.get("SWITCHYARD_PUBLIC_URL"), None, "{}: the request's own host", spec.binary);
    }
}

#[test]
fn duration_and_table_throttle_alarms_watch_every_function_and_the_table() {
    for env in Translated::environments() {
        let resources = env.resources();
        let binding = Binding::new("stack");
        let functions = Resolver::new(&env, &binding).functions();
        let alarm = resolve(&env, &resources["DurationNearTimeoutAlarm"]["Properties"]);
        let watched: Vec<&str> = alarm["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["MetricStat"]["Metric"]["Dimensions"][0]["Value"].as_str())
            .collect();
        for spec in &functions {
            assert!(watched.contains(&format!("stack-{}", spec.binary).as_str()), "{} unwatched", spec.binary);
            // 80% of the function's own timeout, in milliseconds.
            assert_eq!(alarm["Threshold"].as_f64().unwrap(), spec.timeout_s as f64 * 1000.0 * 0.8, "{}", spec.binary);
        }
        assert_eq!(watched.len(), functions.len());
        let throttles = resolve(&env, &resources["TableThrottlesAlarm"]["Properties"]);
        let metrics: Vec<(String, String)> = throttles["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m.get("MetricStat").is_some())
            .map(|m| {
                let metric = &m["MetricStat"]["Metric"];
                (metric["MetricName"].as_str().unwrap().to_owned(), metric["Dimensions"][0]["Value"].to_string())
            })
            .collect();
        let table = json!(binding.table).to_string();
        assert_eq!(
            metrics,
            [("ReadThrottleEvents".to_owned(), table.clone()), ("WriteThrottleEvents".to_owned(), table)]
        );
    }
}

/// Floods are contained per partner: every route of the router has a throttle, its partner's parameter (so one
/// partner's flood is a 429 on its own routes), and reserved concurrency is made only when asked for.
#[test]
fn every_route_is_throttled_by_its_partners_parameter() {
    let partner_rate = |function: &str| match function {
        "config" | "register" => "RetailCrmRouteRate",
        "user" => "SberRouteRate",
        "ingest" => "SmartMeRouteRate",
        "webhook" => "WebhookRouteRate",
        "token" => "SignInRouteRate",
        other => panic!("a route of an unknown function {other}"),
    };
    for env in Translated::environments() {
        let (_, stage) = created(&env)
            .into_iter()
            .find(|(_, r)| r["Type"] == "AWS::ApiGatewayV2::Stage")
            .expect("the HTTP API's stage");
        let settings = resolve(&env, &stage["Properties"]["RouteSettings"]);
        let settings = settings.as_object().expect("route settings");
        assert_eq!(settings.len(), shared::edge::routes::ROUTES.len(), "[{}] one per route", env.environment);
        for route in shared::edge::routes::ROUTES {
            let key = format!("{} {}", route.method, route.path);
            // CloudFormation hands a Number parameter over as its text.
            let rate = &env.parameters[partner_rate(route.function)];
            assert!(rate.parse::<u32>().is_ok_and(|r| r > 0), "[{}] {key}: {rate}", env.environment);
            let throttle = &settings[&key];
            assert_eq!(throttle["ThrottlingRateLimit"], json!(rate), "[{}] {key}", env.environment);
            assert_eq!(throttle["ThrottlingBurstLimit"], json!(rate), "[{}] {key}", env.environment);
        }
        for id in ["WebhookFunction", "IngestFunction", "UserFunction"] {
            let reserved = resolve(&env, &env.resources()[id]["Properties"]["ReservedConcurrentExecutions"]);
            assert_eq!(reserved, Value::Null, "[{}] {id}: nothing reserved by default", env.environment);
        }
    }
}

/// A flood shows as an alarm naming its partner: every route's throttled requests (429 in the access log) land in
/// exactly one partner's metric, whose alarm names the parameter that throttles that route.
#[test]
fn every_routes_429s_raise_the_alarm_of_its_partner() {
    let env = Translated::load("default");
    let created = created(&env);
    // Each throttled metric's filter: the path prefixes it counts (`$.path = "/prefix/*"`), its metric name.
    let filters: Vec<(Vec<String>, String)> = created
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Logs::MetricFilter")
        .filter_map(|(_, r)| {
            let pattern = r["Properties"]["FilterPattern"].as_str()?;
            let metric = resolve(&env, &r["Properties"]["MetricTransformations"][0]["MetricName"]);
            let metric = metric.as_str().filter(|m| m.starts_with("Throttled"))?.to_owned();
            assert!(pattern.contains(r#"$.status = "429""#), "{metric}: only throttled requests: {pattern}");
            let prefixes = pattern
                .split(r#"$.path = ""#)
                .skip(1)
                .map(|rest| rest.split('"').next().unwrap().strip_suffix('*').expect("a prefix pattern").to_owned())
                .collect();
            Some((prefixes, metric))
        })
        .collect();
    assert_eq!(filters.len(), 5, "one per partner route rate: {filters:?}");
    let alarm_of = |metric: &str| {
        created
            .iter()
            .find(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm" && r["Properties"]["MetricName"] == metric)
            .map(|(_, r)| r["Properties"]["AlarmDescription"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("an alarm on {metric}"))
    };
    let (_, stage) = created.iter().find(|(_, r)| r["Type"] == "AWS::ApiGatewayV2::Stage").expect("the stage");
    for route in shared::edge::routes::ROUTES {
        let key = format!("{} {}", route.method, route.path);
        let parameter = stage["Properties"]["RouteSettings"][&key]["ThrottlingRateLimit"]["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: throttled by a parameter"));
        let counted: Vec<&String> = filters
            .iter()
            .filter(|(prefixes, _)| prefixes.iter().any(|p| route.path.starts_with(p.as_str())))
            .map(|(_, metric)| metric)
            .collect();
        assert_eq!(counted.len(), 1, "{key}: counted by exactly one partner's metric: {counted:?}");
        let alarm = alarm_of(counted[0]);
        assert!(alarm.contains(parameter), "{key}: the alarm on {} names {parameter}: {alarm}", counted[0]);
    }
}
