//! Every AWS call the suite makes, as IAM sees it: recorded by a proxy between the SDKs and moto_server
//! (`aws-recorder`, started by `scripts/test`), so the IAM contract test can judge each call against the role
//! of the function that made it.
//!
//! Who made a call is read from its SigV4 credential: each function's clients sign with the access key id
//! [`role_key`] of its function (see [`crate::aws::moto`]), the test harness with [`HARNESS_KEY`]. What IAM authorises
//! is derived from the request the way DynamoDB and Secrets Manager document it: one action per call, except
//! transactions, which have no action of their own and are authorised item by item (`PutItem`, `UpdateItem`,
//! `DeleteItem`, `ConditionCheckItem`, `GetItem`), and batches, authorised once per table. Each access carries the
//! partition keys it touches (the `dynamodb:LeadingKeys` condition key) and, for secrets, the ARN Secrets Manager
//! answered, random suffix included.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// moto's account: every ARN it answers is in it.
pub const ACCOUNT: &str = "123456789012";
/// The access key id the harness signs with (creating tables and secrets, seeding, inspecting): not a function.
pub const HARNESS_KEY: &str = "harness";
/// The variable naming the file `aws-recorder` appends to.
pub const CALLS_FILE_VAR: &str = "SWITCHYARD_AWS_CALLS";

/// The access key id a function's clients sign with in tests: `role-<binary>`.
pub fn role_key(function: &str) -> String {
    format!("role-{function}")
}

/// The function a caller key stands for, if it is a function's.
pub fn function_of(key: &str) -> Option<&str> {
    key.strip_prefix("role-")
}

/// One call as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedCall {
    /// The SigV4 access key id: [`role_key`] or [`HARNESS_KEY`].
    pub caller: String,
    /// `dynamodb` or `secretsmanager`.
    pub service: String,
    /// The API operation (`TransactWriteItems`, `GetSecretValue`, ...).
    pub operation: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The error type answered, if any (`ResourceNotFoundException`, ...).
    #[serde(default)]
    pub error: Option<String>,
    /// Refused by the recorder because the caller's role denies it.
    #[serde(default)]
    pub denied: bool,
    /// What moto answered when the recorder then answered otherwise (a secret read IAM denies).
    #[serde(default)]
    pub upstream_error: Option<String>,
    /// What IAM authorises for this call.
    pub accesses: Vec<Access>,
}

/// One authorisation request: an IAM action on a resource, with its condition keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Access {
    /// `dynamodb:PutItem`, `secretsmanager:GetSecretValue`, ...
    pub action: String,
    pub resource: String,
    /// Condition keys with their values (`dynamodb:LeadingKeys`).
    pub context: BTreeMap<String, Vec<String>>,
}

/// What IAM authorises for a call of `operation` on `service` with request `body`, given moto's `answer`.
pub fn accesses(service: &str, operation: &str, region: &str, body: &Value, answer: &Value) -> Vec<Access> {
    match service {
        "dynamodb" => dynamodb_accesses(operation, region, body),
        "secretsmanager" => {
            let id = body["SecretId"].as_str().or(body["Name"].as_str()).unwrap_or_default();
            let resource = match answer["ARN"].as_str() {
                Some(arn) => arn.to_owned(),
                None if id.starts_with("arn:") => id.to_owned(),
                // An absent secret: IAM judges the name's ARN (a policy naming the exact ARN denies it).
                None => format!("arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{id}"),
            };
            vec![Access { action: format!("secretsmanager:{operation}"), resource, context: BTreeMap::new() }]
        }
        // One access per bus the entries name (the default bus when they name none).
        "events" => {
            let mut buses: Vec<String> = body["Entries"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|entry| {
                    let bus = entry["EventBusName"].as_str().unwrap_or("default");
                    match bus.starts_with("arn:") {
                        true => bus.to_owned(),
                        false => format!("arn:aws:events:{region}:{ACCOUNT}:event-bus/{bus}"),
                    }
                })
                .collect();
            buses.sort();
            buses.dedup();
            let action = format!("events:{operation}");
            buses
                .into_iter()
                .map(|resource| Access { action: action.clone(), resource, context: BTreeMap::new() })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn table_arn(region: &str, table: &str, index: Option<&str>) -> String {
    match index {
        Some(index) => format!("arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}/index/{index}"),
        None => format!("arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}"),
    }
}

fn leading_keys(pks: Vec<String>) -> BTreeMap<String, Vec<String>> {
    let mut pks = pks;
    pks.sort();
    pks.dedup();
    BTreeMap::from([("dynamodb:LeadingKeys".to_owned(), pks)])
}

/// The partition key value of a key or item (`{"pk": {"S": ...}}`).
fn pk_of(key: &Value) -> Vec<String> {
    key["pk"]["S"].as_str().map(|pk| vec![pk.to_owned()]).unwrap_or_default()
}

fn dynamodb_accesses(operation: &str, region: &str, body: &Value) -> Vec<Access> {
    let table = body["TableName"].as_str().unwrap_or_default();
    let one = |action: &str, table: &str, index: Option<&str>, pks: Vec<String>| Access {
        action: format!("dynamodb:{action}"),
        resource: table_arn(region, table, index),
        context: leading_keys(pks),
    };
    match operation {
        "GetItem" | "UpdateItem" | "DeleteItem" => vec![one(operation, table, None, pk_of(&body["Key"]))],
        "PutItem" => vec![one(operation, table, None, pk_of(&body["Item"]))],
        "Query" => vec![one(operation, table, body["IndexName"].as_str(), query_partition(body))],
        "BatchGetItem" => per_table(body, |table, request| {
            let pks = request["Keys"].as_array().into_iter().flatten().flat_map(pk_of).collect();
            one(operation, table, None, pks)
        }),
        "BatchWriteItem" => per_table(body, |table, requests| {
            let pks = requests
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| pk_of(&r["PutRequest"]["Item"]).into_iter().chain(pk_of(&r["DeleteRequest"]["Key"])))
                .collect();
            one(operation, table, None, pks)
        }),
        // No IAM action of their own: each item is authorised by its own action.
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let (kind, inner) = item.as_object()?.iter().next()?;
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    "Get" => "GetItem",
                    _ => return None,
                };
                let key = if kind == "Put" { &inner["Item"] } else { &inner["Key"] };
                Some(one(action, inner["TableName"].as_str().unwrap_or_default(), None, pk_of(key)))
            })
            .collect(),
        // Table-level operations (the harness's): no keys.
        _ => vec![one(operation, table, None, Vec::new())],
    }
}

fn per_table(body: &Value, access: impl Fn(&str, &Value) -> Access) -> Vec<Access> {
    body["RequestItems"].as_object().into_iter().flatten().map(|(table, request)| access(table, request)).collect()
}

/// The partition key value a Query's key condition names (`#n = :v`, attribute names and values resolved).
fn query_partition(body: &Value) -> Vec<String> {
    let condition = body["KeyConditionExpression"].as_str().unwrap_or_default();
    let name = |token: &str| -> String {
        body["ExpressionAttributeNames"][token].as_str().map(str::to_owned).unwrap_or_else(|| token.to_owned())
    };
    condition
        .split(" AND ")
        .filter_map(|part| {
            let (left, right) = part.split_once('=')?;
            (name(left.trim().trim_start_matches('(')) == "pk")
                .then(|| body["ExpressionAttributeValues"][right.trim().trim_end_matches(')')]["S"].as_str())
                .flatten()
                .map(str::to_owned)
        })
        .collect()
}

/// The access key id and region of a SigV4 `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...`).
pub fn credential(authorization: &str) -> Option<(String, String)> {
    let scope = authorization.split("Credential=").nth(1)?.split(',').next()?;
    let mut parts = scope.split('/');
    let key = parts.next()?.to_owned();
    let region = parts.nth(1)?.to_owned();
    Some((key, region))
}

/// The service and operation of an AWS JSON-protocol request (`x-amz-target: DynamoDB_20120810.PutItem`).
pub fn operation(target: &str) -> Option<(&'static str, &str)> {
    let (prefix, operation) = target.split_once('.')?;
    let service = match prefix {
        p if p.starts_with("DynamoDB_") => "dynamodb",
        "secretsmanager" => "secretsmanager",
        "AWSEvents" => "events",
        _ => return None,
    };
    Some((service, operation))
}

/// Every call recorded in `path` (one JSON object a line); none when the file does not exist.
pub fn load(path: &Path) -> Vec<RecordedCall> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: bad line {l}: {e}", path.display())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transactions_are_authorised_item_by_item() {
        let body = json!({"TransactItems": [
            {"Put": {"TableName": "s-Table", "Item": {"pk": {"S": "A#1"}, "sk": {"S": "x"}}}},
            {"Update": {"TableName": "s-Table", "Key": {"pk": {"S": "B#2"}, "sk": {"S": "y"}}}},
            {"ConditionCheck": {"TableName": "s-Table", "Key": {"pk": {"S": "C#3"}, "sk": {"S": "z"}}}},
            {"Delete": {"TableName": "s-Table", "Key": {"pk": {"S": "D#4"}, "sk": {"S": "w"}}}},
        ]});
        let got = accesses("dynamodb", "TransactWriteItems", "us-east-1", &body, &Value::Null);
        let actions: Vec<_> = got.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(
            actions,
            ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem"]
        );
        assert_eq!(got[1].context["dynamodb:LeadingKeys"], ["B#2"]);
        assert_eq!(got[0].resource, "arn:aws:dynamodb:us-east-1:123456789012:table/s-Table");
    }

    #[test]
    fn batches_are_authorised_per_table_with_every_partition() {
        let body = json!({"RequestItems": {"s-Table": [
            {"PutRequest": {"Item": {"pk": {"S": "M#2"}}}}, {"PutRequest": {"Item": {"pk": {"S": "M#1"}}}},
            {"DeleteRequest": {"Key": {"pk": {"S": "M#2"}}}},
        ]}});
        let got = accesses("dynamodb", "BatchWriteItem", "us-east-1", &body, &Value::Null);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].context["dynamodb:LeadingKeys"], ["M#1", "M#2"]);
        let body = json!({"RequestItems": {"s-Table": {"Keys": [{"pk": {"S": "L#1"}, "sk": {"S": "a"}}]}}});
        let got = accesses("dynamodb", "BatchGetItem", "eu-west-1", &body, &Value::Null);
        assert_eq!(got[0].action, "dynamodb:BatchGetItem");
        assert_eq!(got[0].resource, "arn:aws:dynamodb:eu-west-1:123456789012:table/s-Table");
    }

    #[test]
    fn queries_name_their_partition_through_placeholders() {
        let body = json!({
            "TableName": "s-Table", "KeyConditionExpression": "#n0 = :v0 AND begins_with(#n1, :v1)",
            "ExpressionAttributeNames": {"#n0": "pk", "#n1": "sk"},
            "ExpressionAttributeValues": {":v0": {"S": "USER#u-1"}, ":v1": {"S": "LINK#"}},
        });
        let got = accesses("dynamodb", "Query", "us-east-1", &body, &Value::Null);
        assert_eq!(got[0].context["dynamodb:LeadingKeys"], ["USER#u-1"]);
    }

    #[test]
    fn secrets_are_judged_by_the_arn_answered_or_the_name_when_absent() {
        let body = json!({"SecretId": "s/smartme"});
        let answer = json!({"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s/smartme-AbC123"});
        assert_eq!(
            accesses("secretsmanager", "GetSecretValue", "us-east-1", &body, &answer)[0].resource,
            answer["ARN"]
        );
        let absent = accesses("secretsmanager", "GetSecretValue", "us-east-1", &body, &Value::Null);
        assert_eq!(absent[0].resource, "arn:aws:secretsmanager:us-east-1:123456789012:secret:s/smartme");
    }

    #[test]
    fn credentials_and_targets_are_parsed() {
        let header = "AWS4-HMAC-SHA256 Credential=role-ingest/20261130/us-east-1/dynamodb/aws4_request, \
                      SignedHeaders=host, Signature=00";
        assert_eq!(credential(header), Some(("role-ingest".into(), "us-east-1".into())));
        assert_eq!(operation("DynamoDB_20120810.BatchGetItem"), Some(("dynamodb", "BatchGetItem")));
        assert_eq!(operation("secretsmanager.GetSecretValue"), Some(("secretsmanager", "GetSecretValue")));
        assert_eq!(function_of(&role_key("user")), Some("user"));
        assert_eq!(function_of(HARNESS_KEY), None);
    }
}
