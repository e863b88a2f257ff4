//! The `size` section: the release client's .wasm and JS glue, raw and gzip -9; the bench
//! fails when the .wasm is over its budget.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::report::{Goal, Report, json_str, kib};
use crate::util::section;

/// The release client's .wasm may not grow past this, gzip -9 (issue 5).
const WASM_GZIP_BUDGET: u64 = 300_000;

/// Sizes of `dist/*.wasm` and `dist/*.js`; fails the bench when the wasm is over budget.
pub fn measure(dist: &Path, report: &mut Report) -> Result<()> {
    section("bench: size of the release client (trunk build --release)");
    let is = |p: &Path, ext: &str| p.extension().is_some_and(|x| x == ext);
    let mut files: Vec<PathBuf> = fs::read_dir(dist)
        .with_context(|| format!("reading {}", dist.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is(p, "wasm") || is(p, "js"))
        .collect();
    files.sort();
    if !files.iter().any(|p| is(p, "wasm")) {
        bail!("no .wasm in {}", dist.display());
    }
    let mut md = String::from("### Size of the release client\n\n");
    if !report.built_with.is_empty() {
        println!("  NOTE: {}", report.built_with);
        let _ = writeln!(md, "Note: {}.\n", report.built_with);
    }
    md.push_str("| file | raw | gzip -9 |\n|---|---:|---:|\n");
    let mut json = Vec::new();
    let mut wasm_gzip = 0;
    println!("  {:<28} {:>10} {:>10}", "file", "raw", "gzip -9");
    for f in &files {
        let name = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let raw = fs::metadata(f)?.len();
        let gz = gzip_len(f)?;
        if is(f, "wasm") {
            wasm_gzip += gz;
        }
        println!(
            "  {name:<28} {raw:>10} {gz:>10}   ({} raw, {} gzip)",
            kib(raw),
            kib(gz)
        );
        let _ = writeln!(
            md,
            "| {name} | {raw} B ({}) | {gz} B ({}) |",
            kib(raw),
            kib(gz)
        );
        json.push(format!(
            r#"{{"file":{},"raw":{raw},"gzip":{gz}}}"#,
            json_str(&name)
        ));
    }
    let goal = Goal {
        pass: wasm_gzip <= WASM_GZIP_BUDGET,
        hard: true,
        section: "size".into(),
        name: "release .wasm ≤ 300 KB gzip (hard limit)".into(),
        measured: format!(
            "{wasm_gzip} bytes gzip ({}) vs budget {WASM_GZIP_BUDGET} bytes",
            kib(wasm_gzip)
        ),
    };
    println!(
        "  {}  release .wasm ≤ 300 KB gzip: {}",
        goal.word(),
        goal.measured
    );
    let _ = writeln!(
        md,
        "\nBudget: the .wasm at most {WASM_GZIP_BUDGET} bytes gzip -9 (the bench fails above it)."
    );
    report.markdown.push(md);
    report.json.push((
        "size".into(),
        format!(
            r#"{{"files":[{}],"wasm_gzip":{wasm_gzip},"budget":{WASM_GZIP_BUDGET},"pass":{}}}"#,
            json.join(","),
            goal.pass
        ),
    ));
    if !goal.pass {
        report
            .failed
            .push(format!("client .wasm over budget: {}", goal.measured));
    }
    report.goals.push(goal);
    Ok(())
}

/// The length of `gzip -9 -n` of the file at `path`.
fn gzip_len(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .arg(path)
        .stderr(Stdio::inherit())
        .output()
        .context("running gzip")?;
    if !out.status.success() {
        bail!("gzip {} failed with {}", path.display(), out.status);
    }
    Ok(out.stdout.len() as u64)
}
