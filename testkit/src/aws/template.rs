//! The stack as CloudFormation would create it: `template.yaml` translated by AWS's SAM translator for each
//! `samconfig.toml` environment (`scripts/lib/translate_template.py`, run by `scripts/test`, writes
//! `target/sam/<environment>.json`), with its intrinsic functions resolved for one test stack on moto.
//!
//! Tests take each function's environment, role policies and logging configuration from here, never from a
//! hand-written copy: a variable, grant or log level changed in the template is what the tests then run with.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The partition and URL suffix of the commercial regions (moto's).
const PARTITION: &str = "aws";
const URL_SUFFIX: &str = "amazonaws.com";

/// One environment's translated template.
#[derive(Debug, Clone)]
pub struct Translated {
    pub environment: String,
    pub parameters: BTreeMap<String, String>,
    pub template: Value,
}

fn translated_dir() -> PathBuf {
    crate::workspace_root().join("target").join("sam")
}

impl Translated {
    /// The environment `name` (`default`, `prod`: the tables of `samconfig.toml`).
    pub fn load(name: &str) -> Self {
        let path = translated_dir().join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}. Run the tests with scripts/test, which translates template.yaml with the SAM translator \
                 (or run `.venv/bin/python scripts/lib/translate_template.py`)",
                path.display()
            )
        });
        let document: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let parameters = document["parameters"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), scalar(v).unwrap_or_default()))
            .collect();
        Self { environment: name.to_owned(), parameters, template: document["template"].clone() }
    }

    /// Every environment `samconfig.toml` defines, as translated.
    pub fn environments() -> Vec<Self> {
        let samconfig = std::fs::read_to_string(crate::workspace_root().join("samconfig.toml")).expect("samconfig");
        let mut names: Vec<String> = samconfig
            .lines()
            .filter_map(|l| l.trim().strip_prefix('[')?.split('.').next().map(str::to_owned))
            .collect();
        names.sort();
        names.dedup();
        assert!(!names.is_empty(), "samconfig.toml defines no environment");
        names.iter().map(|n| Self::load(n)).collect()
    }

    pub fn resources(&self) -> &Map<String, Value> {
        self.template["Resources"].as_object().expect("translated template has Resources")
    }

    /// The logical ids of the Lambda functions.
    pub fn function_ids(&self) -> Vec<String> {
        self.resources().iter().filter(|(_, r)| r["Type"] == "AWS::Lambda::Function").map(|(k, _)| k.clone()).collect()
    }
}

/// A string, number or boolean as CloudFormation passes it on (a string).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The physical names one test stack on moto gives the template's resources.
#[derive(Debug, Clone)]
pub struct Binding {
    /// `AWS::StackName` (secrets live under `<stack>/`).
    pub stack: String,
    /// The table's physical name.
    pub table: String,
    pub region: String,
    /// Parameter values that replace the environment's (as `sam deploy --parameter-overrides` would).
    pub overrides: BTreeMap<String, String>,
}

impl Binding {
    /// The test stack `stack`, its table named `<stack>-Table`, in moto's region.
    pub fn new(stack: &str) -> Self {
        Self {
            stack: stack.to_owned(),
            table: format!("{stack}-Table"),
            region: "us-east-1".to_owned(),
            overrides: BTreeMap::new(),
        }
    }

    pub fn with_parameter(mut self, name: &str, value: &str) -> Self {
        self.overrides.insert(name.to_owned(), value.to_owned());
        self
    }

    /// The stack a test table or secret belongs to, by the naming [`Binding::new`] uses.
    pub fn stack_of_table(table: &str) -> Option<&str> {
        table.strip_suffix("-Table")
    }

    /// The test stack's event bus (for environments whose `EventBusName` is set).
    pub fn bus(&self) -> String {
        format!("{}-bus", self.stack)
    }

    /// The stack an event bus belongs to, by the naming [`Binding::bus`] uses.
    pub fn stack_of_bus(bus: &str) -> Option<&str> {
        bus.strip_suffix("-bus")
    }
}

/// A function as the translated, resolved template configures it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// The binary (`FunctionName` is `<stack>-<binary>`).
    pub binary: String,
    pub environment: BTreeMap<String, String>,
    /// The role's inline policy documents.
    pub policies: Vec<Value>,
    /// The role's managed policy ARNs.
    pub managed_policies: Vec<String>,
    /// `LoggingConfig`: `LogFormat`, `ApplicationLogLevel`, `SystemLogLevel`.
    pub log_format: Option<String>,
    pub application_log_level: Option<String>,
    pub memory_mb: u64,
    pub timeout_s: u64,
}

impl FunctionSpec {
    /// The environment as `(name, value)` pairs for a process.
    pub fn env_pairs(&self) -> Vec<(String, String)> {
        self.environment.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// Resolves intrinsic functions of one translated template for one test stack.
pub struct Resolver<'a> {
    pub translated: &'a Translated,
    pub binding: &'a Binding,
}

impl<'a> Resolver<'a> {
    pub fn new(translated: &'a Translated, binding: &'a Binding) -> Self {
        Self { translated, binding }
    }

    /// Every function of the stack (those whose condition holds: the others are not created).
    pub fn functions(&self) -> Vec<FunctionSpec> {
        let created = |id: &&String| {
            let condition = self.translated.resources()[id.as_str()]["Condition"].as_str();
            condition.is_none_or(|c| self.condition(c).unwrap_or_else(|e| panic!("{id}: {e}")))
        };
        self.translated.function_ids().iter().filter(created).map(|id| self.function(id)).collect()
    }

    /// The function whose binary is `binary`.
    pub fn function_named(&self, binary: &str) -> FunctionSpec {
        self.functions()
            .into_iter()
            .find(|f| f.binary == binary)
            .unwrap_or_else(|| panic!("the translated template has no function for binary {binary}"))
    }

    /// The function with logical id `id`.
    pub fn function(&self, id: &str) -> FunctionSpec {
        let resources = self.translated.resources();
        let properties = &resources[id]["Properties"];
        let resolved = |v: &Value| self.resolve(v).unwrap_or_else(|e| panic!("{id}: {e}"));
        let name = resolved(&properties["FunctionName"]).and_then(|v| scalar(&v)).unwrap_or_default();
        let binary = name.strip_prefix(&format!("{}-", self.binding.stack)).unwrap_or(&name).to_owned();
        let environment = match resolved(&properties["Environment"]["Variables"]) {
            Some(Value::Object(vars)) => vars.iter().map(|(k, v)| (k.clone(), scalar(v).unwrap_or_default())).collect(),
            _ => BTreeMap::new(),
        };
        let role_id = properties["Role"]["Fn::GetAtt"][0].as_str().unwrap_or_default();
        let role = &resources[role_id]["Properties"];
        let policies =
            role["Policies"].as_array().into_iter().flatten().filter_map(|p| resolved(&p["PolicyDocument"])).collect();
        let managed_policies = match resolved(&role["ManagedPolicyArns"]) {
            Some(Value::Array(arns)) => arns.iter().filter_map(scalar).collect(),
            _ => Vec::new(),
        };
        let logging = resolved(&properties["LoggingConfig"]).unwrap_or(Value::Null);
        let number = |v: &Value, default| resolved(v).and_then(|v| scalar(&v)?.parse().ok()).unwrap_or(default);
        FunctionSpec {
            logical_id: id.to_owned(),
            binary,
            environment,
            policies,
            managed_policies,
            log_format: logging["LogFormat"].as_str().map(str::to_owned),
            application_log_level: logging["ApplicationLogLevel"].as_str().map(str::to_owned),
            // Lambda's defaults when the template sets none.
            memory_mb: number(&properties["MemorySize"], 128),
            timeout_s: number(&properties["Timeout"], 3),
        }
    }

    fn parameter(&self, name: &str) -> Option<String> {
        let b = self.binding;
        match name {
            "AWS::StackName" => Some(b.stack.clone()),
            "AWS::Region" => Some(b.region.clone()),
            "AWS::AccountId" => Some(crate::aws::calls::ACCOUNT.to_owned()),
            "AWS::Partition" => Some(PARTITION.to_owned()),
            "AWS::URLSuffix" => Some(URL_SUFFIX.to_owned()),
            // Each test stack has its own bus where the environment names one (see `Binding::bus`).
            "EventBusName" if !b.overrides.contains_key(name) => {
                self.translated.parameters.get(name).map(|n| if n.is_empty() { String::new() } else { b.bus() })
            }
            _ => b.overrides.get(name).or_else(|| self.translated.parameters.get(name)).cloned(),
        }
    }

    /// `Ref` of a resource: its physical id in the test stack.
    fn reference(&self, name: &str) -> Result<String, String> {
        if let Some(value) = self.parameter(name) {
            return Ok(value);
        }
        let resource = self.translated.resources().get(name).ok_or_else(|| format!("Ref to unknown {name}"))?;
        let b = self.binding;
        match resource["Type"].as_str().unwrap_or_default() {
            "AWS::DynamoDB::Table" => Ok(b.table.clone()),
            // Secrets Manager appends six random characters to the name in the ARN that Ref returns.
            "AWS::SecretsManager::Secret" => {
                let secret_name = self.string(&resource["Properties"]["Name"])?;
                Ok(format!(
                    "arn:{PARTITION}:secretsmanager:{}:{}:secret:{secret_name}-??????",
                    b.region,
                    crate::aws::calls::ACCOUNT
                ))
            }
            "AWS::Logs::LogGroup" => self.string(&resource["Properties"]["LogGroupName"]),
            "AWS::Lambda::Function" if resource["Properties"].get("FunctionName").is_some() => {
                self.string(&resource["Properties"]["FunctionName"])
            }
            _ => Ok(format!("{}-{name}", b.stack)),
        }
    }

    fn attribute(&self, name: &str, attribute: &str) -> Result<String, String> {
        let resource = self.translated.resources().get(name).ok_or_else(|| format!("GetAtt of unknown {name}"))?;
        let (b, account) = (self.binding, crate::aws::calls::ACCOUNT);
        match (resource["Type"].as_str().unwrap_or_default(), attribute) {
            ("AWS::DynamoDB::Table", "Arn") => {
                Ok(format!("arn:{PARTITION}:dynamodb:{}:{account}:table/{}", b.region, b.table))
            }
            ("AWS::DynamoDB::Table", "StreamArn") => {
                Ok(format!("arn:{PARTITION}:dynamodb:{}:{account}:table/{}/stream/*", b.region, b.table))
            }
            ("AWS::SQS::Queue", "Arn") => Ok(format!("arn:{PARTITION}:sqs:{}:{account}:{}-{name}", b.region, b.stack)),
            ("AWS::SQS::Queue", "QueueName") => Ok(format!("{}-{name}", b.stack)),
            ("AWS::IAM::Role", "Arn") => Ok(format!("arn:{PARTITION}:iam::{account}:role/{}-{name}", b.stack)),
            ("AWS::Logs::LogGroup", "Arn") => {
                let group = self.reference(name)?;
                Ok(format!("arn:{PARTITION}:logs:{}:{account}:log-group:{group}:*", b.region))
            }
            (kind, attribute) => Err(format!("GetAtt {name}.{attribute} of a {kind} is not modelled")),
        }
    }

    fn string(&self, value: &Value) -> Result<String, String> {
        self.resolve(value)?.as_ref().and_then(scalar).ok_or_else(|| format!("{value} is not a string"))
    }

    /// Whether condition `name` of the template holds.
    pub fn condition(&self, name: &str) -> Result<bool, String> {
        let definition = &self.translated.template["Conditions"][name];
        if definition.is_null() {
            return Err(format!("unknown condition {name}"));
        }
        self.truth(definition)
    }

    fn truth(&self, value: &Value) -> Result<bool, String> {
        let (function, args) = single(value).ok_or_else(|| format!("{value} is not a condition"))?;
        let list = || args.as_array().cloned().unwrap_or_default();
        match function {
            "Fn::Equals" => {
                let items = list();
                let side = |i: usize| self.resolve(&items[i]).map(|v| v.as_ref().and_then(scalar));
                Ok(items.len() == 2 && side(0)? == side(1)?)
            }
            "Fn::Not" => Ok(!self.truth(&list()[0])?),
            "Fn::And" => list().iter().try_fold(true, |acc, c| Ok(acc && self.truth(c)?)),
            "Fn::Or" => list().iter().try_fold(false, |acc, c| Ok(acc || self.truth(c)?)),
            "Condition" => self.condition(args.as_str().unwrap_or_default()),
            other => Err(format!("condition function {other} is not modelled")),
        }
    }

    /// `value` with every intrinsic function resolved; `None` for `AWS::NoValue`.
    pub fn resolve(&self, value: &Value) -> Result<Option<Value>, String> {
        if let Some((function, args)) = single(value) {
            match function {
                "Ref" if args == "AWS::NoValue" => return Ok(None),
                "Ref" => return self.reference(args.as_str().unwrap_or_default()).map(|s| Some(json!(s))),
                "Fn::GetAtt" => {
                    let (name, attribute) = match args {
                        Value::Array(parts) => {
                            (parts[0].as_str().unwrap_or_default(), parts[1].as_str().unwrap_or_default())
                        }
                        Value::String(dotted) => dotted.split_once('.').unwrap_or((dotted, "")),
                        _ => return Err(format!("bad GetAtt {args}")),
                    };
                    return self.attribute(name, attribute).map(|s| Some(json!(s)));
                }
                "Fn::Sub" => return self.substitute(args).map(|s| Some(json!(s))),
                "Fn::If" => {
                    let parts = args.as_array().ok_or("bad Fn::If")?;
                    let chosen =
                        if self.condition(parts[0].as_str().unwrap_or_default())? { &parts[1] } else { &parts[2] };
                    return self.resolve(chosen);
                }
                "Fn::Join" => {
                    let parts = args.as_array().ok_or("bad Fn::Join")?;
                    let separator = parts[0].as_str().unwrap_or_default();
                    let items = match self.resolve(&parts[1])? {
                        Some(Value::Array(items)) => items,
                        _ => return Err("Fn::Join of a non-list".into()),
                    };
                    let strings: Vec<String> = items.iter().filter_map(scalar).collect();
                    return Ok(Some(json!(strings.join(separator))));
                }
                _ => {}
            }
        }
        Ok(Some(match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    if let Some(v) = self.resolve(v)? {
                        out.insert(k.clone(), v);
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    out.extend(self.resolve(item)?);
                }
                Value::Array(out)
            }
            other => other.clone(),
        }))
    }

    /// `Fn::Sub`, in its string and its `[string, {variables}]` forms.
    fn substitute(&self, args: &Value) -> Result<String, String> {
        let (text, variables) = match args {
            Value::String(text) => (text.as_str(), Map::new()),
            Value::Array(parts) => (
                parts[0].as_str().unwrap_or_default(),
                parts.get(1).and_then(Value::as_object).cloned().unwrap_or_default(),
            ),
            _ => return Err(format!("bad Fn::Sub {args}")),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').ok_or("unclosed ${ in Fn::Sub")? + start;
            let name = &rest[start + 2..end];
            let value = match variables.get(name) {
                Some(v) => self.string(v)?,
                None => match name.split_once('.') {
                    Some((resource, attribute)) if !name.starts_with("AWS::") => self.attribute(resource, attribute)?,
                    _ => self.reference(name)?,
                },
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The one key and value of an intrinsic function object.
fn single(value: &Value) -> Option<(&str, &Value)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let (key, args) = map.iter().next()?;
    (key == "Ref" || key == "Condition" || key.starts_with("Fn::")).then_some((key.as_str(), args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translated() -> Translated {
        Translated {
            environment: "t".into(),
            parameters: BTreeMap::from([("Level".into(), "WARN".into()), ("Url".into(), "".into())]),
            template: json!({
                "Conditions": {"HasUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Url"}, ""]}]}},
                "Resources": {
                    "Table": {"Type": "AWS::DynamoDB::Table"},
                    "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}/s"}}},
                }
            }),
        }
    }

    #[test]
    fn intrinsics_resolve_for_a_test_stack() {
        let t = translated();
        let binding = Binding::new("st");
        let r = Resolver::new(&t, &binding);
        let value = json!({
            "table": {"Ref": "Table"}, "arn": {"Fn::GetAtt": ["Table", "Arn"]}, "secret": {"Ref": "Secret"},
            "sub": {"Fn::Sub": ["${AWS::StackName}/${X}:${Level}", {"X": "x"}]},
            "url": {"Fn::If": ["HasUrl", {"Ref": "Url"}, {"Ref": "AWS::NoValue"}]},
            "level": {"Fn::If": ["HasUrl", "a", {"Ref": "Level"}]},
        });
        let resolved = r.resolve(&value).unwrap().unwrap();
        assert_eq!(resolved["table"], "st-Table");
        assert_eq!(resolved["arn"], "arn:aws:dynamodb:us-east-1:123456789012:table/st-Table");
        assert_eq!(resolved["secret"], "arn:aws:secretsmanager:us-east-1:123456789012:secret:st/s-??????");
        assert_eq!(resolved["sub"], "st/x:WARN");
        assert!(resolved.get("url").is_none(), "AWS::NoValue removes the key");
        assert_eq!(resolved["level"], "WARN");
        let overridden = Binding::new("st").with_parameter("Url", "https://x");
        let r = Resolver::new(&t, &overridden);
        assert_eq!(r.resolve(&value).unwrap().unwrap()["url"], "https://x");
        assert!(r.resolve(&json!({"Fn::GetAtt": ["Nope", "Arn"]})).is_err());
    }
}
