//! The IAM roles of the translated template's functions, resolved for the test stack a call belongs to: what
//! `aws-recorder` enforces on every call of the suite and what the IAM contract test judges afterwards.

use crate::aws::calls::{Access, RecordedCall};
use crate::aws::iam::{self, Decision, Statement};
use crate::aws::template::{Binding, FunctionSpec, Resolver, Translated};
use std::collections::HashMap;
use std::sync::Mutex;

/// One function's role in one environment and stack.
pub struct Role {
    pub spec: FunctionSpec,
    pub statements: Vec<Statement>,
}

impl Role {
    /// Whether environment `translated` creates `function` at all (a function with a false condition is not).
    pub fn exists(translated: &Translated, function: &str) -> bool {
        Resolver::new(translated, &Binding::new("probe")).functions().iter().any(|f| f.binary == function)
    }

    pub fn resolve(translated: &Translated, stack: &str, function: &str) -> Self {
        let binding = Binding::new(stack);
        let spec = Resolver::new(translated, &binding).function_named(function);
        let statements = iam::statements(&spec.policies).unwrap_or_else(|e| panic!("{function}: {e}"));
        Self { spec, statements }
    }
}

/// The test stack an access belongs to, from its table's, secret's or event bus's name (see [`Binding::new`]).
pub fn stack_of(access: &Access) -> Option<String> {
    let resource = access.resource.splitn(6, ':').nth(5)?;
    if let Some(table) = resource.strip_prefix("table/") {
        return Binding::stack_of_table(table.split('/').next()?).map(str::to_owned);
    }
    if let Some(bus) = resource.strip_prefix("event-bus/") {
        return Binding::stack_of_bus(bus).map(str::to_owned);
    }
    let secret = resource.strip_prefix("secret:")?;
    secret.split_once('/').map(|(stack, _)| stack.to_owned())
}

/// The one stack all of a call's accesses belong to.
pub fn stack_of_call(call: &RecordedCall) -> Result<String, String> {
    let mut stacks: Vec<Option<String>> = call.accesses.iter().map(stack_of).collect();
    stacks.sort();
    stacks.dedup();
    match stacks.as_slice() {
        [Some(stack)] => Ok(stack.clone()),
        other => Err(format!("a call outside one test stack ({other:?})")),
    }
}

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub environment: String,
    pub action: String,
    pub resource: String,
    pub decision: String,
}

/// (environment, stack, function).
type RoleKey = (String, String, String);

/// Every environment's roles, resolved once per (stack, function).
pub struct Roles {
    environments: Vec<Translated>,
    resolved: Mutex<HashMap<RoleKey, Option<std::sync::Arc<Role>>>>,
}

impl Roles {
    pub fn new(environments: Vec<Translated>) -> Self {
        Self { environments, resolved: Mutex::new(HashMap::new()) }
    }

    pub fn environments(&self) -> &[Translated] {
        &self.environments
    }

    /// The role of `function` in `environment` for `stack`.
    /// The role of `function` on `stack` in `environment`; `None` where the environment does not create the
    /// function (its calls cannot happen there).
    pub fn role(&self, environment: &Translated, stack: &str, function: &str) -> Option<std::sync::Arc<Role>> {
        let key = (environment.environment.clone(), stack.to_owned(), function.to_owned());
        if let Some(role) = self.resolved.lock().unwrap().get(&key) {
            return role.clone();
        }
        let role = Role::exists(environment, function)
            .then(|| std::sync::Arc::new(Role::resolve(environment, stack, function)));
        self.resolved.lock().unwrap().insert(key, role.clone());
        role
    }

    /// The first access of `call` that the role of `function` denies in some environment.
    pub fn denial(&self, function: &str, call: &RecordedCall) -> Option<Denial> {
        let stack = match stack_of_call(call) {
            Ok(stack) => stack,
            Err(reason) => {
                return Some(Denial {
                    environment: "any".into(),
                    action: call.operation.clone(),
                    resource: reason,
                    decision: "unattributable".into(),
                });
            }
        };
        for environment in &self.environments {
            let Some(role) = self.role(environment, &stack, function) else { continue };
            for access in &call.accesses {
                let decision = match iam::evaluate(&role.statements, access) {
                    Ok(Decision::Allowed(_)) => continue,
                    Ok(denied) => format!("{denied:?}"),
                    Err(e) => format!("not evaluable: {e}"),
                };
                return Some(Denial {
                    environment: environment.environment.clone(),
                    action: access.action.clone(),
                    resource: access.resource.clone(),
                    decision,
                });
            }
        }
        None
    }
}
