//! The tables in `docs/` that restate code are written from the code, so they cannot drift: each lies between
//! `<!-- generated: NAME -->` and `<!-- end: NAME -->`, and this test fails when a block differs from what the code
//! says now (`SWITCHYARD_BLESS=1` rewrites the blocks instead). Tables that add guidance to each row (the alarms,
//! the configuration variables) are written by hand and checked here, or by `testkit/tests/environment_contract.rs`,
//! against the template.

use std::collections::BTreeSet;
use testkit::aws::roles::Role;
use testkit::aws::template::{Binding, Resolver, Translated};

fn docs(name: &str) -> std::path::PathBuf {
    testkit::workspace_root().join("docs").join(name)
}

/// Checks (or with `SWITCHYARD_BLESS=1`, rewrites) block `name` of `docs/<file>` to hold `table`.
fn generated(file: &str, name: &str, table: &str) {
    let path = docs(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (open, close) = (format!("<!-- generated: {name} -->\n"), format!("<!-- end: {name} -->"));
    let start = text.find(&open).unwrap_or_else(|| panic!("docs/{file} has no `{}`", open.trim())) + open.len();
    let end = start + text[start..].find(&close).unwrap_or_else(|| panic!("docs/{file} has no `{close}`"));
    if text[start..end] == *table {
        return;
    }
    if std::env::var("SWITCHYARD_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, format!("{}{table}{}", &text[..start], &text[end..])).unwrap();
        return;
    }
    panic!(
        "docs/{file}'s `{name}` table differs from the code; run `SWITCHYARD_BLESS=1 cargo test -p testkit --test \
         docs_tables` and review the diff. It should read:\n{table}"
    );
}

#[test]
fn the_route_table_is_the_routers() {
    let mut table = String::from("| function | method | path |\n|---|---|---|\n");
    for route in shared::edge::routes::ROUTES {
        table.push_str(&format!("| {} | `{}` | `{}` |\n", route.function, route.method, route.path));
    }
    generated("configuration.md", "routes", &table);
}

/// What a resource pattern of a role names, without the account and the stack: `table`, `secret <name>`, `bus`.
fn resource(pattern: &str, stack: &str) -> String {
    if let Some(rest) = pattern.split(":secret:").nth(1) {
        let name = rest.trim_start_matches(&format!("{stack}/"));
        // Secrets Manager's ARN suffix (`-??????` or `-*`) is not part of the name.
        let name = name.trim_end_matches("-??????").trim_end_matches("-*");
        return format!("`{name}`");
    }
    if pattern.contains(":table/") {
        let table = pattern.split(":table/").nth(1).unwrap_or_default();
        return if table.contains("/stream/") { "the table's stream".into() } else { "the table".into() };
    }
    if pattern.contains(":event-bus/") {
        return "the event bus".into();
    }
    if pattern.contains(":sqs:") {
        return "its dead-letter queue".into();
    }
    pattern.rsplit(':').next().unwrap_or(pattern).to_owned()
}

#[test]
fn the_iam_table_is_the_translated_roles() {
    // `prod` has an event bus, so it has every function.
    let translated = Translated::load("prod");
    let stack = "switchyard";
    let functions = Resolver::new(&translated, &Binding::new(stack)).functions();
    let mut table =
        String::from("| function | actions | on | partitions (`dynamodb:LeadingKeys`) |\n|---|---|---|---|\n");
    for function in functions {
        let role = Role::resolve(&translated, stack, &function.binary);
        for statement in role.statements.iter().filter(|s| s.allow && !s.actions.negated) {
            let actions: Vec<&str> = statement.actions.patterns.iter().map(String::as_str).collect();
            // Lambda's own logging and tracing grants are the same for every function.
            if actions.iter().all(|a| a.starts_with("logs:") || a.starts_with("xray:")) {
                continue;
            }
            let on: BTreeSet<String> = statement.resources.patterns.iter().map(|p| resource(p, stack)).collect();
            let partitions: Vec<String> = statement
                .conditions
                .iter()
                .filter(|c| c.key.eq_ignore_ascii_case("dynamodb:LeadingKeys"))
                .flat_map(|c| c.values.iter().map(|v| format!("`{v}`")))
                .collect();
            table.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                function.binary,
                actions.join(", "),
                on.into_iter().collect::<Vec<_>>().join(", "),
                if partitions.is_empty() { "any".to_owned() } else { partitions.join(", ") }
            ));
        }
    }
    generated("testing.md", "iam", &table);
}

#[test]
fn every_alarm_of_the_template_is_explained_in_operate() {
    let translated = Translated::load("default");
    let alarms: BTreeSet<String> = translated
        .resources()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, _)| id.clone())
        .collect();
    let operate = std::fs::read_to_string(docs("operate.md")).unwrap();
    let explained: BTreeSet<String> = operate
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|name| name.ends_with("Alarm"))
        .map(str::to_owned)
        .collect();
    assert_eq!(explained, alarms, "docs/operate.md's alarm table and the template's alarms");
}
