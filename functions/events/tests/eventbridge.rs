//! The `events` binary as deployed (the translated template's environment and role, in every environment that has
//! an event bus), under the Lambda runtime-API emulator, publishing a real stream batch to an EventBridge bus on
//! moto: a rule on the bus forwards everything from `switchyard.*` to an SQS queue, and what arrives there is what
//! the vendor's systems would get.

mod common;

use serde_json::{Value, json};
use shared::partners::outbound_events;
use shared::ports::store::changes::to_stream_event;
use std::time::Duration;
use testkit::aws::template::{Binding, Resolver, Translated};

/// An SQS call in its JSON protocol (moto speaks it; the harness needs no SQS SDK for three calls).
async fn sqs(operation: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .post(testkit::aws::moto::endpoint())
        .header("x-amz-target", format!("AmazonSQS.{operation}"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=harness/20260101/us-east-1/sqs/aws4_request")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let text = answer.text().await.unwrap();
    assert!(status.is_success(), "SQS {operation}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The bus `name` on moto with a rule sending every Switchyard event to a fresh queue; the queue's URL.
async fn bus_with_queue(name: &str) -> String {
    let config = testkit::aws::moto::sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    events.create_event_bus().name(name).send().await.unwrap();
    let queue = sqs("CreateQueue", json!({"QueueName": format!("{name}-tap")})).await;
    let url = queue["QueueUrl"].as_str().unwrap().to_owned();
    let attributes = sqs("GetQueueAttributes", json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]})).await;
    let arn = attributes["Attributes"]["QueueArn"].as_str().unwrap().to_owned();
    let pattern = json!({"source": [{"prefix": "switchyard."}]}).to_string();
    events.put_rule().name("tap").event_bus_name(name).event_pattern(pattern).send().await.unwrap();
    let target = aws_sdk_eventbridge::types::Target::builder().id("queue").arn(arn).build().unwrap();
    events.put_targets().rule("tap").event_bus_name(name).targets(target).send().await.unwrap();
    url
}

/// Every message in the queue (PutEvents delivered them before it answered).
async fn drain(url: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let answer = sqs("ReceiveMessage", json!({"QueueUrl": url, "MaxNumberOfMessages": 10})).await;
        let messages = answer["Messages"].as_array().cloned().unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for message in messages {
            out.push(serde_json::from_str(message["Body"].as_str().unwrap()).unwrap());
            sqs("DeleteMessage", json!({"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"]})).await;
        }
    }
}

#[tokio::test]
async fn a_stream_batch_reaches_the_vendors_bus_in_every_environment_that_has_one() {
    let changes = common::changes().await;
    let expected: Vec<Value> = changes
        .iter()
        .filter_map(|c| outbound_events::event_of(c, common::now()))
        .map(|e| json!({"source": e.source, "detail-type": e.detail_type, "detail": e.detail}))
        .collect();
    assert_eq!(expected.len(), 7);
    let mut environments = 0;
    for translated in Translated::environments() {
        let probe = Binding::new("probe");
        if !Resolver::new(&translated, &probe).functions().iter().any(|f| f.binary == "events") {
            continue;
        }
        environments += 1;
        let label = translated.environment.clone();
        let deployment = testkit::aws::harness::Deployment::create(&translated, "events", &[], &[]).await;
        let bus = deployment.spec.environment["EVENT_BUS_NAME"].clone();
        assert_eq!(bus, deployment.binding.bus(), "[{label}] the template names the stack's bus");
        let queue = bus_with_queue(&bus).await;

        let runtime = testkit::lambda::runtime::RuntimeApi::start().await;
        let process = testkit::lambda::runtime::FunctionProcess::spawn(
            env!("CARGO_BIN_EXE_events"),
            &runtime,
            "events",
            &deployment.process_env(),
        );
        runtime.first_poll(Duration::from_secs(30)).await.unwrap_or_else(|e| panic!("[{label}] {e}"));
        let outcome = runtime.invoke(to_stream_event(&changes), Duration::from_secs(30)).await.unwrap();
        let logs = process.stop().await;
        let testkit::lambda::runtime::Outcome::Response(answer) = outcome else {
            panic!("[{label}] {outcome:?}\n{logs}")
        };
        assert_eq!(answer, json!({"batchItemFailures": []}), "[{label}] {logs}");

        let received = drain(&queue).await;
        let got: Vec<Value> = received
            .iter()
            .map(|e| json!({"source": e["source"], "detail-type": e["detail-type"], "detail": e["detail"]}))
            .collect();
        assert_eq!(got, expected, "[{label}] what the bus forwarded");
        for event in &received {
            testkit::assertions::event_schemas::validate(event).unwrap_or_else(|e| panic!("[{label}] {e}"));
        }
        let text = serde_json::to_string(&received).unwrap();
        assert!(!text.contains(common::API_KEY) && !text.contains(common::AUTH_ID), "[{label}] {text}");
        // What Lambda's log filter lets through still has the batch line.
        let delivered = testkit::lambda::log_filter::delivered(&logs, deployment.spec.application_log_level.as_deref());
        assert!(
            delivered.iter().any(|l| l.contains("\"stream batch\"") && l.contains("\"delivered\":7")),
            "[{label}] {logs}"
        );
    }
    assert!(environments > 0, "some samconfig.toml environment publishes events (prod, to the default bus)");
}
