//! The `moto_server` that `scripts/test` starts on a loopback port and names in `MOTO_ENDPOINT`.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
};
use shared::store::dynamo::DynamoStore;

/// The moto_server endpoint. Tests that need it fail with instructions when it is not set: they are never
/// silently skipped.
pub fn endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the tests with scripts/test, which starts moto_server for them")
    })
}

/// The environment a function process needs to talk to moto instead of AWS.
pub fn aws_env() -> Vec<(String, String)> {
    let endpoint = endpoint();
    [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// SDK configuration pointing at moto, with the same timeouts the functions use.
pub async fn sdk_config() -> SdkConfig {
    let mut vars = shared::env::Vars::default();
    for (k, v) in aws_env() {
        vars = vars.with(&k, &v);
    }
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "moto"))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder().operation_timeout(std::time::Duration::from_secs(10)).build(),
        )
        .load()
        .await
}

/// Creates table `name` with the schema `template.yaml` declares (pk/sk strings, TTL on `ttl`).
pub async fn create_table(config: &SdkConfig, name: &str) {
    let client = aws_sdk_dynamodb::Client::new(config);
    let attribute = |n: &str| {
        AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build().unwrap()
    };
    let key = |n: &str, t| KeySchemaElement::builder().attribute_name(n).key_type(t).build().unwrap();
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table on moto");
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder().attribute_name("ttl").enabled(true).build().unwrap(),
        )
        .send()
        .await
        .expect("enable TTL on moto");
}

/// A store on a fresh table of its own.
pub async fn fresh_store() -> (DynamoStore, SdkConfig) {
    let config = sdk_config().await;
    let table = crate::unique_name("switchyard");
    create_table(&config, &table).await;
    (DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table), config)
}

/// Creates (or overwrites) secret `id` with `value`.
pub async fn put_secret(config: &SdkConfig, id: &str, value: &str) {
    let client = aws_sdk_secretsmanager::Client::new(config);
    match client.create_secret().name(id).secret_string(value).send().await {
        Ok(_) => {}
        Err(_) => {
            client.put_secret_value().secret_id(id).secret_string(value).send().await.expect("put secret on moto");
        }
    }
}
