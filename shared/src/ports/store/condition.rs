//! Conditions on a write, rendered as DynamoDB condition expressions or evaluated by the embedded store.

use super::{Item, PK, TTL, Value};
use std::cmp::Ordering;
use std::collections::HashMap;

/// A condition on the item a write targets, checked atomically with the write.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Condition {
    /// No condition.
    Always,
    /// There is no item at the key, or it has expired (the idempotency-record rule: expired means free).
    ItemAbsent,
    /// There is an unexpired item at the key.
    ItemPresent,
    /// The item has no attribute with this name (or there is no item).
    AttrAbsent(String),
    /// The attribute exists and equals the value.
    Eq(String, Value),
    /// The attribute exists and is less than the value (numbers numerically, strings bytewise).
    Lt(String, Value),
    /// The attribute exists and is greater than the value.
    Gt(String, Value),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

impl Condition {
    /// Whether the condition holds for `item` (the stored item, expired or not) at `now` (epoch seconds).
    pub fn holds(&self, item: Option<&Item>, now: i64) -> bool {
        match self {
            Self::Always => true,
            Self::ItemAbsent => item.is_none_or(|i| i.is_expired(now)),
            Self::ItemPresent => item.is_some_and(|i| !i.is_expired(now)),
            Self::AttrAbsent(name) => item.is_none_or(|i| !i.attrs.contains_key(name)),
            Self::Eq(name, v) => attr(item, name).is_some_and(|a| compare(a, v) == Some(Ordering::Equal)),
            Self::Lt(name, v) => attr(item, name).is_some_and(|a| compare(a, v) == Some(Ordering::Less)),
            Self::Gt(name, v) => attr(item, name).is_some_and(|a| compare(a, v) == Some(Ordering::Greater)),
            Self::And(all) => all.iter().all(|c| c.holds(item, now)),
            Self::Or(any) => any.iter().any(|c| c.holds(item, now)),
        }
    }

    /// Renders the condition into `expr`; `None` when it always holds.
    pub(crate) fn render(&self, expr: &mut Expression, now: i64) -> Option<String> {
        match self {
            Self::Always => None,
            Self::ItemAbsent => {
                let (pk, ttl, now) = (expr.name(PK), expr.name(TTL), expr.value(Value::int(now)));
                Some(format!("(attribute_not_exists({pk}) OR {ttl} <= {now})"))
            }
            Self::ItemPresent => {
                let (pk, ttl, now) = (expr.name(PK), expr.name(TTL), expr.value(Value::int(now)));
                Some(format!("(attribute_exists({pk}) AND (attribute_not_exists({ttl}) OR {ttl} > {now}))"))
            }
            Self::AttrAbsent(name) => Some(format!("attribute_not_exists({})", expr.name(name))),
            Self::Eq(name, v) => Some(format!("{} = {}", expr.name(name), expr.value(v.clone()))),
            Self::Lt(name, v) => Some(format!("{} < {}", expr.name(name), expr.value(v.clone()))),
            Self::Gt(name, v) => Some(format!("{} > {}", expr.name(name), expr.value(v.clone()))),
            Self::And(all) => {
                let parts: Vec<String> = all.iter().filter_map(|c| c.render(expr, now)).collect();
                (!parts.is_empty()).then(|| format!("({})", parts.join(" AND ")))
            }
            Self::Or(any) => {
                let parts: Option<Vec<String>> = any.iter().map(|c| c.render(expr, now)).collect();
                // An always-true branch makes the whole disjunction always true.
                parts.filter(|p| !p.is_empty()).map(|p| format!("({})", p.join(" OR ")))
            }
        }
    }
}

fn attr<'a>(item: Option<&'a Item>, name: &str) -> Option<&'a Value> {
    item.and_then(|i| i.attrs.get(name))
}

/// Orders two values of the same type as DynamoDB does; `None` for different or unordered types.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::N(x), Value::N(y)) => {
            if let (Ok(x), Ok(y)) = (x.parse::<i128>(), y.parse::<i128>()) {
                return Some(x.cmp(&y));
            }
            x.parse::<f64>().ok()?.partial_cmp(&y.parse::<f64>().ok()?)
        }
        (Value::S(x), Value::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::B(x), Value::B(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => (x == y).then_some(Ordering::Equal),
        _ => (a == b).then_some(Ordering::Equal),
    }
}

/// Placeholders for one DynamoDB expression: every name and value goes through `#n` / `:v` so reserved words and
/// user data never reach the expression text.
#[derive(Debug, Default)]
pub(crate) struct Expression {
    pub names: HashMap<String, String>,
    pub values: HashMap<String, Value>,
}

impl Expression {
    pub fn name(&mut self, name: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, n)| n.as_str() == name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    pub fn value(&mut self, value: Value) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::store::Key;

    fn item(ttl: Option<i64>) -> Item {
        let mut item = Item::new(Key::new("p", "s")).with("n", Value::int(5)).with("s", Value::str("b"));
        item.expires_at = ttl;
        item
    }

    #[test]
    fn item_absent_treats_expired_as_absent() {
        assert!(Condition::ItemAbsent.holds(None, 100));
        assert!(Condition::ItemAbsent.holds(Some(&item(Some(100))), 100));
        assert!(!Condition::ItemAbsent.holds(Some(&item(Some(101))), 100));
        assert!(!Condition::ItemAbsent.holds(Some(&item(None)), 100));
        assert!(Condition::ItemPresent.holds(Some(&item(None)), 100));
        assert!(!Condition::ItemPresent.holds(Some(&item(Some(50))), 100));
    }

    #[test]
    fn comparisons_are_typed() {
        let it = item(None);
        assert!(Condition::Lt("n".into(), Value::int(6)).holds(Some(&it), 0));
        assert!(Condition::Lt("n".into(), Value::float(5.5)).holds(Some(&it), 0));
        assert!(!Condition::Lt("n".into(), Value::int(5)).holds(Some(&it), 0));
        assert!(Condition::Eq("n".into(), Value::N("5.0".into())).holds(Some(&it), 0));
        assert!(Condition::Gt("s".into(), Value::str("a")).holds(Some(&it), 0));
        assert!(!Condition::Gt("s".into(), Value::int(1)).holds(Some(&it), 0));
        assert!(!Condition::Lt("missing".into(), Value::int(1)).holds(Some(&it), 0));
        assert!(Condition::AttrAbsent("missing".into()).holds(Some(&it), 0));
    }

    #[test]
    fn renders_with_placeholders_only() {
        let mut expr = Expression::default();
        let cond = Condition::Or(vec![Condition::AttrAbsent("at".into()), Condition::Lt("at".into(), Value::int(3))]);
        let text = cond.render(&mut expr, 0).unwrap();
        assert_eq!(text, "(attribute_not_exists(#n0) OR #n0 < :v0)");
        assert_eq!(expr.names["#n0"], "at");
        assert_eq!(expr.values[":v0"], Value::int(3));
        assert!(Condition::Or(vec![Condition::Always, Condition::ItemAbsent]).render(&mut expr, 0).is_none());
        assert!(Condition::And(vec![Condition::Always]).render(&mut expr, 0).is_none());
    }
}
