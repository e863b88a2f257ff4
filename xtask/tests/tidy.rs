//! Tidy checks over the whole repository: every Rust file opens with a `//!` line saying
//! what it holds, and the core crates stay pure (no web, async or IO crates in their
//! manifests), as STYLE.md asks.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The Rust files git tracks or would track (untracked but not ignored).
fn rust_files() -> Vec<PathBuf> {
    let out = Command::new("git")
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "*.rs",
        ])
        .current_dir(root())
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git ls-files failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| root().join(l))
        .filter(|p| p.exists())
        .collect()
}

#[test]
fn every_rust_file_opens_with_a_doc_line() {
    let files = rust_files();
    assert!(files.len() > 50, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//! "))
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(missing.is_empty(), "no opening //! line: {missing:?}");
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
        let manifest =
            std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
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
