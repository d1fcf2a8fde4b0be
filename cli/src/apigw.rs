//! Turning a plain HTTP request into the request an API Gateway HTTP API (payload 2.0) delivers to a function.
//!
//! The runner writes the payload 2.0 event JSON and lets lambda_http parse it, so handlers see exactly what they
//! see in Lambda: the same headers, query and path parameters, request context and body decoding.

use base64::Engine as _;
use http::request::Parts;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};
use shared::edge::routes::Route;

/// Content types API Gateway passes as text; every other body arrives base64-encoded.
fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase()) else {
        return false;
    };
    ct.starts_with("text/")
        || matches!(ct.as_str(), "application/json" | "application/x-www-form-urlencoded" | "application/xml")
        || ct.ends_with("+json")
        || ct.ends_with("+xml")
}

/// The payload 2.0 event for a request that matched `route` with `path_params`.
pub fn event(parts: &Parts, body: &[u8], route: &Route, path_params: &[(String, String)], request_id: &str) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == http::header::COOKIE {
            cookies.extend(value.split(';').map(|c| Value::String(c.trim().to_owned())));
            continue;
        }
        // HTTP API joins repeated headers with commas.
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let raw_query = parts.uri.query().unwrap_or("");
    let mut query = Map::new();
    for (name, value) in form_urlencoded_pairs(raw_query) {
        match query.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                query.insert(name, Value::String(value));
            }
        }
    }
    let content_type = parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let (body, base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) if is_text(content_type) => (Value::String(text.to_owned()), false),
        _ => (Value::String(base64::engine::general_purpose::STANDARD.encode(body)), true),
    };
    let route_key = format!("{} {}", route.method, route.path);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let host = parts.headers.get(http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let user_agent = parts.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or(host),
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": "",
            "timeEpoch": now.as_millis() as u64,
        },
        "isBase64Encoded": base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !path_params.is_empty() {
        event["pathParameters"] = path_params.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    }
    if !body.is_null() {
        event["body"] = body;
    }
    event
}

fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    // API Gateway passes query values URL-decoded.
    url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The lambda_http request for `event`, parsed exactly as the Lambda runtime parses it.
pub fn request(event: &Value) -> Result<Request, String> {
    lambda_http::request::from_str(&event.to_string()).map_err(|e| format!("event does not parse: {e}"))
}

/// The response bytes and head of a handler's response.
pub fn into_parts(response: Response<Body>) -> (http::response::Parts, Vec<u8>) {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    (parts, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn binary_bodies_arrive_intact_and_text_stays_text() {
        let route = shared::edge::routes::find("POST", "/smartme/realtime").unwrap().0;
        let raw = [0x0a, 0xff, 0x00, 0x80];
        let p = parts("POST", "/smartme/realtime", &[("content-type", "application/octet-stream")]);
        let ev = event(&p, &raw, &route, &[], "r1");
        assert_eq!(ev["isBase64Encoded"], true);
        let req = request(&ev).unwrap();
        assert_eq!(req.body().as_ref(), raw);

        let p = parts("POST", "/smartme/realtime", &[("content-type", "application/json")]);
        let ev = event(&p, b"{\"a\":1}", &route, &[], "r2");
        assert_eq!(ev["isBase64Encoded"], false);
        assert_eq!(request(&ev).unwrap().body().as_ref(), b"{\"a\":1}");
    }

    #[test]
    fn path_query_and_headers_reach_the_handler() {
        let (route, params) = shared::edge::routes::find("POST", "/webhooks/schurter").unwrap();
        let p = parts(
            "POST",
            "/webhooks/schurter?a=1&b=x%20y",
            &[("x-signature", "v=1"), ("x-multi", "a"), ("x-multi", "b")],
        );
        let req = request(&event(&p, b"", &route, &params, "r3")).unwrap();
        assert_eq!(req.uri().path(), "/webhooks/schurter");
        assert_eq!(req.path_parameters_ref().and_then(|p| p.first("source")), Some("schurter"));
        assert_eq!(req.query_string_parameters_ref().and_then(|q| q.first("b")), Some("x y"));
        assert_eq!(req.headers()["x-signature"], "v=1");
        assert_eq!(req.headers()["x-multi"], "a,b");
        assert_eq!(req.method(), http::Method::POST);
    }
}
