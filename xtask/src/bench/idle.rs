//! Part of the `load` section: the memory an idle WebSocket costs each relay. framechat-load
//! `--idle N` opens N connections that send nothing (people with a chat tab open), waits,
//! and reads the relay's resident memory; the figure is (RSS with them − RSS before) / N.
//! Both relays and the tool run with the open-file limit raised to its hard limit (`ulimit
//! -n`), here only: the relay's own defaults are not touched.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Result;

use super::report::{Goal, Report, json_str};
use crate::util::{Spawned, cmd, free_addr, root, run_with_limit};

/// Rooms the idle connections spread over (10 per room).
fn rooms(count: usize) -> usize {
    (count / 10).max(1)
}

/// `program args…` run by `sh` after raising the soft open-file limit to the hard one.
fn with_raised_nofile(program: &Path, args: &[String]) -> Command {
    let mut c = cmd("sh");
    c.arg("-c")
        .arg(r#"ulimit -n "$(ulimit -Hn)" && exec "$0" "$@""#)
        .arg(program)
        .args(args);
    c
}

/// What one relay's idle run printed: kB per connection and the whole line.
fn per_connection(output: &str) -> (Option<f64>, String) {
    let line = output
        .lines()
        .find(|l| l.contains("kB per connection"))
        .unwrap_or_default()
        .to_owned();
    let value = line
        .rsplit(": ")
        .next()
        .and_then(|tail| tail.split_whitespace().next())
        .and_then(|v| v.parse().ok());
    (value, line)
}

/// Measures both relays with `count` idle connections and records the goal: ours costs
/// at most what Node's costs per connection.
pub fn measure(
    relay: &Path,
    load: &Path,
    node_relay: &Path,
    count: usize,
    report: &mut Report,
) -> Result<()> {
    let mut results = Vec::new();
    for label in ["rust", "node"] {
        let addr = free_addr()?;
        let server = if label == "rust" {
            let args: Vec<String> = [
                "--listen".to_owned(),
                addr.to_string(),
                "--max-connections".to_owned(),
                (count + 100).to_string(),
                "--max-connections-per-ip".to_owned(),
                (count + 100).to_string(),
                "--max-rooms".to_owned(),
                (rooms(count) + 10).to_string(),
            ]
            .to_vec();
            Spawned::serve(
                with_raised_nofile(relay, &args)
                    .env("RUST_LOG", "warn")
                    .stdout(Stdio::null()),
                addr,
            )?
        } else {
            let node = Path::new("node");
            Spawned::serve(
                with_raised_nofile(
                    node,
                    &[node_relay.display().to_string(), addr.port().to_string()],
                )
                .current_dir(root().join("bench/node-relay"))
                .stdout(Stdio::null()),
                addr,
            )?
        };
        let args: Vec<String> = [
            "--label".to_owned(),
            label.to_owned(),
            "--url".to_owned(),
            format!("ws://{addr}/ws/chat/"),
            "--idle".to_owned(),
            count.to_string(),
            "--rooms".to_owned(),
            rooms(count).to_string(),
            "--server-pid".to_owned(),
            server.child.id().to_string(),
        ]
        .to_vec();
        let (status, output) = run_with_limit(
            &mut with_raised_nofile(load, &args),
            Duration::from_secs(300),
            true,
        )?;
        drop(server);
        let (kb, line) = per_connection(&output);
        println!("  {line}");
        results.push((label, status.success(), kb, line));
    }
    let kb = |label: &str| results.iter().find(|r| r.0 == label).and_then(|r| r.2);
    let (ours, theirs) = (kb("rust"), kb("node"));
    let opt = |v: Option<f64>| v.map_or_else(|| "?".to_owned(), |v| format!("{v:.1}"));
    let mut md = format!(
        "### Idle connections ({count} WebSockets in {} rooms, one client IP)\n\n\
         | relay | kB per connection | |\n|---|---:|---|\n",
        rooms(count)
    );
    let mut json = Vec::new();
    for (label, ok, kb, line) in &results {
        let _ = writeln!(md, "| {label} | {} | {line} |", opt(*kb));
        json.push(format!(
            r#"{{"relay":{},"kb_per_connection":{},"success":{ok},"output":{}}}"#,
            json_str(label),
            kb.map_or_else(|| "null".to_owned(), |v| format!("{v}")),
            json_str(line)
        ));
    }
    report.markdown.push(md);
    report
        .json
        .push(("idle".into(), format!("[{}]", json.join(","))));
    let goal = Goal {
        pass: matches!((ours, theirs), (Some(a), Some(b)) if a <= b),
        hard: false,
        section: "load".into(),
        name: "idle: our relay's memory per idle connection ≤ Node ws's".into(),
        measured: format!(
            "{} kB vs Node {} kB per connection, {count} connections",
            opt(ours),
            opt(theirs)
        ),
    };
    println!("  {}  {}: {}", goal.word(), goal.name, goal.measured);
    report.goals.push(goal);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::per_connection;

    #[test]
    fn the_figure_is_picked_out_of_the_idle_line() {
        let out = "[rust] idle: 10000 connections in 1000 rooms: relay RSS 42024 kB (peak 42024 kB, \
                   5040 kB before): 3.7 kB per connection\n";
        assert_eq!(per_connection(out).0, Some(3.7));
        assert_eq!(per_connection("error").0, None);
    }
}
