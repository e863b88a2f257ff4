//! The builds the bench measures: the release client (trunk, or the same pipeline by hand
//! when trunk fails) and the scrubber's bench WASM for the browser pages.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::report::first_line;
use crate::util::{cmd, root, run, section, target_dir};

/// The release client: `trunk build --release` (what `cargo xtask run` serves). If trunk
/// fails, the same pipeline by hand — cargo build of the app's bin, wasm-bindgen, wasm-opt at
/// index.html's level, index.html with the loader — into target/bench/dist, and the returned
/// note says so (empty when trunk built it).
pub fn client(out: &Path) -> Result<(PathBuf, String)> {
    let trunk_err = match crate::run::build_client() {
        Ok(dist) => return Ok((dist, String::new())),
        Err(e) => e,
    };
    eprintln!(
        "!! trunk build --release failed ({trunk_err:#}); building the same pipeline by hand"
    );
    section("bench: building the client without trunk (cargo + wasm-bindgen + wasm-opt)");
    run(cmd("cargo").args([
        "build",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "framechat",
        "--bin",
        "framechat",
    ]))
    .context("the client does not build either")?;
    let dist = out.join("dist");
    if dist.exists() {
        fs::remove_dir_all(&dist)?;
    }
    fs::create_dir_all(&dist)?;
    let wasm = target_dir().join("wasm32-unknown-unknown/release/framechat.wasm");
    let (_, level) = bindgen_and_opt(&wasm, &dist, "framechat", false)?;
    let html = fs::read_to_string(root().join("index.html"))?;
    let loader = "<script type=\"module\">import init from '/framechat.js'; \
                  await init({ module_or_path: '/framechat_bg.wasm' });</script>";
    let page: String = html
        .lines()
        .map(|l| {
            if l.contains("data-trunk") && l.contains("rel=\"rust\"") {
                loader.to_owned()
            } else if l.contains("data-trunk") && l.contains("rel=\"css\"") {
                l.replace("data-trunk rel=\"css\"", "rel=\"stylesheet\"")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    fs::write(dist.join("index.html"), page)?;
    fs::copy(root().join("style.css"), dist.join("style.css"))?;
    Ok((
        dist,
        format!(
            "built without trunk (cargo build -p framechat --bin framechat, wasm-bindgen, \
             wasm-opt -O{level}) because trunk build --release failed: {}",
            first_line(&format!("{trunk_err:#}"))
        ),
    ))
}

/// Builds the bench WASM the way the client is built: release profile (the scrubber at
/// `opt-level = 3`), wasm-bindgen, then wasm-opt at the level index.html asks trunk for.
///
/// With `fast`, a reference build instead (its own target dir, timed as an extra row): the
/// same code with the whole build at `opt-level = 3` and WASM SIMD, so the report shows what
/// the shipped profile (size first, the scrubber alone at 3) costs in speed, if anything.
pub fn bench_wasm(pkg: &Path, fast: bool) -> Result<()> {
    section(if fast {
        "bench: building the scrubber reference (whole build at opt-level 3, simd128)"
    } else {
        "bench: building the scrubber for the browser (framechat-bench-wasm)"
    });
    let mut build = cmd("cargo");
    build.args(["build", "--release", "--target", "wasm32-unknown-unknown"]);
    build.args(["-p", "framechat-bench-wasm"]);
    let target = if fast {
        let dir = target_dir().join("bench-simd");
        build
            .args(["--config", "profile.release.opt-level=3"])
            .env("CARGO_TARGET_DIR", &dir)
            .env("RUSTFLAGS", "-C target-feature=+simd128");
        dir
    } else {
        target_dir()
    };
    run(&mut build)?;
    let wasm = target.join("wasm32-unknown-unknown/release/framechat_bench_wasm.wasm");
    let (bg, level) = bindgen_and_opt(&wasm, pkg, "framechat_bench_wasm", fast)?;
    eprintln!(
        "bench wasm: {} bytes after wasm-opt -O{level}",
        fs::metadata(&bg)?.len()
    );
    Ok(())
}

/// wasm-bindgen (`--target web`) of `wasm` into `out_dir` as `name.js` and `name_bg.wasm`,
/// then wasm-opt of the latter in place at index.html's level (with SIMD when `simd`).
/// Returns the optimised file and the level.
fn bindgen_and_opt(
    wasm: &Path,
    out_dir: &Path,
    name: &str,
    simd: bool,
) -> Result<(PathBuf, String)> {
    run(cmd("wasm-bindgen")
        .args(["--target", "web", "--no-typescript", "--out-name", name])
        .arg("--out-dir")
        .arg(out_dir)
        .arg(wasm))?;
    let level = wasm_opt_level();
    let bg = out_dir.join(format!("{name}_bg.wasm"));
    let mut opt = cmd("wasm-opt");
    opt.arg(format!("-O{level}")).arg(&bg).arg("-o").arg(&bg);
    if simd {
        opt.arg("--enable-simd");
    }
    run(&mut opt)?;
    Ok((bg, level))
}

/// The `data-wasm-opt` level of index.html's rust link (what trunk applies to the client).
fn wasm_opt_level() -> String {
    let html = fs::read_to_string(root().join("index.html")).unwrap_or_default();
    html.split("data-wasm-opt=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .filter(|l| !l.is_empty() && l.len() <= 2 && l.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or("z")
        .to_owned()
}
