//! `events/notify/*` (a DynamoDB stream event and EventBridge's scheduled event, as `sam local invoke
//! NotifyFunction -e` takes them) through the real `notify` binary under the Lambda runtime-API emulator, deployed
//! as the translated template configures it in every environment, against a fake of Sber's partner API.

use serde_json::json;
use shared::ports::store::{Condition, Item, Store, Value, keys};
use testkit::partners::sber_api::FakeSber;

const METER: &str = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1";
const USER: &str = "0b5f6c8e-2f7a-4d5c-9a51-6a3e1f2b9c01";
const API_KEY: &str = "sber-studio-api-key-for-the-events";

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_reading_is_pushed_in_every_environment() {
    let files: Vec<_> = std::fs::read_dir(testkit::lambda::sample_requests::events_dir().join("notify"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut files = files;
    files.sort();
    assert_eq!(files, ["reading.json", "silence-check.json"], "every notify event is exercised here");
    let read = |name: &str| -> serde_json::Value {
        let text =
            std::fs::read_to_string(testkit::lambda::sample_requests::events_dir().join("notify").join(name)).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let (event, scheduled) = (read("reading.json"), read("silence-check.json"));
    testkit::assertions::leaks::fixture_secrets([API_KEY]);

    for environment in testkit::lambda::sample_requests::environments() {
        let label = &environment.label;
        let sber = FakeSber::start(&format!("Bearer {API_KEY}")).await;
        let parameters: Vec<(&str, &str)> =
            environment.parameters.iter().copied().chain([("SberApiUrl", sber.url.as_str())]).collect();
        let secrets = [("sber", json!({"api_key": API_KEY}))];
        let deployment =
            testkit::aws::harness::Deployment::create(&environment.translated, "notify", &secrets, &parameters).await;
        // The meter is the user's, and Sber linked the user.
        let owner = Item::new(keys::meter_owner(METER, USER))
            .with("userId", Value::str(USER))
            .with("deviceId", Value::str(METER))
            .with("name", Value::str("Hall"))
            .with("linkedAt", Value::int(1_764_400_000))
            .with("switchable", Value::Bool(true));
        deployment.store.put(owner, Condition::Always).await.unwrap();
        deployment.store.put(Item::new(keys::sber_link(USER)), Condition::Always).await.unwrap();

        // A meter gone silent two hours ago, watched for the check bucket just past.
        let now_ms = shared::ports::clock::now_epoch_ms() as i64;
        let silent = "0c1622a2-2ca1-4183-9f8e-3bd0fce9b3d1";
        let owner = Item::new(keys::meter_owner(silent, USER))
            .with("userId", Value::str(USER))
            .with("deviceId", Value::str(silent))
            .with("name", Value::str("Cellar"))
            .with("switchable", Value::Bool(true));
        deployment.store.put(owner, Condition::Always).await.unwrap();
        let latest = Item::new(keys::meter_latest(silent)).with("t", Value::int(now_ms - 7_200_000));
        deployment.store.put(latest, Condition::Always).await.unwrap();
        let watch = shared::partners::sber::silence::watch_key(silent, now_ms - 600_000);
        deployment.store.put(Item::new(watch.clone()), Condition::Always).await.unwrap();

        let runtime = testkit::lambda::runtime::RuntimeApi::start().await;
        let process = testkit::lambda::runtime::FunctionProcess::spawn(
            env!("CARGO_BIN_EXE_notify"),
            &runtime,
            "notify",
            &deployment.process_env(),
        );
        runtime.first_poll(std::time::Duration::from_secs(30)).await.unwrap_or_else(|e| panic!("[{label}] {e}"));
        let outcome = runtime.invoke(event.clone(), std::time::Duration::from_secs(30)).await.unwrap();
        let checked = runtime.invoke(scheduled.clone(), std::time::Duration::from_secs(30)).await.unwrap();
        let logs = process.stop().await;
        let testkit::lambda::runtime::Outcome::Response(answer) = checked else {
            panic!("[{label}] {checked:?}\n{logs}")
        };
        assert_eq!(answer, json!({}), "[{label}] {logs}");
        assert!(deployment.store.get(&watch).await.unwrap().is_none(), "[{label}] the watch is handled");
        let testkit::lambda::runtime::Outcome::Response(answer) = outcome else {
            panic!("[{label}] {outcome:?}\n{logs}")
        };
        assert_eq!(answer, json!({"batchItemFailures": []}), "[{label}] {logs}");

        let pushes: Vec<_> = sber.accepted().into_iter().filter(|c| c.path == "/v1/state").collect();
        assert_eq!(pushes.len(), 2, "[{label}] {:?}", sber.calls());
        let offline = json!({"key": "online", "value": {"type": "BOOL", "bool_value": false}});
        let silenced = pushes[1].body["devices"][silent]["states"].as_array().unwrap();
        assert!(silenced.contains(&offline), "[{label}] {silenced:?}");
        let states = pushes[0].body["devices"][METER]["states"].as_array().unwrap().clone();
        let power = json!({"key": "power", "value": {"type": "INTEGER", "integer_value": "1250"}});
        assert!(states.contains(&power), "[{label}] {states:?}");

        // What Lambda's log filter lets through still has the batch line, and the EMF document where metrics are on.
        let level = deployment.spec.application_log_level.as_deref();
        let delivered = testkit::lambda::log_filter::delivered(&logs, level).join("\n");
        let batch: serde_json::Value = delivered
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|l| l["fields"]["message"] == "stream batch")
            .unwrap_or_else(|| panic!("[{label}] no stream batch line: {delivered}"));
        // The sandbox's first batch is its cold start, in the trace the runtime API named.
        assert_eq!(batch["fields"]["cold_start"], true, "[{label}] {batch}");
        let trace = batch["fields"]["trace_id"].as_str().unwrap_or_default();
        assert!(trace.starts_with("Root=1-00000000-"), "[{label}] {batch}");
        assert_eq!(delivered.contains("\"ColdStarts\":1"), metrics_on_for(&deployment), "[{label}] {delivered}");
        assert_eq!(delivered.contains("\"SberStatePushes\""), metrics_on_for(&deployment), "[{label}] {delivered}");
    }
}

fn metrics_on_for(deployment: &testkit::aws::harness::Deployment) -> bool {
    !deployment.spec.environment.get("METRICS_NAMESPACE").is_some_and(|n| n.is_empty())
}
