//! DynamoDB's billed item size (attribute names and values, keys and TTL included) and the request units it
//! costs: how the single-table design is kept within one write unit per item, and what the cost model counts.

use super::{Item, Value};

/// DynamoDB's size of a number: about one byte per two significant digits, plus one.
fn number_size(text: &str) -> usize {
    let digits = text.trim_start_matches('-').replace('.', "");
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len().max(1);
    significant.div_ceil(2) + 1
}

/// The size DynamoDB bills for a value.
pub fn value_size(value: &Value) -> usize {
    match value {
        Value::S(s) => s.len(),
        Value::N(n) => number_size(n),
        Value::B(b) => b.len(),
        Value::Bool(_) | Value::Null => 1,
        Value::L(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        Value::M(map) => 3 + map.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
    }
}

/// The size DynamoDB bills for an item.
pub fn item_size(item: &Item) -> usize {
    let keys = 2 + item.key.pk.len() + 2 + item.key.sk.len();
    let ttl = item.expires_at.map_or(0, |t| 3 + number_size(&t.to_string()));
    keys + ttl + item.attrs.iter().map(|(k, v)| k.len() + value_size(v)).sum::<usize>()
}

/// Write request units for writing `bytes` (1 KB each, rounded up, at least one).
pub fn write_units(bytes: usize) -> u64 {
    bytes.div_ceil(1024).max(1) as u64
}

/// Read request units for a strongly consistent read of `bytes` (4 KB each, rounded up, at least one).
pub fn read_units(bytes: usize) -> u64 {
    bytes.div_ceil(4096).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::store::Key;

    #[test]
    fn sizes_follow_dynamodb_rules() {
        assert_eq!(number_size("0"), 2);
        assert_eq!(number_size("123456"), 4);
        assert_eq!(number_size("-1.5"), 2);
        let item = Item::new(Key::new("p", "s")).with("name", Value::str("abc")).with("n", Value::int(12));
        assert_eq!(item_size(&item), (2 + 1) + (2 + 1) + (4 + 3) + (1 + 2));
        assert_eq!(write_units(item_size(&item)), 1);
        let big = Item::new(Key::new("p", "s")).with("blob", Value::B(vec![0; 1100]));
        assert_eq!(write_units(item_size(&big)), 2);
        assert_eq!(read_units(0), 1);
        assert_eq!(read_units(4097), 2);
    }
}
