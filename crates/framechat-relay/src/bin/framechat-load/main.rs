//! `framechat-load`: drives image-sized traffic through any `/ws/chat/<room>/` relay and prints what arrived.

use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;

mod idle;
mod load;

use load::{LoadConfig, run};

/// Load test for a framechat relay (ours or any other with the same route shape).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Base URL of the rooms; `load<N>-<run>/` is appended (a new run tag each run).
    /// Repeat it for the nodes of a cluster: each room's clients take them in turn.
    #[arg(long = "url", default_value = "ws://127.0.0.1:8080/ws/chat/")]
    urls: Vec<String>,
    /// Clients.
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// Rooms (client i joins room i % rooms).
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    /// Messages in total, split evenly between clients.
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Bytes per message.
    #[arg(long, default_value_t = 204_800)]
    size: usize,
    /// Own messages a client may have in flight before its echo returns.
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Senders per room (the others only receive); 0: every client sends.
    #[arg(long, default_value_t = 0)]
    senders_per_room: usize,
    /// Instead of traffic: hold this many idle connections (over --rooms
    /// rooms) and print the relay's memory per connection (needs --server-pid).
    #[arg(long)]
    idle: Option<usize>,
    /// Seconds before giving up.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// PID of the relay process, to print its peak and current memory (Linux).
    /// Repeat it for the nodes of a cluster (in the order of `--url`).
    #[arg(long = "server-pid")]
    server_pids: Vec<u32>,
    /// Label printed with the results.
    #[arg(long, default_value = "relay")]
    label: String,
}

fn memory_of(pid: u32) -> String {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return format!("cannot read /proc/{pid}/status");
    };
    status
        .lines()
        .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

/// User and system CPU seconds used so far by `pid`, from /proc/PID/stat
/// (fields 14 and 15, in clock ticks of 1/100 s on Linux).
fn cpu_seconds(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; it ends at the last ')'.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3, so field n is at index n - 3.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime / 100.0, stime / 100.0))
}

/// Resident and peak memory of `pid` in kB, from /proc/PID/status.
fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// `--idle N`: the relay's memory with N idle connections open.
async fn idle_run(args: &Args, count: usize) -> anyhow::Result<()> {
    let (Some(&pid), Some(url), 1, 1) = (
        args.server_pids.first(),
        args.urls.first(),
        args.server_pids.len(),
        args.urls.len(),
    ) else {
        anyhow::bail!("--idle needs one --url and its relay's --server-pid");
    };
    if let Some(limit) = idle::nofile_limit() {
        if usize::try_from(limit).unwrap_or(usize::MAX) < count + 64 {
            anyhow::bail!(
                "open-file limit {limit} is too low for {count} connections (raise it: ulimit -n)"
            );
        }
    }
    let (before, _) = rss_kib(pid).context("cannot read the relay's memory")?;
    let mut after = None;
    idle::hold(url, count, args.rooms, Duration::from_secs(2), || {
        after = rss_kib(pid);
    })
    .await
    .context("idle connections failed")?;
    let (rss, hwm) = after.context("cannot read the relay's memory")?;
    #[allow(clippy::cast_precision_loss)]
    let per = rss.saturating_sub(before) as f64 / count as f64;
    println!(
        "[{}] idle: {count} connections in {} rooms: relay RSS {rss} kB (peak {hwm} kB, {before} kB before): {per:.1} kB per connection",
        args.label, args.rooms
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cfg = LoadConfig {
        urls: args.urls.clone(),
        clients: args.clients,
        rooms: args.rooms,
        messages: args.messages,
        size: args.size,
        window: args.window,
        senders_per_room: args.senders_per_room,
        timeout: Duration::from_secs(args.timeout),
    };
    if let Some(count) = args.idle {
        return idle_run(&args, count).await;
    }
    // "relay" for a single relay, "node N" for the nodes of a cluster.
    let name = |n: usize| {
        if args.server_pids.len() == 1 {
            "relay".to_owned()
        } else {
            format!("node {}", n + 1)
        }
    };
    let cpu_before: Vec<_> = args.server_pids.iter().map(|&p| cpu_seconds(p)).collect();
    for (n, &pid) in args.server_pids.iter().enumerate() {
        println!(
            "[{}] {} memory before: {}",
            args.label,
            name(n),
            memory_of(pid)
        );
    }
    let report = run(&cfg).await.context("load run failed")?;
    println!(
        "[{}] {} clients, {} rooms, {} messages of {} bytes, window {} -> {}",
        args.label,
        cfg.clients,
        cfg.rooms,
        cfg.messages,
        cfg.size,
        cfg.window,
        cfg.urls.join(" ")
    );
    for line in report.to_string().lines() {
        println!("[{}] {line}", args.label);
    }
    for (n, (&pid, before)) in args.server_pids.iter().zip(cpu_before).enumerate() {
        println!(
            "[{}] {} memory after: {}",
            args.label,
            name(n),
            memory_of(pid)
        );
        if let (Some((u0, s0)), Some((u1, s1))) = (before, cpu_seconds(pid)) {
            println!(
                "[{}] {} CPU during the run: {:.2} s user + {:.2} s system",
                args.label,
                name(n),
                u1 - u0,
                s1 - s0
            );
        }
    }
    if report.lost > 0 || report.reordered > 0 || report.duplicated > 0 {
        anyhow::bail!(
            "{} lost, {} reordered, {} duplicated",
            report.lost,
            report.reordered,
            report.duplicated
        );
    }
    Ok(())
}
