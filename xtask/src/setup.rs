//! Installs what a fresh machine lacks, and skips what is already there: the wasm target,
//! the pinned trunk / wasm-bindgen / wasm-opt, Chromium and chromedriver, exiftool, ffmpeg,
//! redis-server, a Python with Django Channels for the end-to-end suite, the npm packages of
//! the tests and benchmarks, for fuzzing nightly and cargo-fuzz, and for the bench Python's
//! Pillow.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{cmd, probe, root, run, section};

/// Versions the client build is pinned to. wasm-bindgen-cli must equal the
/// `wasm-bindgen` crate version in Cargo.toml; trunk 0.22 needs a newer rustc.
pub const TRUNK_VERSION: &str = "0.21.14";
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// What a command needs installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Building the client: wasm target, trunk, wasm-bindgen, wasm-opt.
    Client,
    /// Everything the tests use: the client tools, Chromium, chromedriver,
    /// exiftool, ffmpeg, the npm packages of the tests and benchmarks.
    Tests,
}

/// `PATH` with the project's tool folders first: wasm-opt from npm and cargo's bin dir.
pub fn tool_path() -> OsString {
    let mut dirs = vec![root().join("xtask/npm/node_modules/.bin")];
    if let Some(home) = env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    } else if let Some(home) = env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    if let Some(path) = env::var_os("PATH") {
        dirs.extend(env::split_paths(&path));
    }
    env::join_paths(dirs).unwrap_or_default()
}

/// Installs what `need` requires; a no-op where all of it is present.
pub fn ensure(need: Need) -> Result<()> {
    section("set-up: checking tools (installs only what is missing)");
    ensure_wasm_target()?;
    ensure_cargo_tool("trunk", &["trunk", "--version"], TRUNK_VERSION, true)?;
    ensure_cargo_tool(
        "wasm-bindgen-cli",
        &["wasm-bindgen", "--version"],
        WASM_BINDGEN_VERSION,
        // Its lockfile names a crate version the registry no longer has.
        false,
    )?;
    ensure_npm(&root().join("xtask/npm"))?;
    if need >= Need::Tests {
        ensure_apt(&[
            ("chromium", "chromium"),
            ("chromium-driver", "chromedriver"),
            ("libimage-exiftool-perl", "exiftool"),
            // By path: some images put a stand-in `convert` earlier on PATH.
            ("imagemagick", "/usr/bin/convert"),
            ("redis-server", "redis-server"),
            // The scrubber's movie tests compare framemd5 before and after.
            ("ffmpeg", "ffmpeg"),
        ])?;
        ensure_e2e_python()?;
        for dir in ["tests/e2e", "bench/node-relay", "bench/browser"] {
            let dir = root().join(dir);
            if dir.join("package.json").exists() {
                ensure_npm(&dir)?;
            }
        }
    }
    Ok(())
}

/// Installs Debian's redis-server if missing (`cargo xtask run --cluster`).
pub fn ensure_redis() -> Result<()> {
    ensure_apt(&[("redis-server", "redis-server")])
}

/// Installs nightly Rust and cargo-fuzz for `cargo xtask fuzz`.
pub fn ensure_fuzz() -> Result<()> {
    let toolchains = probe(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if toolchains.lines().any(|l| l.starts_with("nightly")) {
        eprintln!("ok: nightly toolchain");
    } else {
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    if probe(cmd("cargo").args(["fuzz", "--version"])).is_some() {
        eprintln!("ok: cargo-fuzz");
    } else {
        run(cmd("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

fn ensure_wasm_target() -> Result<()> {
    let installed =
        probe(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        eprintln!("ok: wasm32-unknown-unknown target");
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// `cargo install CRATE --version VERSION` unless `probe_cmd` prints that version.
fn ensure_cargo_tool(krate: &str, probe_cmd: &[&str], version: &str, locked: bool) -> Result<()> {
    let (program, args) = probe_cmd.split_first().context("empty probe")?;
    let found = probe(cmd(program).args(args)).unwrap_or_default();
    if found.split_whitespace().any(|w| w == version) {
        eprintln!("ok: {krate} {version}");
        return Ok(());
    }
    eprintln!("installing {krate} {version} (found: {found:?}); this takes a few minutes once");
    let mut c = cmd("cargo");
    c.args(["install", krate, "--version", version]);
    if locked {
        c.arg("--locked");
    }
    run(&mut c)
}

/// `npm ci` (or `npm install` without a lockfile) where `node_modules` is missing or stale.
fn ensure_npm(dir: &Path) -> Result<()> {
    let modules = dir.join("node_modules");
    let lock = dir.join("package-lock.json");
    let installed_lock = modules.join(".package-lock.json");
    let fresh = match (lock.metadata(), installed_lock.metadata()) {
        (Ok(l), Ok(i)) => l.modified()? <= i.modified()?,
        (Err(_), Ok(_)) => true,
        _ => false,
    };
    let name = dir
        .strip_prefix(root())
        .unwrap_or(dir)
        .display()
        .to_string();
    if fresh {
        eprintln!("ok: npm packages in {name}");
        return Ok(());
    }
    let verb = if lock.exists() { "ci" } else { "install" };
    run(cmd("npm")
        .args([verb, "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir))
}

/// Installs Debian packages whose command is missing.
fn ensure_apt(packages: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, command)| which(command).is_none())
        .map(|(package, _)| *package)
        .collect();
    for (package, command) in packages {
        if !missing.contains(package) {
            eprintln!("ok: {command} ({package})");
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)
}

/// `apt-get update` and `apt-get install` of `packages`, as root or through `sudo -n`.
fn apt_install(packages: &[&str]) -> Result<()> {
    let root_user = probe(Command::new("id").arg("-u")).is_some_and(|id| id == "0");
    let sudo: &[&str] = if root_user {
        &[]
    } else if which("sudo").is_some() {
        &["sudo", "-n"]
    } else {
        bail!(
            "missing Debian packages {packages:?}: install them with apt-get as root, then run again"
        );
    };
    let apt = |args: &[&str]| -> Result<()> {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        let (program, rest) = all.split_first().context("empty command")?;
        run(Command::new(program)
            .args(rest)
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    apt(&["-o", "DPkg::Lock::Timeout=600", "update", "-qq"])?;
    let mut install = vec!["-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq"];
    install.extend(packages.iter().copied());
    apt(&install)
}

/// Python with Pillow (and its littleCMS module) for the bench's photo generator: Debian's
/// `python3-pil` through apt-get when possible, else pip into the user site.
pub fn ensure_pillow() -> Result<()> {
    let has_pillow = || probe(cmd("python3").args(["-c", "import PIL.ImageCms"])).is_some();
    if has_pillow() {
        eprintln!("ok: python3 Pillow");
        return Ok(());
    }
    if which("apt-get").is_some() {
        match apt_install(&["python3-pil"]) {
            Ok(()) if has_pillow() => return Ok(()),
            Ok(()) => {
                eprintln!("!! python3-pil installed, but python3 does not import PIL.ImageCms")
            }
            Err(e) => eprintln!("!! python3-pil not installed: {e:#}"),
        }
    }
    eprintln!("installing Pillow with pip (user site)");
    let plain = run(cmd("python3").args(["-m", "pip", "install", "--user", "--quiet", "pillow"]));
    if plain.is_err() {
        // Debian's Python is "externally managed" (PEP 668).
        run(cmd("python3").args([
            "-m",
            "pip",
            "install",
            "--user",
            "--quiet",
            "--break-system-packages",
            "pillow",
        ]))?;
    }
    Ok(())
}

/// The Python the end-to-end tests run a Django Channels site with (`tests/e2e/django`).
pub fn e2e_python() -> PathBuf {
    crate::util::target_dir().join("e2e-python/bin/python3")
}

/// Django, Channels, channels_redis and daphne, pinned, in a virtual environment of the
/// project's own (`target/e2e-python`): Debian has no Channels, and its Python is
/// externally managed.
fn ensure_e2e_python() -> Result<()> {
    const PACKAGES: &[&str] = &[
        "Django==5.2.19",
        "channels==4.3.2",
        "channels-redis==4.3.0",
        "daphne==4.2.3",
    ];
    let python = e2e_python();
    let ready = || {
        probe(cmd(&python).args(["-c", "import django, channels, channels_redis, daphne"]))
            .is_some()
    };
    if ready() {
        eprintln!("ok: Python with Django Channels ({})", python.display());
        return Ok(());
    }
    let venv = crate::util::target_dir().join("e2e-python");
    if run(cmd("python3").args(["-m", "venv", "--clear"]).arg(&venv)).is_err() {
        // Debian's python3 makes virtual environments only with python3-venv.
        apt_install(&["python3-venv"])?;
        run(cmd("python3").args(["-m", "venv", "--clear"]).arg(&venv))?;
    }
    run(cmd(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PACKAGES))?;
    if !ready() {
        bail!(
            "{} does not import Django Channels after installing it",
            python.display()
        );
    }
    Ok(())
}

/// The path of `command` on the tool `PATH` (or `command` itself if it is a
/// path), if it exists.
pub fn which(command: &str) -> Option<PathBuf> {
    if command.contains('/') {
        return Some(PathBuf::from(command)).filter(|p| p.is_file());
    }
    env::split_paths(&tool_path())
        .map(|dir| dir.join(command))
        .find(|p| p.is_file())
}
