//! `cargo xtask run`: builds the release client and the relay, starts the relay serving
//! both on one address and prints the URL to open. With `--cluster N`: a redis-server and
//! N relays on consecutive ports sharing rooms through it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::setup::{self, Need};
use crate::util::{Spawned, cmd, free_addr, root, run as run_cmd, section, target_dir};

/// Options of `cargo xtask run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Address the relay listens on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Start a redis-server (temporary directory, free port, no persistence) and N relays
    /// on consecutive ports from --listen's, all sharing rooms through it.
    #[arg(long, value_name = "N")]
    pub cluster: Option<u16>,
    /// Room the printed URL opens.
    #[arg(long, default_value = "lobby")]
    pub room: String,
    /// Further flags for the relay (see `cargo run -p framechat-relay -- --help`).
    #[arg(last = true)]
    pub relay_args: Vec<String>,
}

pub fn run(args: &RunArgs) -> Result<()> {
    setup::ensure(Need::Client)?;
    if args.cluster.is_some() {
        setup::ensure_redis()?;
    }
    let dist = build_client()?;
    let relay = build_relay()?;
    let addr: SocketAddr = args
        .listen
        .to_socket_addrs()
        .with_context(|| format!("bad --listen address {}", args.listen))?
        .next()
        .context("--listen resolved to no address")?;

    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    if let Some(n) = args.cluster {
        return cluster(args, n, addr, &host, &dist, &relay);
    }

    section("starting the relay");
    let mut server = Spawned::serve(
        cmd(&relay)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--static")
            .arg(&dist)
            .args(&args.relay_args),
        addr,
    )?;
    println!(
        "\nframechat is running: open http://{host}:{}/?room={}\n(Ctrl-C stops it)",
        addr.port(),
        args.room
    );
    let status = server.child.wait()?;
    eprintln!("relay exited with {status}");
    Ok(())
}

/// A redis-server and `n` relays on consecutive ports from `addr`'s, until Ctrl-C (which
/// reaches every process of the terminal's group) or until one of them exits.
fn cluster(
    args: &RunArgs,
    n: u16,
    addr: SocketAddr,
    host: &str,
    dist: &std::path::Path,
    relay: &std::path::Path,
) -> Result<()> {
    anyhow::ensure!(n >= 1, "--cluster needs at least one relay");
    section("starting redis-server");
    let redis_addr = free_addr()?;
    let dir = target_dir().join("cluster-redis");
    // A fresh, empty Redis every time: no history from an earlier run.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let port = redis_addr.port().to_string();
    let mut redis = Spawned::serve(
        cmd("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir),
        redis_addr,
    )?;
    let url = format!("redis://{redis_addr}/");
    section(&format!("starting {n} relays sharing rooms through {url}"));
    let mut relays = Vec::new();
    for i in 0..n {
        let port = addr
            .port()
            .checked_add(i)
            .context("--cluster: ports past 65535")?;
        let at = SocketAddr::new(addr.ip(), port);
        relays.push(Spawned::serve(
            cmd(relay)
                .arg("--listen")
                .arg(at.to_string())
                .arg("--static")
                .arg(dist)
                .arg("--redis")
                .arg(&url)
                .args(&args.relay_args),
            at,
        )?);
    }
    println!("\nframechat is running as a cluster of {n} relays on {url}; open any of:");
    for i in 0..n {
        println!("  http://{host}:{}/?room={}", addr.port() + i, args.room);
    }
    println!("(Ctrl-C stops everything)");
    // Whichever ends first ends the run; dropping the others kills them.
    loop {
        if let Some(status) = redis.child.try_wait()? {
            eprintln!("redis-server exited with {status}");
            break;
        }
        if let Some((i, status)) = relays
            .iter_mut()
            .enumerate()
            .find_map(|(i, r)| r.child.try_wait().ok().flatten().map(|s| (i, s)))
        {
            eprintln!(
                "relay {} exited with {status}",
                addr.port() + u16::try_from(i)?
            );
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    drop(relays);
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `trunk build --release`; returns the dist folder.
pub fn build_client() -> Result<PathBuf> {
    section("building the client (trunk build --release)");
    run_cmd(cmd("trunk").args(["build", "--release"]))?;
    Ok(root().join("dist"))
}

/// Builds the relay with the `server` profile; returns the binary's path.
pub fn build_relay() -> Result<PathBuf> {
    section("building the relay");
    run_cmd(cmd("cargo").args([
        "build",
        "--profile",
        "server",
        "-p",
        "framechat-relay",
        "--bins",
    ]))?;
    Ok(target_dir().join("server/framechat-relay"))
}
