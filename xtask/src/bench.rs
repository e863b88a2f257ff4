//! `cargo xtask bench`: framechat measured in a real browser against what people use instead,
//! printed and written to `target/bench/` (`bench.json`, `bench.md`).
//!
//! Sections (`--only` picks some; all by default):
//!
//! | section   | what                                                                        |
//! |-----------|-----------------------------------------------------------------------------|
//! | `scrub`   | our WASM scrubber vs piexifjs vs canvas re-encoding vs a plain copy, one page |
//! | `wire`    | bytes on the wire for one photo: our frames vs base64 in JSON               |
//! | `latency` | pick a 12 MP photo on page A → shown on page B, the app vs a bare WebSocket |
//! | `memory`  | live object URLs and JS heap of the app after 100/250/500 received images    |
//! | `size`    | the release client's .wasm and JS glue, raw and gzip -9 (fails over budget) |
//! | `load`    | framechat-load through our relay and through the Node `ws` relay            |
//!
//! The browser sections run in `bench/browser/run.mjs` (Playwright driving the system
//! Chromium); this file builds and serves what they need, runs the native sections and
//! merges the results. Everything it starts it stops, and every wait has a time limit.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::setup::{self, Need};
use crate::util::{Spawned, cmd, free_port, probe, root, run, section, wait_for_port};

/// The release client's .wasm may not grow past this, gzip -9 (issue 5).
const WASM_GZIP_BUDGET: u64 = 300_000;

/// One part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    Scrub,
    Wire,
    Latency,
    Memory,
    Size,
    Load,
}

impl Section {
    const ALL: [Section; 6] = [
        Section::Size,
        Section::Scrub,
        Section::Wire,
        Section::Latency,
        Section::Memory,
        Section::Load,
    ];

    fn name(self) -> &'static str {
        match self {
            Section::Scrub => "scrub",
            Section::Wire => "wire",
            Section::Latency => "latency",
            Section::Memory => "memory",
            Section::Size => "size",
            Section::Load => "load",
        }
    }

    fn in_browser(self) -> bool {
        matches!(
            self,
            Section::Scrub | Section::Wire | Section::Latency | Section::Memory
        )
    }
}

/// Options of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Fewer repetitions and a smaller relay load: a smoke run, not figures to quote.
    #[arg(long)]
    pub quick: bool,
    /// Run only these sections (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Section>,
}

/// A goal checked by a section: PASS or MISS and what was measured.
struct Goal {
    pass: bool,
    section: String,
    name: String,
    measured: String,
}

/// What the run collected, merged into the report at the end.
#[derive(Default)]
struct Report {
    goals: Vec<Goal>,
    /// `"name": value` members of the JSON report, value already JSON.
    json: Vec<(String, String)>,
    markdown: Vec<String>,
    /// Sections that could not be measured, and why.
    errors: Vec<(String, String)>,
    /// A hard failure (the size budget): the command exits non-zero.
    failed: Vec<String>,
    /// How the client was built, when not by `trunk build --release` alone.
    built_with: String,
    /// The machine's load averages: timings on a busy machine are slower and noisier.
    loadavg: String,
}

impl Report {
    fn error(&mut self, section: &str, e: &anyhow::Error) {
        eprintln!("\n!! {section}: not measured: {e:#}");
        self.errors.push((section.to_owned(), format!("{e:#}")));
        self.markdown.push(format!(
            "### {section}\n\nNot measured: {}\n",
            first_line(&format!("{e:#}"))
        ));
    }
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    let started = Instant::now();
    let wanted: Vec<Section> = if args.only.is_empty() {
        Section::ALL.to_vec()
    } else {
        Section::ALL
            .into_iter()
            .filter(|s| args.only.contains(s))
            .collect()
    };
    let want = |s: Section| wanted.contains(&s);
    setup::ensure(Need::Tests)?;
    let load_before = loadavg();

    let out = root().join("target/bench");
    let www = out.join("www");
    let page_dir = www.join("bench");
    if www.exists() {
        fs::remove_dir_all(&www).with_context(|| format!("clearing {}", www.display()))?;
    }
    fs::create_dir_all(&page_dir)?;
    for stale in ["browser.json", "browser.md", "goals.tsv", "errors.tsv"] {
        let _ = fs::remove_file(out.join(stale));
    }
    let mut report = Report::default();

    // Builds first, so that a failing build is reported against the sections needing it.
    let dist = if want(Section::Size) || want(Section::Latency) || want(Section::Memory) {
        match client(&out) {
            Ok((dist, how)) => {
                report.built_with = how;
                Some(dist)
            }
            Err(e) => {
                for s in [Section::Size, Section::Latency, Section::Memory] {
                    if want(s) {
                        report.error(s.name(), &e);
                    }
                }
                None
            }
        }
    } else {
        None
    };
    let relay = if wanted.iter().any(|s| s.in_browser() || *s == Section::Load) {
        match crate::run::build_relay() {
            Ok(_) => Some(target_dir().join("server/framechat-relay")),
            Err(e) => {
                report.error("relay build", &e);
                None
            }
        }
    } else {
        None
    };

    if want(Section::Size) {
        if let Some(dist) = &dist {
            if let Err(e) = size_section(dist, &mut report) {
                report.error("size", &e);
            }
        }
    }

    let browser: Vec<Section> = wanted.iter().copied().filter(|s| s.in_browser()).collect();
    if !browser.is_empty() {
        if let Some(relay) = &relay {
            if let Err(e) =
                browser_sections(&browser, relay, dist.as_deref(), &out, args, &mut report)
            {
                report.error("browser", &e);
            }
        }
    }

    if want(Section::Load) {
        if let Some(relay) = &relay {
            if let Err(e) = load_section(relay, args.quick, &mut report) {
                report.error("load", &e);
            }
        }
    }

    report.loadavg = format!("{load_before} at the start, {} at the end", loadavg());
    write_report(&out, &report, args, &wanted, started.elapsed())?;
    if !report.failed.is_empty() {
        bail!("bench failed: {}", report.failed.join("; "));
    }
    if !report.errors.is_empty() {
        let names: Vec<&str> = report.errors.iter().map(|(s, _)| s.as_str()).collect();
        bail!("bench incomplete: not measured: {}", names.join(", "));
    }
    Ok(())
}

/// `/proc/loadavg`'s 1, 5 and 15 minute load averages and the CPU count, when readable.
fn loadavg() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_owned(),
        |s| {
            format!(
                "load {} on {cpus} CPUs",
                s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
            )
        },
    )
}

/// Cargo's target directory, as cargo itself resolves it for this workspace.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

/// The release client: `trunk build --release` (what `cargo xtask run` serves). If trunk
/// fails, the same pipeline by hand — cargo build of the app's bin, wasm-bindgen, wasm-opt at
/// index.html's level, index.html with the loader — into target/bench/dist, and the report
/// says so.
fn client(out: &Path) -> Result<(PathBuf, String)> {
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
    run(cmd("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--out-name",
            "framechat",
            "--out-dir",
        ])
        .arg(&dist)
        .arg(&wasm))?;
    let level = wasm_opt_level();
    let bg = dist.join("framechat_bg.wasm");
    run(cmd("wasm-opt")
        .arg(format!("-O{level}"))
        .arg(&bg)
        .arg("-o")
        .arg(&bg))?;
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

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

// ------------------------------------------------------------------------------- size

fn gzip_len(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .arg(path)
        .stderr(Stdio::inherit())
        .output()
        .context("running gzip")?;
    if !out.status.success() {
        bail!("gzip {} failed with {}", path.display(), out.status);
    }
    Ok(out.stdout.len() as u64)
}

/// Sizes of `dist/*.wasm` and `dist/*.js`; fails the bench when the wasm is over budget.
fn size_section(dist: &Path, report: &mut Report) -> Result<()> {
    section("bench: size of the release client (trunk build --release)");
    let mut files: Vec<PathBuf> = fs::read_dir(dist)
        .with_context(|| format!("reading {}", dist.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm" || x == "js"))
        .collect();
    files.sort();
    if !files
        .iter()
        .any(|p| p.extension().is_some_and(|x| x == "wasm"))
    {
        bail!("no .wasm in {}", dist.display());
    }
    let mut md = String::from("### Size of the release client\n\n");
    if !report.built_with.is_empty() {
        println!("  NOTE: {}", report.built_with);
        let _ = writeln!(md, "Note: {}.\n", report.built_with);
    }
    md.push_str("| file | raw | gzip -9 |\n|---|---:|---:|\n");
    let mut json = Vec::new();
    let mut wasm_gzip = 0;
    println!("  {:<28} {:>10} {:>10}", "file", "raw", "gzip -9");
    for f in &files {
        let name = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let raw = fs::metadata(f)?.len();
        let gz = gzip_len(f)?;
        if f.extension().is_some_and(|x| x == "wasm") {
            wasm_gzip += gz;
        }
        println!(
            "  {name:<28} {raw:>10} {gz:>10}   ({} raw, {} gzip)",
            kib(raw),
            kib(gz)
        );
        let _ = writeln!(
            md,
            "| {name} | {raw} B ({}) | {gz} B ({}) |",
            kib(raw),
            kib(gz)
        );
        json.push(format!(
            r#"{{"file":{},"raw":{raw},"gzip":{gz}}}"#,
            json_str(&name)
        ));
    }
    let pass = wasm_gzip <= WASM_GZIP_BUDGET;
    let measured = format!(
        "{wasm_gzip} bytes gzip ({}) vs budget {WASM_GZIP_BUDGET} bytes",
        kib(wasm_gzip)
    );
    println!(
        "  {}  release .wasm ≤ 300 KB gzip: {measured}",
        pass_word(pass, true)
    );
    let _ = writeln!(
        md,
        "\nBudget: the .wasm at most {WASM_GZIP_BUDGET} bytes gzip -9 (the bench fails above it)."
    );
    report.markdown.push(md);
    report.json.push((
        "size".into(),
        format!(
            r#"{{"files":[{}],"wasm_gzip":{wasm_gzip},"budget":{WASM_GZIP_BUDGET},"pass":{pass}}}"#,
            json.join(",")
        ),
    ));
    report.goals.push(Goal {
        pass,
        section: "size".into(),
        name: "release .wasm ≤ 300 KB gzip (hard limit)".into(),
        measured: measured.clone(),
    });
    if !pass {
        report
            .failed
            .push(format!("client .wasm over budget: {measured}"));
    }
    Ok(())
}

fn kib(bytes: u64) -> String {
    // Display only: sizes are far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    let k = bytes as f64 / 1024.0;
    format!("{k:.1} KiB")
}

fn pass_word(pass: bool, hard: bool) -> &'static str {
    match (pass, hard) {
        (true, _) => "PASS",
        (false, true) => "FAIL",
        (false, false) => "MISS",
    }
}

// ------------------------------------------------------------------------------- browser

/// Python with Pillow (and its littleCMS module) for the photo generator: Debian's
/// `python3-pil` through apt-get when possible, else pip into the user site.
fn ensure_pillow() -> Result<()> {
    let has_pillow = || probe(cmd("python3").args(["-c", "import PIL.ImageCms"])).is_some();
    if has_pillow() {
        eprintln!("ok: python3 Pillow");
        return Ok(());
    }
    let root_user = probe(Command::new("id").arg("-u")).is_some_and(|id| id == "0");
    if setup::which("apt-get").is_some() {
        let mut apt = if root_user {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        apt.env("DEBIAN_FRONTEND", "noninteractive").args([
            "-o",
            "DPkg::Lock::Timeout=600",
            "install",
            "-y",
            "-qq",
            "python3-pil",
        ]);
        if run(&mut apt).is_ok() && has_pillow() {
            return Ok(());
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

/// Builds the bench WASM the way the client is built: release profile (the scrubber at
/// `opt-level = 3`), wasm-bindgen, then wasm-opt at the level index.html asks trunk for.
///
/// With `fast`, a reference build instead (its own target dir, timed as an extra row): the
/// same code with the whole build at `opt-level = 3` and WASM SIMD, so the report shows what
/// the shipped profile (size first, the scrubber alone at 3) costs in speed, if anything.
fn build_bench_wasm(pkg: &Path, fast: bool) -> Result<()> {
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
    run(cmd("wasm-bindgen")
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(pkg)
        .arg(&wasm))?;
    let level = wasm_opt_level();
    let bg = pkg.join("framechat_bench_wasm_bg.wasm");
    let mut opt = cmd("wasm-opt");
    opt.arg(format!("-O{level}")).arg(&bg).arg("-o").arg(&bg);
    if fast {
        opt.arg("--enable-simd");
    }
    run(&mut opt)?;
    eprintln!(
        "bench wasm: {} bytes after wasm-opt -O{level}",
        fs::metadata(&bg)?.len()
    );
    Ok(())
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

/// The app's cap on live media (object URLs), read from src/state.rs.
fn app_url_cap() -> Option<u64> {
    let src = fs::read_to_string(root().join("src/state.rs")).ok()?;
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

/// Stages the pages, starts the relay serving them, runs the Node driver.
fn browser_sections(
    sections: &[Section],
    relay: &Path,
    dist: Option<&Path>,
    out: &Path,
    args: &BenchArgs,
    report: &mut Report,
) -> Result<()> {
    let www = out.join("www");
    let page_dir = www.join("bench");
    let mut runnable: Vec<Section> = Vec::new();
    let needs_app = |s: &Section| matches!(s, Section::Latency | Section::Memory);

    section("bench: the photos (12 MP camera-like JPEG, small pictures)");
    ensure_pillow()?;
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

    // The bench WASM: the scrub and wire sections time it, the memory run's script page
    // writes its frames with it; the app sections also need the built client.
    let needs_wasm = |s: &Section| matches!(s, Section::Scrub | Section::Wire | Section::Memory);
    let wasm_ok = if sections.iter().any(needs_wasm) {
        build_bench_wasm(&page_dir.join("pkg"), false)
            .map_err(|e| {
                for s in sections.iter().filter(|s| needs_wasm(s)) {
                    report.error(s.name(), &e);
                }
            })
            .is_ok()
    } else {
        true
    };
    if wasm_ok && sections.contains(&Section::Scrub) {
        // Optional: a failed reference build only loses its row.
        if let Err(e) = build_bench_wasm(&page_dir.join("pkg-simd"), true) {
            eprintln!("!! scrubber reference not built: {e:#}");
        }
    }
    if let Some(dist) = dist.filter(|_| sections.iter().any(needs_app)) {
        // The app at /, the bench pages at /bench/: one origin, one relay.
        copy_dir(dist, &www)?;
    }
    runnable.extend(
        sections
            .iter()
            .copied()
            .filter(|s| (!needs_wasm(s) || wasm_ok) && (!needs_app(s) || dist.is_some())),
    );
    if runnable.is_empty() {
        return Ok(());
    }

    section("bench: starting the relay (serving the pages too)");
    let port = free_port()?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let log = fs::File::create(out.join("relay-browser.log"))?;
    let mut server = Spawned::start(
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
    )?;
    wait_for_port(addr, Duration::from_secs(30), &mut server)?;

    section("bench: browser sections (bench/browser/run.mjs, headless Chromium)");
    let names: Vec<&str> = runnable.iter().map(|s| s.name()).collect();
    let mut node = cmd("node");
    node.arg(root().join("bench/browser/run.mjs"))
        .arg("--base")
        .arg(format!("http://{addr}/"))
        .arg("--out")
        .arg(out)
        .arg("--sections")
        .arg(names.join(","))
        .arg("--photo")
        .arg(&photo)
        .arg("--small")
        .arg(&small)
        .current_dir(root().join("bench/browser"));
    if let Some(cap) = app_url_cap() {
        node.arg("--url-cap").arg(cap.to_string());
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

/// Runs `c` for at most `limit`, echoing its output; returns its status and, when `capture`,
/// its standard output. Killed when the limit passes.
fn run_with_limit(c: &mut Command, limit: Duration, capture: bool) -> Result<(ExitStatus, String)> {
    if capture {
        c.stdout(Stdio::piped());
    }
    let mut child = Spawned::start(c)?;
    let (tx, rx) = mpsc::channel::<String>();
    let reader = child.0.stdout.take().map(|stdout| {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("{line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.0.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            bail!("{} took longer than {limit:?}; stopped", child.1);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if let Some(reader) = reader {
        let _ = reader.join();
    }
    let text: Vec<String> = rx.try_iter().collect();
    Ok((status, text.join("\n")))
}

// ------------------------------------------------------------------------------- load

/// What one framechat-load run printed, picked apart.
struct LoadResult {
    label: String,
    status: ExitStatus,
    lines: Vec<String>,
    mb_s: Option<f64>,
    p50: Option<f64>,
    p99: Option<f64>,
    lost: Option<u64>,
    reordered: Option<u64>,
}

fn number_before(line: &str, unit: &str) -> Option<f64> {
    let head = &line[..line.find(unit)?];
    head.split_whitespace().last()?.parse().ok()
}

fn number_after(line: &str, key: &str) -> Option<f64> {
    let tail = &line[line.find(key)? + key.len()..];
    tail.split_whitespace()
        .next()?
        .trim_end_matches(',')
        .parse()
        .ok()
}

fn parse_load(label: &str, status: ExitStatus, output: &str) -> LoadResult {
    let lines: Vec<String> = output.lines().map(str::to_owned).collect();
    let find = |needle: &str| lines.iter().find(|l| l.contains(needle)).cloned();
    let throughput = find("MB/s delivered");
    let counts = find(" lost, ");
    let count = |key: &str| -> Option<u64> {
        let line = counts.as_deref()?;
        let head = &line[..line.find(key)?];
        head.split(['(', ' '])
            .rfind(|w| !w.is_empty())?
            .parse()
            .ok()
    };
    LoadResult {
        label: label.to_owned(),
        status,
        mb_s: throughput.as_deref().and_then(|l| number_before(l, "MB/s")),
        p50: throughput.as_deref().and_then(|l| number_after(l, "p50")),
        p99: throughput.as_deref().and_then(|l| number_after(l, "p99")),
        lost: count(" lost"),
        reordered: count(" reordered"),
        lines,
    }
}

/// The relay engineer's load tool against our relay and the Node `ws` relay, same load.
fn load_section(relay: &Path, quick: bool, report: &mut Report) -> Result<()> {
    section("bench: relay load (framechat-load: our relay vs the Node ws relay)");
    let load = target_dir().join("server/framechat-load");
    let node_relay = root().join("bench/node-relay/server.js");
    if !load.exists() || !node_relay.exists() {
        bail!(
            "needs {} and {} (issue 3)",
            load.display(),
            node_relay.display()
        );
    }
    let messages = if quick { "400" } else { "2000" };
    // Alternating rounds (rust, node; node, rust; ...): on a shared machine the load of the
    // moment moves the figures a lot, and a fixed order would favour one side.
    let rounds = if quick { 1 } else { 3 };
    let mut results = Vec::new();
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            ["rust", "node"]
        } else {
            ["node", "rust"]
        };
        for label in order {
            results.push(load_once(relay, &load, &node_relay, label, messages)?);
        }
    }

    let mut md = format!(
        "### Relay load (200 clients, 10 rooms, {messages} messages of 200 KiB, framechat-load, \
         {rounds} alternating rounds)\n\n\
         | relay | MB/s delivered | p50 ms | p99 ms | lost | reordered | exit |\n|---|---:|---:|---:|---:|---:|---|\n"
    );
    let opt = |v: Option<f64>| v.map_or_else(|| "?".to_owned(), |v| format!("{v:.1}"));
    let opt_u = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
    let mut json = Vec::new();
    for r in &results {
        let name = if r.label == "rust" {
            "framechat-relay (Rust, server profile)"
        } else {
            "Node ws relay"
        };
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} | {} | {} |",
            opt(r.mb_s),
            opt(r.p50),
            opt(r.p99),
            opt_u(r.lost),
            opt_u(r.reordered),
            r.status
        );
        let num = |v: Option<f64>| v.map_or_else(|| "null".to_owned(), |v| format!("{v}"));
        let int = |v: Option<u64>| v.map_or_else(|| "null".to_owned(), |v| v.to_string());
        json.push(format!(
            r#"{{"relay":{},"mb_s":{},"p50_ms":{},"p99_ms":{},"lost":{},"reordered":{},"success":{},"output":[{}]}}"#,
            json_str(&r.label),
            num(r.mb_s),
            num(r.p50),
            num(r.p99),
            int(r.lost),
            int(r.reordered),
            r.status.success(),
            r.lines.iter().map(|l| json_str(l)).collect::<Vec<_>>().join(",")
        ));
    }
    let median = |label: &str| -> Option<f64> {
        let mut v: Vec<f64> = results
            .iter()
            .filter(|r| r.label == label)
            .map(|r| r.mb_s)
            .collect::<Option<Vec<f64>>>()?;
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let (ours, theirs) = (median("rust"), median("node"));
    let ours_runs: Vec<&LoadResult> = results.iter().filter(|r| r.label == "rust").collect();
    let clean = ours_runs
        .iter()
        .all(|r| r.status.success() && r.lost == Some(0) && r.reordered == Some(0));
    let faster = matches!((ours, theirs), (Some(a), Some(b)) if a >= b);
    let lost: u64 = ours_runs.iter().filter_map(|r| r.lost).sum();
    let reordered: u64 = ours_runs.iter().filter_map(|r| r.reordered).sum();
    let measured = format!(
        "median {} MB/s vs Node {} MB/s over {rounds} rounds; our relay lost {lost}, reordered {reordered}",
        opt(ours),
        opt(theirs),
    );
    let _ = writeln!(
        md,
        "\nMedians: ours {} MB/s, Node {} MB/s.",
        opt(ours),
        opt(theirs)
    );
    report.markdown.push(md);
    report
        .json
        .push(("load".into(), format!("[{}]", json.join(","))));
    println!(
        "  {}  our relay ≥ Node ws throughput, nothing lost or reordered: {measured}",
        pass_word(clean && faster, false)
    );
    report.goals.push(Goal {
        pass: clean && faster,
        section: "load".into(),
        name: "our relay ≥ Node ws throughput, zero lost/reordered".into(),
        measured,
    });
    Ok(())
}

/// One framechat-load run against a fresh relay (ours with its default limits, or Node's).
fn load_once(
    relay: &Path,
    load: &Path,
    node_relay: &Path,
    label: &str,
    messages: &str,
) -> Result<LoadResult> {
    let port = free_port()?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = if label == "rust" {
        Spawned::start(
            cmd(relay)
                .env("RUST_LOG", "warn")
                .arg("--listen")
                .arg(addr.to_string())
                .stdout(Stdio::null()),
        )?
    } else {
        Spawned::start(
            cmd("node")
                .arg(node_relay)
                .arg(port.to_string())
                .current_dir(root().join("bench/node-relay"))
                .stdout(Stdio::null()),
        )?
    };
    wait_for_port(addr, Duration::from_secs(30), &mut server)?;
    let (status, output) = run_with_limit(
        cmd(load)
            .args(["--label", label, "--url"])
            .arg(format!("ws://{addr}/ws/chat/"))
            .args(["--clients", "200", "--rooms", "10", "--messages", messages])
            .args(["--timeout", "300", "--server-pid"])
            .arg(server.0.id().to_string()),
        Duration::from_secs(360),
        true,
    )?;
    drop(server);
    Ok(parse_load(label, status, &output))
}

// ------------------------------------------------------------------------------- report

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn write_report(
    out: &Path,
    report: &Report,
    args: &BenchArgs,
    wanted: &[Section],
    took: Duration,
) -> Result<()> {
    section("bench: goals");
    let mut md = String::from("## framechat benchmarks\n\n");
    let _ = writeln!(
        md,
        "`cargo xtask bench{}` — sections: {}; {} s.\n",
        if args.quick { " --quick" } else { "" },
        wanted
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", "),
        took.as_secs()
    );
    let _ = writeln!(md, "Machine: {}.\n", report.loadavg);
    println!("  machine: {}", report.loadavg);
    md.push_str("| | section | goal | measured |\n|---|---|---|---|\n");
    for g in &report.goals {
        let word = if g.section == "size" {
            pass_word(g.pass, true)
        } else {
            pass_word(g.pass, false)
        };
        println!("  {word}  [{}] {}: {}", g.section, g.name, g.measured);
        let _ = writeln!(
            md,
            "| {word} | {} | {} | {} |",
            g.section, g.name, g.measured
        );
    }
    for (s, e) in &report.errors {
        println!("  ----  [{s}] not measured: {}", first_line(e));
        let _ = writeln!(
            md,
            "| ---- | {s} | not measured | {} |",
            first_line(e).replace('|', "\\|")
        );
    }
    md.push('\n');
    for part in &report.markdown {
        md.push_str(part);
        md.push('\n');
    }

    let mut json = String::from("{");
    let _ = write!(
        json,
        r#""quick":{},"machine":{},"sections":[{}],"seconds":{},"goals":[{}],"errors":[{}]"#,
        args.quick,
        json_str(&report.loadavg),
        wanted
            .iter()
            .map(|s| json_str(s.name()))
            .collect::<Vec<_>>()
            .join(","),
        took.as_secs(),
        report
            .goals
            .iter()
            .map(|g| format!(
                r#"{{"section":{},"goal":{},"pass":{},"measured":{}}}"#,
                json_str(&g.section),
                json_str(&g.name),
                g.pass,
                json_str(&g.measured)
            ))
            .collect::<Vec<_>>()
            .join(","),
        report
            .errors
            .iter()
            .map(|(s, e)| format!(r#"{{"section":{},"error":{}}}"#, json_str(s), json_str(e)))
            .collect::<Vec<_>>()
            .join(",")
    );
    for (k, v) in &report.json {
        let _ = write!(json, ",{}:{}", json_str(k), v.trim());
    }
    json.push_str("}\n");

    fs::create_dir_all(out)?;
    fs::write(out.join("bench.md"), md)?;
    fs::write(out.join("bench.json"), json)?;
    println!(
        "\nwritten: {} and {}",
        out.join("bench.md").display(),
        out.join("bench.json").display()
    );
    Ok(())
}
