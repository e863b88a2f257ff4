//! The `cluster` section: the burst shape (10 rooms of 20 clients, one sender per room sends
//! 10 × 256 KiB) through the Node `ws` relay, our relay in memory, and our relay as a cluster
//! of 1, 2 and 3 nodes on one `redis-server`, in rotating order: delivered MB/s, p99, peak RSS
//! of each node and of Redis, lost. framechat-load spreads each room's clients over the nodes
//! in turn (the sender on the first), so with N nodes most deliveries cross Redis.
//!
//! On one machine the nodes share its cores with Redis and the load generator, so the
//! figures say what the cluster costs, not what several machines would give; the README
//! reasons about that.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Result, bail};

use super::load::{BURST, LoadResult, parse_load};
use super::report::{Goal, Report, json_str};
use crate::util::{Spawned, cmd, free_addr, root, run_with_limit, section, target_dir};

/// What serves the rooms in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Node,
    Memory,
    /// `n` framechat-relay nodes on one Redis.
    Redis(usize),
}

impl Setup {
    const ALL: [Setup; 5] = [
        Setup::Node,
        Setup::Memory,
        Setup::Redis(1),
        Setup::Redis(2),
        Setup::Redis(3),
    ];

    fn label(self) -> String {
        match self {
            Setup::Node => "node".to_owned(),
            Setup::Memory => "memory".to_owned(),
            Setup::Redis(n) => format!("redis-{n}"),
        }
    }

    fn title(self) -> String {
        match self {
            Setup::Node => "Node ws relay".to_owned(),
            Setup::Memory => "framechat-relay, in memory".to_owned(),
            Setup::Redis(1) => "framechat-relay, 1 node on Redis".to_owned(),
            Setup::Redis(n) => format!("framechat-relay, {n} nodes on Redis"),
        }
    }
}

/// A `redis-server` on a free port with its own temporary directory and no persistence;
/// killed and its directory removed when dropped.
struct Redis {
    server: Spawned,
    url: String,
    dir: PathBuf,
}

impl Redis {
    fn start() -> Result<Self> {
        let addr = free_addr()?;
        let dir = target_dir().join(format!("tmp/bench-redis-{}", addr.port()));
        std::fs::create_dir_all(&dir)?;
        let server = Spawned::serve(
            cmd("redis-server")
                .args(["--bind", "127.0.0.1", "--port"])
                .arg(addr.port().to_string())
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(&dir)
                .stdout(Stdio::null()),
            addr,
        )?;
        Ok(Self {
            server,
            url: format!("redis://{addr}/"),
            dir,
        })
    }

    fn pid(&self) -> u32 {
        self.server.child.id()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.server.child.kill();
        let _ = self.server.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Peak resident memory of `pid` in kB (`VmHWM`), and user + system CPU seconds so far.
fn peak_and_cpu(pid: u32) -> (Option<u64>, Option<f64>) {
    let hwm = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        });
    let cpu = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = stat.get(stat.rfind(')')? + 1..)?.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        });
    (hwm, cpu)
}

/// Peak RSS (kB) of each relay as framechat-load printed it (`… memory after: VmHWM: N kB …`).
fn node_peaks(r: &LoadResult) -> Vec<u64> {
    r.lines
        .iter()
        .filter(|l| l.contains("memory after:"))
        .filter_map(|l| {
            let tail = &l[l.find("VmHWM:")? + "VmHWM:".len()..];
            tail.split_whitespace().next()?.parse().ok()
        })
        .collect()
}

/// One run of `setup` and what it measured.
struct Run {
    setup: Setup,
    result: LoadResult,
    /// Redis's CPU seconds during the run (cluster setups).
    redis_cpu: Option<f64>,
}

/// Starts what `setup` needs, runs framechat-load through it, stops it.
fn run_once(
    setup: Setup,
    relay: &Path,
    load: &Path,
    redis: &Redis,
    args: &[String],
) -> Result<Run> {
    let nodes = match setup {
        Setup::Node | Setup::Memory => 1,
        Setup::Redis(n) => n,
    };
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..nodes {
        let addr = free_addr()?;
        let server = if setup == Setup::Node {
            Spawned::serve(
                cmd("node")
                    .arg(root().join("bench/node-relay/server.js"))
                    .arg(addr.port().to_string())
                    .current_dir(root().join("bench/node-relay"))
                    .stdout(Stdio::null()),
                addr,
            )?
        } else {
            let mut c = cmd(relay);
            c.env("RUST_LOG", "warn")
                .arg("--listen")
                .arg(addr.to_string())
                .stdout(Stdio::null());
            if setup != Setup::Memory {
                c.arg("--redis").arg(&redis.url);
            }
            Spawned::serve(&mut c, addr)?
        };
        urls.push(format!("ws://{addr}/ws/chat/"));
        servers.push(server);
    }
    let mut c = cmd(load);
    c.args(["--label", &setup.label()]);
    for url in &urls {
        c.arg("--url").arg(url);
    }
    for server in &servers {
        c.arg("--server-pid").arg(server.child.id().to_string());
    }
    c.args(args).args(["--timeout", "300"]);
    let (_, redis_before) = peak_and_cpu(redis.pid());
    let (status, output) = run_with_limit(&mut c, Duration::from_secs(360), true)?;
    let (_, redis_after) = peak_and_cpu(redis.pid());
    drop(servers);
    Ok(Run {
        setup,
        result: parse_load(&setup.label(), status, &output),
        redis_cpu: match (setup, redis_before, redis_after) {
            (Setup::Redis(_), Some(a), Some(b)) => Some(b - a),
            _ => None,
        },
    })
}

/// Runs every setup `rounds` times in rotating order and records the figures; the goal
/// recorded is that every cluster run delivered everything, in order.
pub fn measure(relay: &Path, quick: bool, report: &mut Report) -> Result<()> {
    section("bench: relay cluster (burst shape over 1, 2, 3 nodes on one Redis, and Node ws)");
    let load = target_dir().join("server/framechat-load");
    if !load.exists() {
        bail!("needs {}", load.display());
    }
    let args: Vec<String> = BURST.map(str::to_owned).to_vec();
    let rounds = if quick { 1 } else { 3 };
    let redis = Redis::start()?;
    let mut runs = Vec::new();
    for round in 0..rounds {
        // Rotate the order so that no setup always runs first (or right after another).
        let mut order = Setup::ALL.to_vec();
        order.rotate_left(round % Setup::ALL.len());
        for setup in order {
            runs.push(run_once(setup, relay, &load, &redis, &args)?);
        }
    }
    let (redis_peak, _) = peak_and_cpu(redis.pid());
    drop(redis);

    let opt = |v: Option<f64>| v.map_or_else(|| "?".to_owned(), |v| format!("{v:.1}"));
    let mut md = format!(
        "### Relay cluster, burst shape (10 rooms of 20 clients, 1 sender per room, 10 × 256 KiB; \
         {rounds} rotating rounds)\n\n\
         | setup | MB/s delivered | p50 ms | p99 ms | peak RSS per node, MB | Redis CPU s | lost | reordered |\n\
         |---|---:|---:|---:|---|---:|---:|---:|\n"
    );
    let mut json = Vec::new();
    for run in &runs {
        let r = &run.result;
        let peaks: Vec<String> = node_peaks(r)
            .iter()
            .map(|kb| format!("{:.0}", *kb as f64 / 1024.0))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            run.setup.title(),
            opt(r.mb_s),
            opt(r.p50),
            opt(r.p99),
            peaks.join(" / "),
            run.redis_cpu
                .map_or_else(|| "–".to_owned(), |c| format!("{c:.2}")),
            r.lost.map_or_else(|| "?".to_owned(), |v| v.to_string()),
            r.reordered
                .map_or_else(|| "?".to_owned(), |v| v.to_string()),
        );
        let num = |v: Option<f64>| v.map_or_else(|| "null".to_owned(), |v| format!("{v}"));
        json.push(format!(
            r#"{{"setup":{},"mb_s":{},"p50_ms":{},"p99_ms":{},"peak_rss_kb":[{}],"redis_cpu_s":{},"lost":{},"success":{}}}"#,
            json_str(&run.setup.label()),
            num(r.mb_s),
            num(r.p50),
            num(r.p99),
            node_peaks(r).iter().map(u64::to_string).collect::<Vec<_>>().join(","),
            num(run.redis_cpu),
            r.lost.map_or_else(|| "null".to_owned(), |v| v.to_string()),
            r.status.success(),
        ));
    }
    let median = |setup: Setup| -> Option<f64> {
        let mut v: Vec<f64> = runs
            .iter()
            .filter(|r| r.setup == setup)
            .filter_map(|r| r.result.mb_s)
            .collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let medians: Vec<String> = Setup::ALL
        .iter()
        .map(|&s| format!("{} {} MB/s", s.title(), opt(median(s))))
        .collect();
    let _ = writeln!(
        md,
        "\nMedians: {}. Redis peak RSS {} MB.",
        medians.join("; "),
        redis_peak.map_or_else(|| "?".to_owned(), |kb| format!("{:.0}", kb as f64 / 1024.0))
    );
    let clean = runs.iter().filter(|r| r.setup != Setup::Node).all(|r| {
        r.result.status.success() && r.result.lost == Some(0) && r.result.reordered == Some(0)
    });
    let goal = Goal {
        pass: clean,
        hard: false,
        section: "cluster".into(),
        name: "cluster: 1, 2 and 3 nodes on one Redis deliver everything, in order".into(),
        measured: medians.join("; "),
    };
    println!("  {}  {}: {}", goal.word(), goal.name, goal.measured);
    report.markdown.push(md);
    report
        .json
        .push(("cluster".into(), format!("[{}]", json.join(","))));
    report.goals.push(goal);
    Ok(())
}
