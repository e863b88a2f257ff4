//! The browser sections (`scrub`, `wire`, `latency`, `memory`, `reload`): stages the photos, the bench
//! pages, the bench WASM and the app under one origin, starts the relay serving them, runs
//! `bench/browser/run.mjs` (which measures them all in one headless Chromium) and merges
//! what it wrote (`goals.tsv`, `errors.tsv`, `browser.md`, `browser.json`) into the report.

use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::report::{Goal, Report};
use super::{BenchArgs, Section, build};
use crate::setup;
use crate::util::{Spawned, cmd, free_addr, root, run, run_with_limit, section};

/// Stages the pages, starts the relay serving them, runs the Node driver for `sections`.
pub fn measure(
    sections: &[Section],
    relay: &Path,
    dist: Option<&Path>,
    out: &Path,
    args: &BenchArgs,
    report: &mut Report,
) -> Result<()> {
    let www = out.join("www");
    let page_dir = www.join("bench");

    section("bench: the photos (12 MP camera-like JPEG, small pictures)");
    setup::ensure_pillow()?;
    let photo = page_dir.join("photo.jpg");
    let small = page_dir.join("small.jpg");
    let maker = root().join("bench/browser/make_photo.py");
    run(cmd("python3").arg(&maker).arg(&photo))?;
    run(cmd("python3").arg(&maker).arg(&small).arg("320x240"))?;

    copy_dir(&root().join("bench/browser/www"), &page_dir)?;
    fs::copy(
        root().join("bench/browser/node_modules/piexifjs/piexif.js"),
        page_dir.join("piexif.js"),
    )
    .context("piexifjs is not installed in bench/browser (npm ci)")?;

    let wasm_ok = if sections.iter().any(|s| s.needs_bench_wasm()) {
        build::bench_wasm(&page_dir.join("pkg"), false)
            .map_err(|e| {
                for s in sections.iter().filter(|s| s.needs_bench_wasm()) {
                    report.error(s.name(), &e);
                }
            })
            .is_ok()
    } else {
        true
    };
    if wasm_ok && sections.contains(&Section::Scrub) {
        // Optional: a failed reference build only loses its row.
        if let Err(e) = build::bench_wasm(&page_dir.join("pkg-simd"), true) {
            eprintln!("!! scrubber reference not built: {e:#}");
        }
    }
    if let Some(dist) = dist.filter(|_| sections.iter().any(|s| s.needs_app())) {
        // The app at /, the bench pages at /bench/: one origin, one relay.
        copy_dir(dist, &www)?;
    }
    let runnable: Vec<&str> = sections
        .iter()
        .filter(|s| (!s.needs_bench_wasm() || wasm_ok) && (!s.needs_app() || dist.is_some()))
        .map(|s| s.name())
        .collect();
    if runnable.is_empty() {
        return Ok(());
    }

    section("bench: starting the relay (serving the pages too)");
    let addr = free_addr()?;
    let log = fs::File::create(out.join("relay-browser.log"))?;
    let server = Spawned::serve(
        cmd(relay)
            .env("RUST_LOG", "warn")
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--static")
            .arg(&www)
            // The benchmark sends far more per client than a person would: the per-client rate
            // limits (which would pace it) are lifted; message size and queue limits stay.
            .args(["--rate-messages", "0", "--rate-bytes", "0"])
            .stdout(log.try_clone()?)
            .stderr(log),
        addr,
    )?;

    section("bench: browser sections (bench/browser/run.mjs, headless Chromium)");
    let mut node = cmd("node");
    node.arg(root().join("bench/browser/run.mjs"))
        .arg("--base")
        .arg(format!("http://{addr}/"))
        .arg("--out")
        .arg(out)
        .arg("--sections")
        .arg(runnable.join(","))
        .arg("--photo")
        .arg(&photo)
        .arg("--small")
        .arg(&small)
        .current_dir(root().join("bench/browser"));
    match app_url_cap() {
        Some(cap) => {
            node.arg("--url-cap").arg(cap.to_string());
        }
        None => eprintln!(
            "!! no `const DEFAULT_MAX_MEDIA` in src/state(.rs|/mod.rs): the memory goal uses \
             run.mjs's own cap"
        ),
    }
    if let Some(chromium) = setup::which("chromium") {
        node.arg("--chromium").arg(chromium);
    }
    if args.quick {
        node.arg("--quick");
    }
    let limit = Duration::from_secs(if args.quick { 900 } else { 2400 });
    let (status, _) = run_with_limit(&mut node, limit, false)?;
    drop(server);

    let goals = fs::read_to_string(out.join("goals.tsv")).unwrap_or_default();
    for line in goals.lines() {
        let mut f = line.splitn(4, '\t');
        if let (Some(verdict), Some(section), Some(name), Some(measured)) =
            (f.next(), f.next(), f.next(), f.next())
        {
            report.goals.push(Goal {
                pass: verdict == "PASS",
                hard: false,
                section: section.into(),
                name: name.into(),
                measured: measured.into(),
            });
        }
    }
    if let Ok(md) = fs::read_to_string(out.join("browser.md")) {
        report.markdown.push(md);
    }
    if let Ok(json) = fs::read_to_string(out.join("browser.json")) {
        report.json.push(("browser".into(), json));
    }
    let errors = fs::read_to_string(out.join("errors.tsv")).unwrap_or_default();
    for line in errors.lines() {
        if let Some((section, message)) = line.split_once('\t') {
            report.errors.push((section.to_owned(), message.to_owned()));
        }
    }
    if !status.success() && errors.trim().is_empty() {
        bail!("the browser driver exited with {status} (see the log above)");
    }
    Ok(())
}

/// The app's cap on live media (object URLs), read from the `state` module (a file or a
/// folder).
fn app_url_cap() -> Option<u64> {
    ["src/state.rs", "src/state/mod.rs"]
        .into_iter()
        .filter_map(|f| fs::read_to_string(root().join(f)).ok())
        .find_map(|src| url_cap_in(&src))
}

/// The value of `const DEFAULT_MAX_MEDIA: usize = 1_000;` in `src`.
fn url_cap_in(src: &str) -> Option<u64> {
    let line = src
        .lines()
        .find(|l| l.contains("const DEFAULT_MAX_MEDIA"))?;
    line.split('=')
        .nth(1)?
        .trim()
        .trim_end_matches(';')
        .replace('_', "")
        .parse()
        .ok()
}

/// Copies the folder `from` into `to`, recursively.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            fs::copy(entry.path(), &dest)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::url_cap_in;

    #[test]
    fn the_url_cap_is_read_from_its_constant() {
        let src = "pub const DEFAULT_MAX_ENTRIES: usize = 500;\npub const DEFAULT_MAX_MEDIA: usize = 1_20;\n";
        assert_eq!(url_cap_in(src), Some(120));
        assert_eq!(url_cap_in("pub const OTHER: usize = 3;"), None);
    }
}
