//! `cargo xtask test`: every check the project has, in order of cost. Formatting and
//! lints, native tests of every crate, the client's browser tests in headless Chromium
//! against a real relay, the end-to-end tests of the release build, and the fuzz targets
//! over their committed seeds.

use std::path::PathBuf;

use anyhow::Result;

use crate::setup::{self, Need};
use crate::util::{Spawned, cmd, free_addr, root, run, section, target_dir};

/// Options of `cargo xtask test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Skip the browser tests and end-to-end tests (native checks only).
    #[arg(long)]
    pub native_only: bool,
    /// Skip running the fuzz targets over their seeds.
    #[arg(long)]
    pub no_fuzz: bool,
}

pub fn test(args: &TestArgs) -> Result<()> {
    setup::ensure(Need::Tests)?;

    section("formatting");
    run(cmd("cargo").args(["fmt", "--all", "--check"]))?;

    section("clippy (native, every crate and target)");
    run(cmd("cargo").args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    section("clippy (the client, wasm32)");
    run(cmd("cargo").args([
        "clippy",
        "-p",
        "framechat",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The core crates' WebAssembly-only code (the scrubber's SIMD scan), which the
    // client's run above does not lint: clippy checks only the packages it is given.
    run(cmd("cargo").args([
        "clippy",
        "-p",
        "framechat-scrub",
        "-p",
        "framechat-wire",
        "-p",
        "framechat-thumbhash",
        "-p",
        "framechat-bench-wasm",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))?;

    section("native tests: wire, scrub, thumbhash, relay, xtask, client state, tidy checks");
    run(cmd("cargo").args(["test", "--workspace"]))?;

    if !args.native_only {
        browser_tests()?;
        end_to_end()?;
    }
    if !args.no_fuzz {
        crate::fuzz::seeds_only()?;
    }
    section("all tests passed");
    Ok(())
}

/// The client's `wasm_bindgen_test` tests in headless Chromium, with a real
/// relay to talk to.
fn browser_tests() -> Result<()> {
    section("browser tests (wasm_bindgen_test in headless Chromium)");
    run(cmd("cargo").args(["build", "-p", "framechat-relay", "--bin", "framechat-relay"]))?;
    let addr = free_addr()?;
    let relay_bin = target_dir().join("debug/framechat-relay");
    // The test pages come from wasm-bindgen-test-runner's own server, on a port of its
    // choosing: another origin than the relay's, which it refuses unless told.
    let relay = Spawned::serve(
        cmd(&relay_bin).args(["--listen", &addr.to_string(), "--allow-origin", "*"]),
        addr,
    )?;
    run(cmd("cargo")
        .args([
            "test",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "framechat",
        ])
        .env("CHROMEDRIVER", installed("chromedriver"))
        .env("FRAMECHAT_TEST_WS", format!("ws://{addr}/ws/chat/"))
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120"))?;
    drop(relay);
    Ok(())
}

/// Builds the release client and the relay, then runs the end-to-end tests
/// (Node's test runner driving Chromium through playwright-core).
fn end_to_end() -> Result<()> {
    section("end-to-end tests (release build, real relay, two or more browser pages)");
    let dist = crate::run::build_client()?;
    let relay = crate::run::build_relay()?;
    let e2e = root().join("tests/e2e");
    run(cmd("node")
        .args(["--test", "--test-concurrency=1"])
        .current_dir(&e2e)
        .env("FRAMECHAT_DIST", &dist)
        .env("FRAMECHAT_RELAY_BIN", &relay)
        .env("CHROMIUM", installed("chromium"))
        .env("FRAMECHAT_PYTHON", setup::e2e_python()))?;
    Ok(())
}

/// Where `command` is: the one set-up checked for on the tool `PATH`, else Debian's.
fn installed(command: &str) -> PathBuf {
    setup::which(command).unwrap_or_else(|| PathBuf::from("/usr/bin").join(command))
}
