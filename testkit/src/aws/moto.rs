//! The `moto_server` that `scripts/test` starts on a loopback port and names in `MOTO_ENDPOINT`.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
};
use shared::ports::store::dynamo::DynamoStore;

/// The moto_server endpoint. Tests that need it fail with instructions when it is not set: they are never
/// silently skipped.
pub fn endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the tests with scripts/test, which starts moto_server for them")
    })
}

/// The function whose crate's tests are running (`switchyard-<function>`): its clients sign as its role, so the
/// IAM contract test judges what they do against that function's policy.
pub fn function_under_test() -> String {
    let package = std::env::var("CARGO_PKG_NAME").unwrap_or_default();
    package
        .strip_prefix("switchyard-")
        .filter(|f| !f.is_empty() && *f != "fuzz")
        .unwrap_or_else(|| panic!("a function's ports are built in a function crate's tests, not in {package:?}"))
        .to_owned()
}

/// The key the current test's AWS clients sign with: the role of the function under test in a function crate,
/// the harness elsewhere (the shared library's and the CLI's own tests act as an operator would).
pub fn caller_key() -> String {
    let package = std::env::var("CARGO_PKG_NAME").unwrap_or_default();
    if package.starts_with("switchyard-") && package != "switchyard-fuzz" {
        crate::aws::calls::role_key(&function_under_test())
    } else {
        crate::aws::calls::HARNESS_KEY.to_owned()
    }
}

/// The environment a process needs to talk to moto as the harness (an operator's CLI, set-up).
pub fn aws_env() -> Vec<(String, String)> {
    aws_env_as(crate::aws::calls::HARNESS_KEY)
}

/// The environment a process needs to talk to moto, signing with access key id `key` (see [`crate::aws::calls`]).
pub fn aws_env_as(key: &str) -> Vec<(String, String)> {
    let endpoint = endpoint();
    [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", key),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// SDK configuration pointing at moto as the harness, with the same timeouts the functions use.
pub async fn sdk_config() -> SdkConfig {
    sdk_config_as(crate::aws::calls::HARNESS_KEY).await
}

/// SDK configuration pointing at moto, signing with access key id `key`.
pub async fn sdk_config_as(key: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(key, "testing", None, None, "moto"))
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

/// A store on a fresh table of its own (a test stack's `<stack>-Table`), as the harness.
pub async fn fresh_store() -> (DynamoStore, SdkConfig) {
    let config = sdk_config().await;
    let table = crate::aws::template::Binding::new(&crate::unique_name("stack")).table;
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
