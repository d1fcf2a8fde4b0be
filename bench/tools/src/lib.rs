//! What the start-up benchmarks (`coldstart`, `cold_request`) share: reading a started process and summarising
//! the starts, and the stack state `notify`'s event needs; and the partition-heat model ([`scale`]).

pub mod scale;

/// Peak resident memory (`VmHWM`) of `pid`, in KiB; 0 when it cannot be read.
pub fn peak_rss_kb(pid: Option<u32>) -> u64 {
    let Some(pid) = pid else { return 0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// The `q` quantile of `values` (nearest rank).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// The meter of `notify`'s stream event belongs to a user Sber linked, so notify pushes its state.
pub async fn seed_sber_link(store: &shared::ports::store::dynamo::DynamoStore, event: &serde_json::Value) {
    use shared::ports::store::{Condition, Item, Store, Value, keys};
    let pk = event["Records"][0]["dynamodb"]["Keys"]["pk"]["S"].as_str().expect("a meter record");
    let meter = pk.trim_start_matches("METER#");
    let user = "bench-user";
    let owner = Item::new(keys::meter_owner(meter, user))
        .with("userId", Value::str(user))
        .with("deviceId", Value::str(meter))
        .with("name", Value::str("Meter"))
        .with("features", Value::L(vec![Value::str("online"), Value::str("on_off"), Value::str("power")]));
    store.put(owner, Condition::Always).await.expect("owner item");
    store.put(Item::new(keys::sber_link(user)), Condition::Always).await.expect("Sber link");
}

/// An API Gateway request as the handlers take it (the models drive the real handlers with these).
pub fn request(method: &str, path: &str, headers: &[(&str, String)], body: lambda_http::Body) -> lambda_http::Request {
    let mut request = lambda_http::Request::new(body);
    *request.method_mut() = method.parse().expect("a method");
    *request.uri_mut() = path.parse().expect("a path");
    for (name, value) in headers {
        let name = lambda_http::http::HeaderName::from_bytes(name.as_bytes()).expect("a header name");
        request.headers_mut().insert(name, value.parse().expect("a header value"));
    }
    request
}
