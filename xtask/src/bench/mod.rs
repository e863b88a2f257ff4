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
//! | `reload`  | a reload of the app with 200 kept messages: first and all painted, socket open |
//! | `size`    | the release client's .wasm and JS glue, raw and gzip -9 (fails over budget) |
//! | `load`    | framechat-load through our relay and through the Node `ws` relay            |
//! | `cluster` | the burst load through 1, 2 and 3 relay nodes on one Redis, and Node's      |
//!
//! The browser sections run in `bench/browser/run.mjs` (Playwright driving the system
//! Chromium); this module builds and serves what they need, runs the native sections and
//! merges the results. Everything it starts it stops, and every wait has a time limit.
//!
//! Code map: this file is the driver (which sections, which builds, in which order);
//! [`build`] builds the release client and the bench WASM, [`size`] and [`load`] are the
//! native sections, [`browser`] stages the pages and runs the Node driver for the
//! browser sections (their per-section needs are [`Section::needs_bench_wasm`] and
//! [`Section::needs_app`]), and [`report`] collects the goals and writes the files.

mod browser;
mod build;
mod cluster;
mod idle;
mod load;
mod report;
mod size;

use std::fs;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::setup::{self, Need};
use crate::util::root;
use report::Report;

/// One part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    Scrub,
    Wire,
    Latency,
    Memory,
    Reload,
    Size,
    Load,
    Cluster,
}

impl Section {
    /// Every section, in the order they run.
    const ALL: [Section; 8] = [
        Section::Size,
        Section::Scrub,
        Section::Wire,
        Section::Latency,
        Section::Memory,
        Section::Reload,
        Section::Load,
        Section::Cluster,
    ];

    fn name(self) -> &'static str {
        match self {
            Section::Scrub => "scrub",
            Section::Wire => "wire",
            Section::Latency => "latency",
            Section::Memory => "memory",
            Section::Reload => "reload",
            Section::Size => "size",
            Section::Load => "load",
            Section::Cluster => "cluster",
        }
    }

    /// Measured by `bench/browser/run.mjs` in headless Chromium.
    fn in_browser(self) -> bool {
        matches!(
            self,
            Section::Scrub | Section::Wire | Section::Latency | Section::Memory | Section::Reload
        )
    }

    /// Needs the release client (`trunk build --release`).
    fn needs_client(self) -> bool {
        matches!(
            self,
            Section::Size | Section::Latency | Section::Memory | Section::Reload
        )
    }

    /// Needs the app served at `/` next to the bench pages.
    fn needs_app(self) -> bool {
        matches!(self, Section::Latency | Section::Memory | Section::Reload)
    }

    /// Needs the bench WASM: the scrub and wire sections time it, the memory run's script
    /// page writes its frames with it.
    fn needs_bench_wasm(self) -> bool {
        matches!(self, Section::Scrub | Section::Wire | Section::Memory)
    }

    /// Needs the relay binary (to serve the pages, or to be loaded).
    fn needs_relay(self) -> bool {
        self.in_browser() || matches!(self, Section::Load | Section::Cluster)
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
    if www.exists() {
        fs::remove_dir_all(&www).with_context(|| format!("clearing {}", www.display()))?;
    }
    fs::create_dir_all(www.join("bench"))?;
    for stale in ["browser.json", "browser.md", "goals.tsv", "errors.tsv"] {
        let _ = fs::remove_file(out.join(stale));
    }
    let mut report = Report::default();

    // Builds first, so that a failing build is reported against the sections needing it.
    let dist = if wanted.iter().any(|s| s.needs_client()) {
        match build::client(&out) {
            Ok((dist, how)) => {
                report.built_with = how;
                Some(dist)
            }
            Err(e) => {
                for s in wanted.iter().filter(|s| s.needs_client()) {
                    report.error(s.name(), &e);
                }
                None
            }
        }
    } else {
        None
    };
    let relay = if wanted.iter().any(|s| s.needs_relay()) {
        match crate::run::build_relay() {
            Ok(relay) => Some(relay),
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
            if let Err(e) = size::measure(dist, &mut report) {
                report.error("size", &e);
            }
        }
    }

    let in_browser: Vec<Section> = wanted.iter().copied().filter(|s| s.in_browser()).collect();
    if !in_browser.is_empty() {
        if let Some(relay) = &relay {
            if let Err(e) =
                browser::measure(&in_browser, relay, dist.as_deref(), &out, args, &mut report)
            {
                report.error("browser", &e);
            }
        }
    }

    if want(Section::Load) {
        if let Some(relay) = &relay {
            if let Err(e) = load::measure(relay, args.quick, &mut report) {
                report.error("load", &e);
            }
        }
    }

    if want(Section::Cluster) {
        if let Some(relay) = &relay {
            if let Err(e) = cluster::measure(relay, args.quick, &mut report) {
                report.error("cluster", &e);
            }
        }
    }

    report.loadavg = format!("{load_before} at the start, {} at the end", loadavg());
    report::write(&out, &report, args, &wanted, started.elapsed())?;
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
