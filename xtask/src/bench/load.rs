//! The `load` section: the relay engineer's load tool (`framechat-load`) against our relay
//! and against the Node `ws` relay, same load, alternating rounds, in two shapes (long:
//! everyone sends; burst: one sender per room), then the memory of idle connections
//! ([`super::idle`]).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Result, bail};

use super::report::{Goal, Report, json_str};
use crate::util::{Spawned, cmd, free_addr, root, run_with_limit, section, target_dir};

/// What one framechat-load run printed, picked apart.
pub(super) struct LoadResult {
    pub label: String,
    pub status: ExitStatus,
    pub lines: Vec<String>,
    pub mb_s: Option<f64>,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub lost: Option<u64>,
    pub reordered: Option<u64>,
}

/// One traffic shape, run through both relays in alternating rounds.
struct Shape {
    /// Short name (JSON key, labels).
    key: &'static str,
    /// Markdown heading.
    title: String,
    /// framechat-load flags besides the URL.
    args: Vec<String>,
    rounds: usize,
}

/// framechat-load's flags for the burst shape: 10 rooms of 20 clients, one sender per room
/// sends 10 × 256 KiB at once (also what the cluster section runs over 1, 2 and 3 nodes).
pub(super) const BURST: [&str; 12] = [
    "--clients",
    "200",
    "--rooms",
    "10",
    "--senders-per-room",
    "1",
    "--messages",
    "100",
    "--size",
    "262144",
    "--window",
    "10",
];

/// What our relay must do against Node's in every shape (median MB/s).
const GOAL_RATIO: f64 = 1.2;

/// Runs the shapes against both relays, then the idle-connection memory,
/// and records each comparison as a goal.
pub fn measure(relay: &Path, quick: bool, report: &mut Report) -> Result<()> {
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
    let shapes = [
        Shape {
            key: "load",
            title: format!(
                "Relay load, long (200 clients, 10 rooms, {messages} messages of 200 KiB, every client \
                 sends one at a time)"
            ),
            args: ["--clients", "200", "--rooms", "10", "--messages", messages]
                .map(str::to_owned)
                .to_vec(),
            rounds: if quick { 1 } else { 3 },
        },
        Shape {
            key: "burst",
            title: "Relay load, burst (10 rooms of 20 clients, 1 sender per room sends 10 × 256 KiB at \
                    once)"
                .to_owned(),
            args: BURST.map(str::to_owned).to_vec(),
            rounds: if quick { 1 } else { 7 },
        },
    ];
    for shape in &shapes {
        compare(relay, &load, &node_relay, shape, report)?;
    }
    let idle = if quick { 2_000 } else { 10_000 };
    super::idle::measure(relay, &load, &node_relay, idle, report)
}

/// One shape through both relays, alternating rounds (rust, node; node, rust; …): on a shared
/// machine the load of the moment moves the figures a lot, and a fixed order would favour one
/// side.
fn compare(
    relay: &Path,
    load: &Path,
    node_relay: &Path,
    shape: &Shape,
    report: &mut Report,
) -> Result<()> {
    let rounds = shape.rounds;
    let mut results = Vec::new();
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            ["rust", "node"]
        } else {
            ["node", "rust"]
        };
        for label in order {
            results.push(load_once(relay, load, node_relay, label, &shape.args)?);
        }
    }

    let mut md = format!(
        "### {} ({rounds} alternating rounds)\n\n\
         | relay | MB/s delivered | p50 ms | p99 ms | lost | reordered | exit |\n|---|---:|---:|---:|---:|---:|---|\n",
        shape.title
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
    let ratio = match (ours, theirs) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let lost: u64 = ours_runs.iter().filter_map(|r| r.lost).sum();
    let reordered: u64 = ours_runs.iter().filter_map(|r| r.reordered).sum();
    let goal = Goal {
        pass: clean && ratio.is_some_and(|r| r >= GOAL_RATIO),
        hard: false,
        section: "load".into(),
        name: format!(
            "{}: our relay ≥ {GOAL_RATIO}× Node ws throughput, zero lost/reordered",
            shape.key
        ),
        measured: format!(
            "median {} MB/s vs Node {} MB/s ({}×) over {rounds} rounds; our relay lost {lost}, \
             reordered {reordered}",
            opt(ours),
            opt(theirs),
            ratio.map_or_else(|| "?".to_owned(), |r| format!("{r:.2}")),
        ),
    };
    let _ = writeln!(
        md,
        "\nMedians: ours {} MB/s, Node {} MB/s.",
        opt(ours),
        opt(theirs)
    );
    report.markdown.push(md);
    report
        .json
        .push((shape.key.into(), format!("[{}]", json.join(","))));
    println!("  {}  {}: {}", goal.word(), goal.name, goal.measured);
    report.goals.push(goal);
    Ok(())
}

/// One framechat-load run against a fresh relay (ours with its default limits, or Node's).
fn load_once(
    relay: &Path,
    load: &Path,
    node_relay: &Path,
    label: &str,
    args: &[String],
) -> Result<LoadResult> {
    let addr = free_addr()?;
    let server = if label == "rust" {
        Spawned::serve(
            cmd(relay)
                .env("RUST_LOG", "warn")
                .arg("--listen")
                .arg(addr.to_string())
                .stdout(Stdio::null()),
            addr,
        )?
    } else {
        Spawned::serve(
            cmd("node")
                .arg(node_relay)
                .arg(addr.port().to_string())
                .current_dir(root().join("bench/node-relay"))
                .stdout(Stdio::null()),
            addr,
        )?
    };
    let (status, output) = run_with_limit(
        cmd(load)
            .args(["--label", label, "--url"])
            .arg(format!("ws://{addr}/ws/chat/"))
            .args(args)
            .args(["--timeout", "300", "--server-pid"])
            .arg(server.child.id().to_string()),
        Duration::from_secs(360),
        true,
    )?;
    drop(server);
    Ok(parse_load(label, status, &output))
}

/// Picks the throughput line (`… MB/s delivered … p50 … p99 …`) and the counts line
/// (`… N lost, M reordered …`) out of framechat-load's output.
pub(super) fn parse_load(label: &str, status: ExitStatus, output: &str) -> LoadResult {
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

/// The number just before the first `unit` in `line`.
fn number_before(line: &str, unit: &str) -> Option<f64> {
    let head = &line[..line.find(unit)?];
    head.split_whitespace().last()?.parse().ok()
}

/// The number just after the first `key` in `line` (a trailing comma dropped).
fn number_after(line: &str, key: &str) -> Option<f64> {
    let tail = &line[line.find(key)? + key.len()..];
    tail.split_whitespace()
        .next()?
        .trim_end_matches(',')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt as _;
    use std::process::ExitStatus;

    use super::parse_load;

    #[test]
    fn the_figures_of_a_load_run_are_picked_out_of_its_output() {
        let output = "[rust] connecting 200 clients\n\
             [rust] sent 2000 messages, delivered 39800/40000 (200 lost, 3 reordered, 0 duplicated)\n\
             [rust] 812.4 MB/s delivered (8153600000 bytes in 10.037 s); latency p50 41.5 ms, p99 180.2 ms, max 300.0 ms";
        let r = parse_load("rust", ExitStatus::from_raw(0), output);
        assert_eq!(r.label, "rust");
        assert_eq!(r.lines.len(), 3);
        assert_eq!(r.mb_s, Some(812.4));
        assert_eq!(r.p50, Some(41.5));
        assert_eq!(r.p99, Some(180.2));
        assert_eq!(r.lost, Some(200));
        assert_eq!(r.reordered, Some(3));
    }

    #[test]
    fn a_run_that_printed_no_figures_has_none() {
        let r = parse_load(
            "node",
            ExitStatus::from_raw(256),
            "error: connection refused",
        );
        assert!(!r.status.success());
        assert_eq!((r.mb_s, r.p50, r.p99), (None, None, None));
        assert_eq!((r.lost, r.reordered), (None, None));
    }
}
