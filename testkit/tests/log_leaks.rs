//! After the whole suite: nothing it logged contains a fixture secret (secret values, passwords, tokens, API keys,
//! MACs the tests made or saw), in the functions' own processes, the local runner, or handlers run in-process.
//! `scripts/test` runs this last, with `--ignored`, over the directory the suite wrote (`SWITCHYARD_TEST_LOGS`).

use std::path::Path;

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default()
}

/// Which log file holds which secret (shown by its length and first characters only), in one pass per file.
fn leaks(logs: &[(String, String)], secrets: &[String]) -> Vec<String> {
    let matcher = aho_corasick::AhoCorasick::new(secrets).expect("build the secret matcher");
    let mut found = std::collections::BTreeSet::new();
    for (name, text) in logs {
        for hit in matcher.find_overlapping_iter(text.as_str()) {
            let secret = &secrets[hit.pattern().as_usize()];
            let shown: String = secret.chars().take(4).collect();
            found.insert(format!("{name}: a {}-character secret starting {shown:?}", secret.len()));
        }
    }
    found.into_iter().collect()
}

#[test]
#[ignore = "run by scripts/test after the whole suite"]
fn the_suite_logged_no_fixture_secret() {
    let dir =
        testkit::assertions::leaks::capture_dir().expect("SWITCHYARD_TEST_LOGS names the suite's capture directory");
    let mut secrets = testkit::assertions::leaks::dev_secret_values();
    for file in files(&dir.join("fixtures")) {
        secrets.extend(std::fs::read_to_string(file).unwrap().lines().map(str::to_owned));
    }
    secrets.sort();
    secrets.dedup();
    let logs: Vec<(String, String)> = files(&dir.join("logs"))
        .into_iter()
        .map(|f| {
            let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
            (f.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect();
    // The check means something only if the suite's logs and secrets were collected from every kind of source.
    let from = |prefix: &str| logs.iter().filter(|(n, t)| n.starts_with(prefix) && !t.is_empty()).count();
    assert!(from("function-") >= 6, "logs of the function processes: {}", from("function-"));
    assert!(from("runner") >= 1, "logs of the local runner");
    assert!(logs.len() - from("function-") - from("runner") >= 5, "logs of in-process tests");
    let lines: usize = logs.iter().map(|(_, t)| t.lines().count()).sum();
    assert!(secrets.len() >= 50, "only {} fixture secrets were recorded", secrets.len());
    let found = leaks(&logs, &secrets);
    assert!(found.is_empty(), "{} leaks in {lines} log lines:\n{}", found.len(), found.join("\n"));
    println!("{} log files, {lines} lines, {} fixture secrets: none logged", logs.len(), secrets.len());
}

#[test]
fn a_planted_secret_is_found() {
    let logs = vec![("a.log".to_owned(), "{\"fields\":{\"message\":\"x token=s3cr3t-value-123\"}}".to_owned())];
    let found = leaks(&logs, &["s3cr3t-value-123".to_owned(), "absent-value-456".to_owned()]);
    assert_eq!(found, ["a.log: a 16-character secret starting \"s3cr\""]);
}
