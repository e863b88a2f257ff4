//! `cargo xtask fuzz`: runs every cargo-fuzz target, either over its committed seeds only
//! (part of `cargo xtask test`) or for a while, printing libFuzzer's execution counts.

use anyhow::Result;

use crate::setup;
use crate::util::{cmd, root, run, section};

/// The fuzz targets in fuzz/Cargo.toml and their seed folders.
pub const TARGETS: [&str; 6] = [
    "decode",
    "open",
    "reassemble",
    "scrub",
    "movie",
    "thumbhash",
];

/// Options of `cargo xtask fuzz`.
#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Only these targets (default: all).
    pub targets: Vec<String>,
}

/// Every target over its seeds only: they build, and no seed crashes.
pub fn seeds_only() -> Result<()> {
    setup::ensure_fuzz()?;
    section("fuzz targets over their committed seeds");
    for target in TARGETS {
        let seeds = root().join("fuzz/seeds").join(target);
        run(cmd("cargo")
            .args(["+nightly", "fuzz", "run", target])
            .arg(&seeds)
            .args(["--", "-runs=0"]))?;
    }
    Ok(())
}

pub fn fuzz(args: &FuzzArgs) -> Result<()> {
    setup::ensure_fuzz()?;
    let targets: Vec<&str> = if args.targets.is_empty() {
        TARGETS.to_vec()
    } else {
        args.targets.iter().map(String::as_str).collect()
    };
    for target in targets {
        section(&format!("fuzzing {target} for {} s", args.seconds));
        // A scratch corpus, so the committed seeds stay small and reviewed.
        let corpus = root().join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        run(cmd("cargo")
            .args(["+nightly", "fuzz", "run", target])
            .arg(&corpus)
            .arg(root().join("fuzz/seeds").join(target))
            .args([
                "--",
                &format!("-max_total_time={}", args.seconds),
                "-print_final_stats=1",
            ]))?;
    }
    Ok(())
}
