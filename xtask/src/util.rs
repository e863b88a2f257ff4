//! Small process helpers: run a command and check it (with or without a time limit), find a
//! free port, wait for a server, and a child process that is killed when dropped.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The repository root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Cargo's target directory, as cargo itself resolves it for this workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

/// Prints a section heading, so a long log is easy to scan.
pub fn section(title: &str) {
    eprintln!("\n==> {title}");
}

/// A command with the project's environment: run from the root, with the
/// project's tool folders first on `PATH`.
pub fn cmd(program: impl AsRef<OsStr>) -> Command {
    let mut c = Command::new(program);
    c.current_dir(root());
    c.env("PATH", crate::setup::tool_path());
    c
}

/// Runs `c` to completion, echoing it first; fails on a non-zero exit.
pub fn run(c: &mut Command) -> Result<()> {
    eprintln!("$ {}", show(c));
    let status = c
        .status()
        .with_context(|| format!("could not start {}", show(c)))?;
    if !status.success() {
        bail!("{} failed with {status}", show(c));
    }
    Ok(())
}

/// Runs `c` and returns its trimmed standard output, or `None` if it could
/// not start or failed. For probing whether a tool is installed.
pub fn probe(c: &mut Command) -> Option<String> {
    let out = c.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Runs `c` for at most `limit`, echoing its output; returns its status and, when `capture`,
/// its standard output. Killed when the limit passes.
pub fn run_with_limit(
    c: &mut Command,
    limit: Duration,
    capture: bool,
) -> Result<(ExitStatus, String)> {
    if capture {
        c.stdout(Stdio::piped());
    }
    let mut child = Spawned::start(c)?;
    let (tx, rx) = mpsc::channel::<String>();
    let reader = child.child.stdout.take().map(|stdout| {
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
        if let Some(status) = child.child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            bail!("{} took longer than {limit:?}; stopped", child.name);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if let Some(reader) = reader {
        let _ = reader.join();
    }
    let text: Vec<String> = rx.try_iter().collect();
    Ok((status, text.join("\n")))
}

fn show(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for arg in c.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// An address on 127.0.0.1 whose port was free a moment ago.
pub fn free_addr() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a probe port")?;
    Ok(listener.local_addr()?)
}

/// Waits until something accepts TCP connections on `addr`.
fn wait_for_port(addr: SocketAddr, within: Duration, child: &mut Spawned) -> Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.child.try_wait()? {
            bail!(
                "{} exited with {status} before listening on {addr}",
                child.name
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{} did not listen on {addr} within {within:?}", child.name)
}

/// A background process, killed and reaped when dropped.
pub struct Spawned {
    pub child: Child,
    /// The command line, for messages.
    pub name: String,
}

impl Spawned {
    pub fn start(c: &mut Command) -> Result<Self> {
        let name = show(c);
        eprintln!("$ {name} &");
        let child = c
            .spawn()
            .with_context(|| format!("could not start {name}"))?;
        Ok(Self { child, name })
    }

    /// Starts the server `c` and waits (30 s at most) until it listens on `addr`.
    pub fn serve(c: &mut Command, addr: SocketAddr) -> Result<Self> {
        let mut server = Self::start(c)?;
        wait_for_port(addr, Duration::from_secs(30), &mut server)?;
        Ok(server)
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
