//! Tidy checks over the whole repository, run by `cargo test` (and so by `cargo xtask test`);
//! rust-analyzer's tidy tests are the model. Each check names the files to fix:
//!
//! - every Rust file opens with a `//!` line saying what it holds (STYLE.md);
//! - no file under `src/` or `crates/*/src` passes [`MAX_LINES`] lines;
//! - the client's top-level modules import each other one way only: no cycle (the
//!   granularity and what counts as an import are in `imports.rs`);
//! - the core crates stay pure: no web, async or IO crate in their manifests.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod imports;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The most lines a file under `src/` or `crates/*/src` may have.
const MAX_LINES: usize = 700;

/// TEMPORARY (issue 16): the files over [`MAX_LINES`] when this check landed, each being
/// split. Empty this list as they are; the check fails on an entry that is no longer needed.
const KNOWN_LONG_FILES: &[&str] = &[
    "crates/framechat-scrub/src/bmff.rs",
    "src/net.rs",
    "src/state.rs",
];

/// TEMPORARY (issue 16): the imports between the client's top-level modules that were in a
/// cycle when this check landed (every edge inside one, not a chosen few), as (from, to).
/// They are left out of the graph, so that only new cycles fail. Empty this list as `src/`
/// is layered; the check fails on an entry that is no longer in a cycle.
const KNOWN_CYCLE_EDGES: &[(&str, &str)] = &[
    ("app", "components"),
    ("app", "embed"),
    ("app", "media"),
    ("app", "net"),
    ("components", "embed"),
    ("components", "media"),
    ("components", "net"),
    ("embed", "app"),
    ("embed", "media"),
    ("media", "net"),
    ("net", "embed"),
    ("net", "media"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The files git tracks or would track (untracked but not ignored), relative to the root,
/// with `/` separators.
fn repo_files() -> Vec<String> {
    let out = Command::new("git")
        .args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .current_dir(root())
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git ls-files failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| root().join(l).is_file())
        .map(str::to_owned)
        .collect()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// Under `src/`, or under `src/` of a crate in `crates/`.
fn is_source(rel: &str) -> bool {
    rel.starts_with("src/")
        || rel
            .strip_prefix("crates/")
            .and_then(|r| r.split_once('/'))
            .is_some_and(|(_, r)| r.starts_with("src/"))
}

#[test]
fn every_rust_file_opens_with_a_doc_line() {
    // Every Rust file git knows: src/, crates/*/src, crates/*/tests, xtask/, tests/, bench/,
    // fuzz/fuzz_targets and whatever is added later.
    let files: Vec<String> = repo_files()
        .into_iter()
        .filter(|f| f.ends_with(".rs"))
        .collect();
    assert!(files.len() > 50, "found only {} Rust files", files.len());
    let missing: Vec<&String> = files
        .iter()
        .filter(|f| !opens_with_doc_line(&read(f)))
        .collect();
    assert!(
        missing.is_empty(),
        "\nthese files do not open with a `//! what this file holds` line:\n  {}\n",
        missing
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// The first non-empty line is a `//!` doc line with some text on it.
fn opens_with_doc_line(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| l.strip_prefix("//!"))
        .is_some_and(|doc| !doc.trim().is_empty())
}

#[test]
fn doc_line_check_wants_text_on_the_first_non_empty_line() {
    assert!(opens_with_doc_line("//! The frame codec.\nuse std::io;\n"));
    assert!(opens_with_doc_line("\n\n//! After blank lines.\n"));
    assert!(!opens_with_doc_line(
        "//!\n//! Text on the second line only.\n"
    ));
    assert!(!opens_with_doc_line("// A plain comment.\n//! Too late.\n"));
    assert!(!opens_with_doc_line("use std::io;\n"));
    assert!(!opens_with_doc_line(""));
}

#[test]
fn no_source_file_passes_the_line_limit() {
    let mut long = Vec::new();
    for rel in repo_files().iter().filter(|f| is_source(f)) {
        // Text files only: pictures and other binary files have no lines to count.
        let Ok(text) = std::fs::read_to_string(root().join(rel)) else {
            continue;
        };
        let lines = text.lines().count();
        if lines > MAX_LINES {
            long.push((rel.clone(), lines));
        }
    }
    let new: Vec<String> = long
        .iter()
        .filter(|(f, _)| !KNOWN_LONG_FILES.contains(&f.as_str()))
        .map(|(f, n)| format!("{f}: {n} lines"))
        .collect();
    assert!(
        new.is_empty(),
        "\nthese files pass {MAX_LINES} lines; split them along their seams:\n  {}\n",
        new.join("\n  ")
    );
    let stale: Vec<&&str> = KNOWN_LONG_FILES
        .iter()
        .filter(|k| !long.iter().any(|(f, _)| f == **k))
        .collect();
    assert!(
        stale.is_empty(),
        "\nthese files are no longer over {MAX_LINES} lines (or gone): remove them from \
         KNOWN_LONG_FILES in xtask/tests/tidy/main.rs: {stale:?}\n"
    );
}

#[test]
fn source_check_covers_the_client_and_the_crates_only() {
    assert!(is_source("src/net.rs"));
    assert!(is_source("src/net/outbox.rs"));
    assert!(is_source("crates/framechat-wire/src/lib.rs"));
    assert!(!is_source("crates/framechat-wire/tests/vectors.rs"));
    assert!(!is_source("crates/src/x.rs"));
    assert!(!is_source("xtask/src/bench/mod.rs"));
    assert!(!is_source("tests/web.rs"));
}

#[test]
fn client_modules_import_each_other_one_way() {
    let files: Vec<(String, String)> = repo_files()
        .into_iter()
        .filter_map(|f| f.strip_prefix("src/").map(str::to_owned))
        .filter(|rel| rel.ends_with(".rs"))
        .map(|rel| {
            let text = read(&format!("src/{rel}"));
            (rel, text)
        })
        .collect();
    let all = imports::edges(&files);
    assert!(
        all.len() >= 5,
        "found only {} imports between src/'s modules: is the scanner broken?",
        all.len()
    );
    let known = |e: &imports::Edge| KNOWN_CYCLE_EDGES.contains(&(e.from.as_str(), e.to.as_str()));
    let checked: Vec<imports::Edge> = all.iter().filter(|e| !known(e)).cloned().collect();
    let cycles = imports::cycles(&checked);
    let mut message = String::new();
    for component in &cycles {
        let _ = writeln!(
            message,
            "\n  among {} (for one: {}); every import between them:",
            component.join(", "),
            imports::circle(component, &checked)
        );
        for e in checked
            .iter()
            .filter(|e| component.contains(&e.from) && component.contains(&e.to))
        {
            let _ = writeln!(
                message,
                "    {} → {}: {} reference(s), first at {}",
                e.from, e.to, e.count, e.at
            );
        }
    }
    assert!(
        cycles.is_empty(),
        "\nsrc/'s top-level modules import each other in a cycle; imports must run one way \
         (ARCHITECTURE.md):\n{message}"
    );

    // An allowed edge is still needed only while it lies on a cycle of the whole graph.
    let in_cycle: BTreeSet<(String, String)> = imports::cycles(&all)
        .iter()
        .flat_map(|c| {
            all.iter()
                .filter(|e| c.contains(&e.from) && c.contains(&e.to))
                .map(|e| (e.from.clone(), e.to.clone()))
        })
        .collect();
    let stale: Vec<&(&str, &str)> = KNOWN_CYCLE_EDGES
        .iter()
        .filter(|(a, b)| !in_cycle.contains(&((*a).to_owned(), (*b).to_owned())))
        .collect();
    assert!(
        stale.is_empty(),
        "\nthese imports are no longer part of a cycle (or gone): remove them from \
         KNOWN_CYCLE_EDGES in xtask/tests/tidy/main.rs: {stale:?}\n"
    );
}

#[test]
fn core_crates_name_no_web_async_or_io_crate() {
    const BANNED: [&str; 9] = [
        "yew",
        "gloo",
        "web-sys",
        "js-sys",
        "wasm-bindgen",
        "tokio",
        "futures",
        "anyhow",
        "axum",
    ];
    for krate in ["framechat-wire", "framechat-scrub"] {
        let manifest = read(&format!("crates/{krate}/Cargo.toml"));
        // Only [dependencies] ship; dev-dependencies may use anything.
        let dependencies = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap_or_default()
            .split("\n[")
            .next()
            .unwrap_or_default();
        for banned in BANNED {
            assert!(
                !dependencies
                    .lines()
                    .any(|l| l.trim_start().starts_with(banned)),
                "{krate} must stay pure, but depends on {banned}"
            );
        }
    }
}
