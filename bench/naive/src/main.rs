//! ingest's first call the way aws-lambda-rust-runtime's examples write a function: `aws_config` with default
//! features (the platform's certificate store, every credential provider), SDK clients built once in `main`, the
//! runtime's default tracing subscriber. It does the AWS calls ingest makes on a first post: read the smart-me
//! secret and check the caller's Basic credentials, read the meter's latest state, write the readings, update
//! the latest state (the protobuf decoding is left out: microseconds of CPU).

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use base64::Engine;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};
use std::collections::HashMap;

struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    secrets: aws_sdk_secretsmanager::Client,
    table: String,
    secret_id: String,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients {
        dynamodb: aws_sdk_dynamodb::Client::new(&config),
        secrets: aws_sdk_secretsmanager::Client::new(&config),
        table: std::env::var("SWITCHYARD_TABLE")?,
        secret_id: format!("{}smartme", std::env::var("SWITCHYARD_SECRET_PREFIX").unwrap_or_default()),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| handler(&clients, event))).await
}

async fn handler(clients: &Clients, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let secret = clients.secrets.get_secret_value().secret_id(&clients.secret_id).send().await?;
    let secret: Value = serde_json::from_str(secret.secret_string().unwrap_or("{}"))?;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            secret["username"].as_str().unwrap_or_default(),
            secret["password"].as_str().unwrap_or_default()
        ))
    );
    if event.payload["headers"]["authorization"].as_str() != Some(expected.as_str()) {
        return Ok(json!({"statusCode": 401}));
    }
    let meter = "METER#3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1";
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let latest = HashMap::from([("pk".to_owned(), s(meter)), ("sk".to_owned(), s("LATEST"))]);
    let keys = KeysAndAttributes::builder().keys(latest.clone()).build()?;
    clients.dynamodb.batch_get_item().request_items(&clients.table, keys).send().await?;
    let mut writes = Vec::new();
    for i in 0..10 {
        let item = HashMap::from([
            ("pk".to_owned(), s(meter)),
            ("sk".to_owned(), s(&format!("READING#2019-11-22T19:03:{i:02}Z"))),
            ("v".to_owned(), AttributeValue::N("1879583.2".to_owned())),
        ]);
        writes.push(WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item)).build()?).build());
    }
    clients.dynamodb.batch_write_item().request_items(&clients.table, writes).send().await?;
    clients
        .dynamodb
        .update_item()
        .table_name(&clients.table)
        .set_key(Some(latest))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", AttributeValue::N("1879583.2".to_owned()))
        .send()
        .await?;
    Ok(json!({"statusCode": 200, "body": ""}))
}
