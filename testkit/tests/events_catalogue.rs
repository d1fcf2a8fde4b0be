//! `events/`: every file is catalogued in `events/manifest.json` (and tested through its function's binary by
//! that function's `tests/events.rs`), every catalogued file exists, and each is a valid HTTP API event.

use std::collections::BTreeSet;

fn files(dir: &std::path::Path, root: &std::path::Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // Stream functions' events are DynamoDB stream events, exercised by their own tests.
            if path.file_name().is_some_and(|n| shared::edge::routes::STREAM_FUNCTIONS.iter().any(|f| n == *f)) {
                continue;
            }
            files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "json") && path.file_name().unwrap() != "manifest.json" {
            out.insert(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

#[test]
fn manifest_and_files_agree() {
    let root = testkit::lambda::sample_requests::events_dir();
    let mut on_disk = BTreeSet::new();
    files(&root, &root, &mut on_disk);
    let manifest = testkit::lambda::sample_requests::manifest();
    let listed: BTreeSet<String> = manifest.keys().cloned().collect();
    assert_eq!(on_disk, listed);
}

#[test]
fn every_event_parses_as_an_http_api_request_of_its_function() {
    for (file, expected) in testkit::lambda::sample_requests::manifest() {
        let text = std::fs::read_to_string(testkit::lambda::sample_requests::events_dir().join(&file)).unwrap();
        let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event["version"], "2.0", "{file}");
        // The route key names a route of the function it is catalogued under, or the event probes a wrong path
        // or method on purpose (then it must expect a 4xx).
        let served = shared::edge::routes::find(request.method().as_str(), request.uri().path());
        match served {
            Some((route, _)) => assert_eq!(route.function, expected.function, "{file}"),
            None => assert!(
                (400..500).contains(&expected.status),
                "{file} matches no route but expects {}",
                expected.status
            ),
        }
    }
}

#[test]
fn every_route_has_an_event() {
    let mut covered = BTreeSet::new();
    for file in testkit::lambda::sample_requests::manifest().keys() {
        let text = std::fs::read_to_string(testkit::lambda::sample_requests::events_dir().join(file)).unwrap();
        let request = lambda_http::request::from_str(&text).unwrap();
        if let Some((route, _)) = shared::edge::routes::find(request.method().as_str(), request.uri().path()) {
            covered.insert((route.method, route.path));
        }
    }
    for route in shared::edge::routes::ROUTES {
        assert!(covered.contains(&(route.method, route.path)), "no event for {} {}", route.method, route.path);
    }
}
