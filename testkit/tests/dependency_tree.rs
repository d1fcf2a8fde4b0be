//! What the toolchain claims is what the tree needs: one HTTP and TLS stack, the declared `rust-version` equal to
//! the newest any locked crate requires, the pinned toolchain new enough, and the fuzz crate's lockfile in step with
//! the workspace's. (An advisory database needs a network CI lacks; these are the checks cargo-deny's `bans` would
//! make, over the lockfiles.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Crates of which the tree must hold exactly one version: two would mean two HTTP, TLS or crypto stacks
/// compiled into every function (size, cold start) and two to keep patched.
const ONE_VERSION: [&str; 16] = [
    "http",
    "http-body",
    "hyper",
    "hyper-util",
    "h2",
    "rustls",
    "rustls-webpki",
    "tokio-rustls",
    "hyper-rustls",
    "aws-lc-rs",
    "aws-lc-sys",
    "aws-smithy-http",
    "aws-smithy-runtime",
    "digest",
    "sha2",
    "hmac",
];

/// Versions of each package in a `Cargo.lock`.
fn locked(path: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut name = None;
    for line in text.lines() {
        let value = |l: &str| l.split('"').nth(1).map(str::to_owned);
        if line == "[[package]]" {
            name = None;
        } else if let Some(rest) = line.strip_prefix("name = ") {
            name = value(rest);
        } else if let (Some(rest), Some(n)) = (line.strip_prefix("version = "), &name) {
            out.entry(n.clone()).or_default().extend(value(rest));
        }
    }
    out
}

fn version_tuple(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

#[test]
fn one_http_and_tls_stack() {
    let lock = locked(&testkit::workspace_root().join("Cargo.lock"));
    let doubled: Vec<String> = ONE_VERSION
        .iter()
        .filter_map(|name| lock.get(*name).filter(|v| v.len() > 1).map(|v| format!("{name}: {v:?}")))
        .collect();
    assert!(doubled.is_empty(), "more than one version in Cargo.lock:\n{}", doubled.join("\n"));
    for name in ["http", "hyper", "rustls", "aws-lc-rs"] {
        assert!(lock.contains_key(name), "{name} is expected in the tree");
    }
}

#[test]
fn the_fuzz_lockfile_is_in_step_with_the_workspace() {
    let root = testkit::workspace_root();
    let workspace = locked(&root.join("Cargo.lock"));
    let fuzz = locked(&root.join("fuzz/Cargo.lock"));
    let apart: Vec<String> = fuzz
        .iter()
        .filter_map(|(name, versions)| {
            let ours = workspace.get(name)?;
            (!versions.is_subset(ours)).then(|| format!("{name}: fuzz {versions:?}, workspace {ours:?}"))
        })
        .collect();
    assert!(
        apart.is_empty(),
        "fuzz/Cargo.lock differs from Cargo.lock (cp Cargo.lock fuzz/Cargo.lock, then any cargo command in fuzz/ \
         prunes it):\n{}",
        apart.join("\n")
    );
}

/// `scripts/fuzz` builds from fuzz/Cargo.lock as it is (`--locked`): a manifest change it does not cover fails here,
/// in the test command, not in the fuzzing step.
#[test]
fn the_fuzz_lockfile_covers_the_fuzz_crate() {
    let root = testkit::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--manifest-path"])
        .arg(root.join("fuzz/Cargo.toml"))
        .current_dir(&root)
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "fuzz/Cargo.lock is stale (cp Cargo.lock fuzz/Cargo.lock, then `cargo metadata` in fuzz/ prunes it):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn rust_version_is_what_the_locked_crates_need_and_the_toolchain_has_it() {
    let root = testkit::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(&root)
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let workspace_members: BTreeSet<&str> =
        metadata["workspace_members"].as_array().unwrap().iter().filter_map(|m| m.as_str()).collect();
    let declared = packages
        .iter()
        .find(|p| p["name"] == "shared")
        .and_then(|p| p["rust_version"].as_str())
        .expect("the workspace declares rust-version")
        .to_owned();
    let (needed, by) = packages
        .iter()
        .filter(|p| !workspace_members.contains(p["id"].as_str().unwrap_or_default()))
        .filter_map(|p| Some((version_tuple(p["rust_version"].as_str()?), p["name"].as_str()?.to_owned())))
        .max()
        .expect("locked crates declare rust versions");
    assert_eq!(
        version_tuple(&declared),
        needed,
        "rust-version {declared} in Cargo.toml, but {by} needs {needed:?}: declare what the lockfile needs"
    );
    let toolchain = std::fs::read_to_string(root.join("rust-toolchain.toml")).expect("rust-toolchain.toml");
    let channel = toolchain
        .lines()
        .find_map(|l| l.trim().strip_prefix("channel = ").map(|v| v.trim_matches('"').to_owned()))
        .expect("a pinned channel");
    assert!(version_tuple(&channel) >= needed, "the pinned toolchain {channel} is older than rust-version");
    for needed in ["rustfmt", "clippy", "aarch64-unknown-linux-gnu"] {
        assert!(toolchain.contains(needed), "rust-toolchain.toml lacks {needed}");
    }
}
