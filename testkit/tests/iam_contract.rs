//! The IAM contract: every AWS call a function made anywhere in the suite (recorded by `aws-recorder` between the
//! SDKs and moto) is allowed by that function's role as the SAM translator makes it from `template.yaml`, in every
//! `samconfig.toml` environment; and every action and resource a role grants is used by some call (least
//! privilege). moto enforces no IAM, so without this a deployed function can be denied what every test does.
//!
//! While the suite runs, `aws-recorder` already refuses denied calls as AWS would (tests then fail where a
//! function needs more than its role). This test judges the whole record once more in every environment, and
//! checks the other half: no grant that no call uses.
//!
//! Run by `scripts/test` after the whole suite (`--ignored`), with `SWITCHYARD_AWS_CALLS` naming the record.

use std::collections::{BTreeMap, BTreeSet};
use testkit::aws::calls::{self as aws_calls, Access, RecordedCall};
use testkit::aws::iam::{self, Decision, Statement};
use testkit::aws::roles::{Role, Roles, stack_of_call};
use testkit::aws::template::{Binding, Resolver, Translated};

/// Fewer recorded function calls than this means the suite did not run through the recorder.
const MIN_FUNCTION_CALLS: usize = 1_000;

/// Managed policies SAM attaches: logs (every function), and reading the table's stream (`notify`'s event source
/// mapping: Lambda polls the stream with the function's role; the item data it delivers is filtered to meters'
/// latest states and owners before the code sees it).
const KNOWN_MANAGED: [&str; 3] = [
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
    // With Tracing=Active: X-Ray's write-only actions (segments, sampling rules), used by Lambda's tracing
    // integration on the function's behalf; our code calls no X-Ray API.
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
];

/// Actions Lambda performs with a function's role on its behalf, never our code: sending a stream batch that
/// failed every retry to its on-failure destination. Not judged by use.
const PLATFORM_ACTIONS: [&str; 1] = ["sqs:SendMessage"];

/// One grant: an action or resource pattern of an Allow statement.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Grant {
    Action(usize, String),
    Resource(usize, String),
    /// A value of a condition (`dynamodb:LeadingKeys` patterns): each partition pattern must be used too.
    ConditionValue(usize, String, String),
}

fn grants(role: &Role, stack: &str) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for (n, s) in role.statements.iter().enumerate().filter(|(_, s)| s.allow) {
        out.extend(s.actions.patterns.iter().map(|a| Grant::Action(n, a.clone())));
        out.extend(s.resources.patterns.iter().map(|r| Grant::Resource(n, unstacked(r, stack))));
        for c in &s.conditions {
            out.extend(c.values.iter().map(|v| Grant::ConditionValue(n, c.key.clone(), v.clone())));
        }
    }
    out
}

/// A pattern with its stack's name written as the template writes it, so grants of different test stacks compare.
fn unstacked(pattern: &str, stack: &str) -> String {
    pattern.replace(stack, "${AWS::StackName}")
}

/// The grants of statement `n` (of a role resolved for `stack`) that `access` used.
fn used_by(statement: &Statement, n: usize, access: &Access, stack: &str) -> Vec<Grant> {
    let actions = statement.actions.patterns.iter().filter(|p| iam::glob(p, &access.action, true));
    let resources = statement.resources.patterns.iter().filter(|p| iam::arn_matches(p, &access.resource));
    let values = statement.conditions.iter().flat_map(|c| {
        let seen = access.context.get(&c.key).cloned().unwrap_or_default();
        c.values
            .iter()
            .filter(move |p| seen.iter().any(|v| iam::glob(p, v, false)))
            .map(|p| Grant::ConditionValue(n, c.key.clone(), p.clone()))
    });
    actions
        .map(|a| Grant::Action(n, a.clone()))
        .chain(resources.map(|r| Grant::Resource(n, unstacked(r, stack))))
        .chain(values)
        .collect()
}

/// A read of a secret the role does grant, but which the test stack lacks (as if an operator had deleted it):
/// IAM judges the name's ARN, which lacks the random suffix the grant names, so AWS answers AccessDenied where
/// moto answered ResourceNotFound; the recorder answered as AWS does, and the test saw that. Not a missing grant.
fn absent_template_secret(statements: &[Statement], call: &RecordedCall, access: &Access) -> bool {
    if call.service != "secretsmanager" || call.upstream_error.as_deref() != Some("ResourceNotFoundException") {
        return false;
    }
    let with_suffix = Access { resource: format!("{}-AbCdEf", access.resource), ..access.clone() };
    matches!(iam::evaluate(statements, &with_suffix), Ok(Decision::Allowed(_)))
}

fn describe(grant: &Grant) -> String {
    match grant {
        Grant::Action(n, a) => format!("statement {n}: action {a}"),
        Grant::Resource(n, r) => format!("statement {n}: resource {r}"),
        Grant::ConditionValue(n, key, value) => format!("statement {n}: {key} {value}"),
    }
}

const PROBE_STACK: &str = "iam-probe-stack";

#[test]
#[ignore = "run by scripts/test after the suite, over the AWS calls it recorded"]
fn every_call_is_allowed_by_its_role_and_every_grant_is_used() {
    let path = std::env::var_os(aws_calls::CALLS_FILE_VAR)
        .unwrap_or_else(|| panic!("{} is not set: run scripts/test", aws_calls::CALLS_FILE_VAR));
    let calls: Vec<RecordedCall> = aws_calls::load(std::path::Path::new(&path));
    let mut problems = Vec::new();
    let function_calls: Vec<&RecordedCall> = calls.iter().filter(|c| c.caller != aws_calls::HARNESS_KEY).collect();
    assert!(
        function_calls.len() >= MIN_FUNCTION_CALLS,
        "only {} function calls recorded: did the suite run through aws-recorder?",
        function_calls.len()
    );
    let roles = Roles::new(Translated::environments());
    for translated in roles.environments() {
        let env = &translated.environment;
        let mut absent_secrets = 0;
        let mut used: BTreeMap<String, BTreeSet<Grant>> = BTreeMap::new();
        let mut figures: BTreeMap<String, (usize, BTreeSet<String>)> = BTreeMap::new();
        for call in &function_calls {
            let Some(function) = aws_calls::function_of(&call.caller) else {
                problems.push(format!("a call signed by unknown key {:?}: {call:?}", call.caller));
                continue;
            };
            let stack = match stack_of_call(call) {
                Ok(stack) => stack,
                Err(reason) => {
                    problems.push(format!("[{env}] {function}: {reason}: {call:?}"));
                    continue;
                }
            };
            let Some(role) = roles.role(translated, &stack, function) else { continue };
            let entry = figures.entry(function.to_owned()).or_default();
            entry.0 += 1;
            for access in &call.accesses {
                entry.1.insert(access.action.clone());
                match iam::evaluate(&role.statements, access) {
                    Ok(Decision::Allowed(n)) => {
                        let grants = used_by(&role.statements[n], n, access, &stack);
                        used.entry(function.to_owned()).or_default().extend(grants);
                    }
                    Ok(_) if absent_template_secret(&role.statements, call, access) => absent_secrets += 1,
                    Ok(denied) => problems.push(format!(
                        "[{env}] {function} is denied ({denied:?}) {} on {} (LeadingKeys {:?}) in {}",
                        access.action,
                        access.resource,
                        access.context.get("dynamodb:LeadingKeys").cloned().unwrap_or_default(),
                        call.operation
                    )),
                    Err(e) => problems.push(format!("[{env}] {function}: cannot evaluate {access:?}: {e}")),
                }
            }
        }
        // Least privilege, judged on each function's role in a stack of its own.
        let probe = Binding::new(PROBE_STACK);
        for spec in Resolver::new(translated, &probe).functions() {
            let role = Role::resolve(translated, PROBE_STACK, &spec.binary);
            for managed in &role.spec.managed_policies {
                if !KNOWN_MANAGED.contains(&managed.as_str()) {
                    problems
                        .push(format!("[{env}] {}: managed policy {managed} is not known to be harmless", spec.binary));
                }
            }
            for statement in role.statements.iter().filter(|s| s.allow) {
                if statement.actions.negated || statement.resources.negated {
                    problems.push(format!("[{env}] {}: NotAction/NotResource grants too much", spec.binary));
                }
                for pattern in statement.actions.patterns.iter().chain(&statement.resources.patterns) {
                    if pattern.ends_with(":*") || pattern == "*" {
                        problems.push(format!("[{env}] {}: wildcard grant {pattern}", spec.binary));
                    }
                }
            }
            let used_here = used.get(&spec.binary).cloned().unwrap_or_default();
            let platform: BTreeSet<usize> = role
                .statements
                .iter()
                .enumerate()
                .filter(|(_, s)| s.actions.patterns.iter().all(|a| PLATFORM_ACTIONS.contains(&a.as_str())))
                .map(|(n, _)| n)
                .collect();
            let judged = grants(&role, PROBE_STACK).into_iter().filter(|g| match g {
                Grant::Action(n, _) | Grant::Resource(n, _) | Grant::ConditionValue(n, _, _) => !platform.contains(n),
            });
            for grant in judged.filter(|g| !used_here.contains(g)) {
                problems.push(format!(
                    "[{env}] {} ({}) grants what no call uses: {}",
                    spec.binary,
                    spec.logical_id,
                    describe(&grant)
                ));
            }
        }
        println!(
            "IAM contract [{env}]: {} calls by functions, {} by the harness; {absent_secrets} reads of a deleted \
             template secret refused as AWS refuses them",
            function_calls.len(),
            calls.len() - function_calls.len()
        );
        for (function, (count, actions)) in &figures {
            println!(
                "  {function}: {count} calls, {} distinct actions: {}",
                actions.len(),
                actions.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "IAM contract broken:\n{}", problems.join("\n"));
}

/// Partitions holding secrets of their own, and the only functions whose roles may touch them at all: password
/// hashes and OAuth codes (`USER#`, `LOGINS`) and RetailCRM API keys (`RCRM#`). Every data action counts, writes
/// included: `ReturnValues` would hand back what a write replaced.
const GUARDED: [(&str, &[&str]); 3] =
    [("USER#u-1", &["token", "user"]), ("LOGINS", &["token"]), ("RCRM#client-1", &["register"])];

#[test]
fn only_their_own_functions_reach_password_hashes_and_api_keys() {
    let actions = ["GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"];
    let mut reached = Vec::new();
    for translated in Translated::environments() {
        let probe = Binding::new(PROBE_STACK);
        for spec in Resolver::new(&translated, &probe).functions() {
            let role = Role::resolve(&translated, PROBE_STACK, &spec.binary);
            for (partition, owners) in GUARDED {
                for action in actions {
                    let access = Access {
                        action: format!("dynamodb:{action}"),
                        resource: format!("arn:aws:dynamodb:us-east-1:{}:table/{}", aws_calls::ACCOUNT, probe.table),
                        context: [("dynamodb:LeadingKeys".to_owned(), vec![partition.to_owned()])].into(),
                    };
                    let allowed = matches!(iam::evaluate(&role.statements, &access), Ok(Decision::Allowed(_)));
                    if allowed && !owners.contains(&spec.binary.as_str()) {
                        reached.push(format!("[{}] {} may {action} {partition}", translated.environment, spec.binary));
                    }
                }
            }
        }
    }
    assert!(reached.is_empty(), "guarded partitions reachable:\n{}", reached.join("\n"));
}
