//! IAM's evaluation of identity policies, for the calls the suite records: an explicit `Deny` wins, then any
//! `Allow`, otherwise the implicit deny. Statements match on `Action`/`NotAction` (case-insensitive, `*` and `?`
//! wildcards), `Resource`/`NotResource` (case-sensitive; wildcards do not cross the ARN's first five `:`
//! separators) and `Condition` (every operator and key must hold, any value of a key may match).
//!
//! Only what the stack uses is modelled; anything else (an unknown condition operator, a single-valued operator
//! on a multivalued key) is an error rather than a guess, so the contract test never passes by accident.
//! moto's own IAM enforcement is not used: it checks the operation name (wrong for transactions, which have no
//! action) and ignores `Resource`.

use crate::aws::calls::Access;
use serde_json::Value;

/// A statement of a policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub allow: bool,
    pub actions: Matcher,
    pub resources: Matcher,
    pub conditions: Vec<Condition>,
}

/// A list of patterns, or its complement (`NotAction`, `NotResource`).
#[derive(Debug, Clone, PartialEq)]
pub struct Matcher {
    pub patterns: Vec<String>,
    pub negated: bool,
}

/// One condition operator on one key.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// The outcome for one access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by statement `n` (counting statements across the documents in order).
    Allowed(usize),
    ImplicitDeny,
    ExplicitDeny(usize),
}

/// Every statement of `documents` (policy documents as JSON), in order.
pub fn statements(documents: &[Value]) -> Result<Vec<Statement>, String> {
    let mut out = Vec::new();
    for document in documents {
        let list = match &document["Statement"] {
            Value::Array(list) => list.clone(),
            single @ Value::Object(_) => vec![single.clone()],
            other => return Err(format!("policy without statements: {other}")),
        };
        for s in &list {
            out.push(statement(s)?);
        }
    }
    Ok(out)
}

fn strings(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => {
            items.iter().map(|i| i.as_str().map(str::to_owned).ok_or_else(|| format!("{i} is not a string"))).collect()
        }
        other => Err(format!("{other} is neither a string nor a list")),
    }
}

fn matcher(s: &Value, positive: &str, negative: &str) -> Result<Matcher, String> {
    match (s.get(positive), s.get(negative)) {
        (Some(v), None) => Ok(Matcher { patterns: strings(v)?, negated: false }),
        (None, Some(v)) => Ok(Matcher { patterns: strings(v)?, negated: true }),
        _ => Err(format!("a statement needs exactly one of {positive} and {negative}: {s}")),
    }
}

fn statement(s: &Value) -> Result<Statement, String> {
    let allow = match s["Effect"].as_str() {
        Some("Allow") => true,
        Some("Deny") => false,
        _ => return Err(format!("statement without a valid Effect: {s}")),
    };
    if s.get("Principal").is_some() || s.get("NotPrincipal").is_some() {
        return Err(format!("an identity policy names no principal: {s}"));
    }
    let mut conditions = Vec::new();
    if let Some(block) = s.get("Condition") {
        for (operator, keys) in block.as_object().ok_or("Condition must be an object")? {
            for (key, values) in keys.as_object().ok_or("a condition operator takes an object")? {
                conditions.push(Condition { operator: operator.clone(), key: key.clone(), values: strings(values)? });
            }
        }
    }
    Ok(Statement {
        allow,
        actions: matcher(s, "Action", "NotAction")?,
        resources: matcher(s, "Resource", "NotResource")?,
        conditions,
    })
}

/// `*` matches any run of characters, `?` any one character.
pub fn glob(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let fold = |s: &str| if case_insensitive { s.to_ascii_lowercase() } else { s.to_owned() };
    let (p, t) = (fold(pattern).into_bytes(), fold(text).into_bytes());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// An ARN pattern against an ARN: partition, service, region and account segment by segment, then the resource.
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| glob(p, a, false))
}

impl Matcher {
    fn matches(&self, value: &str, action: bool) -> bool {
        let hit = self.patterns.iter().any(|p| if action { glob(p, value, true) } else { arn_matches(p, value) });
        hit != self.negated
    }
}

impl Condition {
    fn holds(&self, access: &Access) -> Result<bool, String> {
        let (set, rest) = match self.operator.split_once(':') {
            Some((set @ ("ForAllValues" | "ForAnyValue"), rest)) => (Some(set), rest),
            _ => (None, self.operator.as_str()),
        };
        let (operator, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let present = access.context.get(&self.key);
        if operator == "Null" {
            let want_null = self.values.iter().any(|v| v == "true");
            return Ok(present.is_none_or(Vec::is_empty) == want_null);
        }
        let test: fn(&str, &str) -> bool = match operator {
            "StringEquals" => |p, v| p == v,
            "StringNotEquals" => |p, v| p != v,
            "StringEqualsIgnoreCase" => |p, v| p.eq_ignore_ascii_case(v),
            "StringLike" => |p, v| glob(p, v, false),
            "StringNotLike" => |p, v| !glob(p, v, false),
            other => return Err(format!("condition operator {other} is not modelled")),
        };
        let negative = operator.contains("Not");
        // For a negated operator the value must differ from every pattern; otherwise match any pattern.
        let single = |v: &str| {
            if negative { self.values.iter().all(|p| test(p, v)) } else { self.values.iter().any(|p| test(p, v)) }
        };
        let values = match present {
            None => return Ok(if_exists || set == Some("ForAllValues")),
            Some(values) => values,
        };
        Ok(match set {
            // IAM: ForAllValues holds for an empty set of values as well.
            Some("ForAllValues") => values.iter().all(|v| single(v)),
            Some(_) => values.iter().any(|v| single(v)),
            None if values.len() == 1 => single(&values[0]),
            None => {
                return Err(format!("{operator} on multivalued key {} needs ForAllValues or ForAnyValue", self.key));
            }
        })
    }
}

impl Statement {
    fn applies(&self, access: &Access) -> Result<bool, String> {
        if !self.actions.matches(&access.action, true) || !self.resources.matches(&access.resource, false) {
            return Ok(false);
        }
        for condition in &self.conditions {
            if !condition.holds(access)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// IAM's decision on `access` under `statements`.
pub fn evaluate(statements: &[Statement], access: &Access) -> Result<Decision, String> {
    let mut allowed = None;
    for (n, statement) in statements.iter().enumerate() {
        if statement.applies(access)? {
            if !statement.allow {
                return Ok(Decision::ExplicitDeny(n));
            }
            allowed.get_or_insert(n);
        }
    }
    Ok(allowed.map_or(Decision::ImplicitDeny, Decision::Allowed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn access(action: &str, resource: &str, keys: &[&str]) -> Access {
        let mut context = BTreeMap::new();
        if !keys.is_empty() {
            context.insert("dynamodb:LeadingKeys".to_owned(), keys.iter().map(|k| k.to_string()).collect());
        }
        Access { action: action.into(), resource: resource.into(), context }
    }

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/s-Table";

    #[test]
    fn actions_resources_and_the_implicit_deny() {
        let s = statements(&[json!({"Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Put*"], "Resource": TABLE},
        ]})])
        .unwrap();
        assert_eq!(evaluate(&s, &access("dynamodb:GetItem", TABLE, &[])).unwrap(), Decision::Allowed(0));
        assert_eq!(evaluate(&s, &access("DynamoDB:putitem", TABLE, &[])).unwrap(), Decision::Allowed(0));
        assert_eq!(evaluate(&s, &access("dynamodb:BatchGetItem", TABLE, &[])).unwrap(), Decision::ImplicitDeny);
        let other = "arn:aws:dynamodb:us-east-1:123456789012:table/other";
        assert_eq!(evaluate(&s, &access("dynamodb:GetItem", other, &[])).unwrap(), Decision::ImplicitDeny);
        let index = format!("{TABLE}/index/byLogin");
        assert_eq!(evaluate(&s, &access("dynamodb:GetItem", &index, &[])).unwrap(), Decision::ImplicitDeny);
    }

    #[test]
    fn an_explicit_deny_wins() {
        let s = statements(&[
            json!({"Statement": {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}}),
            json!({"Statement": {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE}}),
        ])
        .unwrap();
        assert_eq!(evaluate(&s, &access("dynamodb:DeleteItem", TABLE, &[])).unwrap(), Decision::ExplicitDeny(1));
        assert_eq!(evaluate(&s, &access("dynamodb:GetItem", TABLE, &[])).unwrap(), Decision::Allowed(0));
    }

    #[test]
    fn secret_arns_with_their_random_suffix() {
        let s = statements(&[json!({"Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s/smartme-??????"},
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s/webhook/*"},
        ]})])
        .unwrap();
        let arn = |name: &str| format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}");
        let get = |name: &str| evaluate(&s, &access("secretsmanager:GetSecretValue", &arn(name), &[])).unwrap();
        assert_eq!(get("s/smartme-Ab12Cd"), Decision::Allowed(0));
        assert_eq!(get("s/smartme-extra-Ab12Cd"), Decision::ImplicitDeny, "another secret sharing the prefix");
        assert_eq!(get("s/smartme"), Decision::ImplicitDeny, "an absent secret is not the template's");
        assert_eq!(get("s/webhook/github-Ab12Cd"), Decision::Allowed(1));
        assert_eq!(get("s/smallcase-Ab12Cd"), Decision::ImplicitDeny);
    }

    #[test]
    fn leading_keys_hold_for_every_partition_touched() {
        let s = statements(&[json!({"Statement": {
            "Effect": "Allow", "Action": "dynamodb:BatchWriteItem", "Resource": TABLE,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["METER#*", "READING#*"]}},
        }})])
        .unwrap();
        let write = |keys: &[&str]| evaluate(&s, &access("dynamodb:BatchWriteItem", TABLE, keys)).unwrap();
        assert_eq!(write(&["METER#1", "READING#1"]), Decision::Allowed(0));
        assert_eq!(write(&["METER#1", "USER#u-1"]), Decision::ImplicitDeny, "one foreign partition denies all");
        let single = statements(&[json!({"Statement": {
            "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE,
            "Condition": {"StringLike": {"dynamodb:LeadingKeys": "METER#*"}},
        }})])
        .unwrap();
        assert!(evaluate(&single, &access("dynamodb:GetItem", TABLE, &["A", "B"])).is_err(), "ambiguous, refused");
        let unknown = statements(&[json!({"Statement": {
            "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE,
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        }})])
        .unwrap();
        assert!(evaluate(&unknown, &access("dynamodb:GetItem", TABLE, &[])).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob("a*c", "abbbc", false));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "abbc", false));
        assert!(glob("*", "", false));
        assert!(!glob("A*", "abc", false));
        assert!(glob("A*", "abc", true));
        assert!(!arn_matches("arn:aws:dynamodb:*:123:table/x", "arn:aws:dynamodb:us-east-1:123:table/x/index/i"));
        assert!(arn_matches("arn:aws:dynamodb:*:123:table/x/*", "arn:aws:dynamodb:us-east-1:123:table/x/index/i"));
        assert!(!arn_matches("arn:aws:s*", "arn:aws:sqs:us-east-1:123:q"), "segments are matched separately");
    }
}
