//! Project automation: `cargo xtask setup | run | test | bench | fuzz`.
//!
//! - `setup` installs what a fresh machine lacks (and skips what is there).
//! - `run` builds the client, starts the relay serving it, prints the URL.
//! - `test` runs every test the project has.
//! - `bench` measures framechat in a real browser and writes target/bench/.
//! - `fuzz` runs the cargo-fuzz targets for a while.

mod bench;
mod fuzz;
mod run;
mod setup;
mod test;
mod util;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "framechat's project commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install every tool the tests need (also done by `run` and `test`).
    Setup,
    /// Build the client in release, start the relay serving it, print the URL.
    Run(run::RunArgs),
    /// Run every test: fmt, clippy, native, browser, end-to-end, fuzz seeds.
    Test(test::TestArgs),
    /// Benchmarks in headless Chromium and of the relay; writes target/bench/.
    Bench(bench::BenchArgs),
    /// Run the fuzz targets for a while.
    Fuzz(fuzz::FuzzArgs),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Setup => {
            setup::ensure(setup::Need::Tests)?;
            setup::ensure_fuzz()
        }
        Command::Run(args) => run::run(&args),
        Command::Test(args) => test::test(&args),
        Command::Bench(args) => bench::bench(&args),
        Command::Fuzz(args) => fuzz::fuzz(&args),
    }
}
