//! `cargo xtask run`: builds the release client and the relay, starts the relay serving
//! both on one address and prints the URL to open.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::setup::{self, Need};
use crate::util::{Spawned, cmd, root, run as run_cmd, section, target_dir};

/// Options of `cargo xtask run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Address the relay listens on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Room the printed URL opens.
    #[arg(long, default_value = "lobby")]
    pub room: String,
    /// Further flags for the relay (see `cargo run -p framechat-relay -- --help`).
    #[arg(last = true)]
    pub relay_args: Vec<String>,
}

pub fn run(args: &RunArgs) -> Result<()> {
    setup::ensure(Need::Client)?;
    let dist = build_client()?;
    let relay = build_relay()?;
    let addr: SocketAddr = args
        .listen
        .to_socket_addrs()
        .with_context(|| format!("bad --listen address {}", args.listen))?
        .next()
        .context("--listen resolved to no address")?;

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
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    println!(
        "\nframechat is running: open http://{host}:{}/?room={}\n(Ctrl-C stops it)",
        addr.port(),
        args.room
    );
    let status = server.child.wait()?;
    eprintln!("relay exited with {status}");
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
