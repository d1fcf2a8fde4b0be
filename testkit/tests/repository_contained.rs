//! Nothing in the repository reads outside it: every relative path a tracked file names (`../x/y`) resolves to a
//! file or folder of the repository, from the naming file's folder or one of its parents up to the root. A clone
//! anywhere runs every test, bench and fuzz target with nothing beside it.

use std::path::{Component, Path, PathBuf};

/// Path-traversal attempts the hostile-input tests send as request paths: inputs, not files anything reads.
const ATTACKS: [&str; 3] = ["../../etc/passwd", "../etc", "../schurter"];

/// Characters of a path as files write them.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '_' | '-')
}

/// Every relative path in `text` that climbs out of its folder (`../...`), without trailing punctuation.
fn climbing_paths(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("../") {
        // Only where a path starts (after nothing or a lone `/`, as in `concat!(dir, "/../x")`): inside a longer
        // run such as `a/../b` the path does not climb out of its own folder.
        let run_start =
            rest[..at].char_indices().rev().find(|(_, c)| !is_path_char(*c)).map_or(0, |(i, c)| i + c.len_utf8());
        let tail = &rest[at..];
        let end = tail.find(|c: char| !is_path_char(c)).unwrap_or(tail.len());
        if matches!(&rest[run_start..at], "" | "/") {
            found.push(tail[..end].trim_end_matches(['.', '/']));
        }
        rest = &tail[end.max(3)..];
    }
    found
}

/// `base/relative` with `.` and `..` folded, without touching the file system.
fn fold(base: &Path, relative: &str) -> PathBuf {
    let mut path = base.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::ParentDir => {
                path.pop();
            }
            Component::Normal(part) => path.push(part),
            _ => {}
        }
    }
    path
}

fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let output = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .expect("git lists the repository's files");
    assert!(output.status.success(), "git ls-files: {}", String::from_utf8_lossy(&output.stderr));
    output
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| root.join(String::from_utf8_lossy(p).as_ref()))
        .collect()
}

#[test]
fn no_file_names_a_path_outside_the_repository() {
    let root = testkit::workspace_root();
    let mut outside = Vec::new();
    // This file names climbing paths as the scanner's own examples.
    let this_file = root.join("testkit/tests/repository_contained.rs");
    for file in tracked_files(&root).into_iter().filter(|f| *f != this_file) {
        // Binary files (test vectors) and lockfiles name no paths.
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let folder = file.parent().unwrap_or(&root).to_path_buf();
        for path in climbing_paths(&text).into_iter().filter(|p| !ATTACKS.contains(p)) {
            let resolves_inside = folder
                .ancestors()
                .take_while(|base| base.starts_with(&root))
                .map(|base| fold(base, path))
                .any(|target| target.starts_with(&root) && target.exists());
            if !resolves_inside {
                outside.push(format!("{}: {path}", file.strip_prefix(&root).unwrap_or(&file).display()));
            }
        }
    }
    assert!(outside.is_empty(), "paths outside the repository (copy what is needed into it):\n{}", outside.join("\n"));
}

#[test]
fn the_scanner_finds_what_it_must() {
    assert_eq!(climbing_paths(r#"join("../shared/vectors/x.json")"#), ["../shared/vectors/x.json"]);
    assert_eq!(climbing_paths(r#"concat!(dir, "/../../shared/a.bin")"#), ["../../shared/a.bin"]);
    assert_eq!(climbing_paths("see [the docs](../README.md)."), ["../README.md"]);
    assert_eq!(climbing_paths("a/b/../c and ..."), Vec::<&str>::new());
    let root = Path::new("/repo");
    assert_eq!(fold(&root.join("fuzz"), "../shared"), Path::new("/repo/shared"));
    assert_eq!(fold(root, "../shared"), Path::new("/shared"));
}
