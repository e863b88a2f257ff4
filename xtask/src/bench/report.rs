//! What a bench run collected — goals met or missed, per-section Markdown and JSON, what
//! could not be measured — and the writer of `target/bench/bench.md` and `bench.json`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::{BenchArgs, Section};
use crate::util::section;

/// A goal checked by a section: PASS or MISS (FAIL when `hard`) and what was measured.
pub struct Goal {
    pub pass: bool,
    /// A hard limit: missing it fails the bench (and reads FAIL, not MISS).
    pub hard: bool,
    pub section: String,
    pub name: String,
    pub measured: String,
}

impl Goal {
    /// PASS, MISS, or FAIL for a missed hard limit.
    pub fn word(&self) -> &'static str {
        match (self.pass, self.hard) {
            (true, _) => "PASS",
            (false, true) => "FAIL",
            (false, false) => "MISS",
        }
    }
}

/// What the run collected, merged into the report at the end.
#[derive(Default)]
pub struct Report {
    pub goals: Vec<Goal>,
    /// `"name": value` members of the JSON report, value already JSON.
    pub json: Vec<(String, String)>,
    pub markdown: Vec<String>,
    /// Sections that could not be measured, and why.
    pub errors: Vec<(String, String)>,
    /// A hard failure (the size budget): the command exits non-zero.
    pub failed: Vec<String>,
    /// How the client was built, when not by `trunk build --release` alone.
    pub built_with: String,
    /// The machine's load averages: timings on a busy machine are slower and noisier.
    pub loadavg: String,
}

impl Report {
    /// Records that `section` could not be measured because of `e`.
    pub fn error(&mut self, section: &str, e: &anyhow::Error) {
        let message = format!("{e:#}");
        eprintln!("\n!! {section}: not measured: {message}");
        self.markdown.push(format!(
            "### {section}\n\nNot measured: {}\n",
            first_line(&message)
        ));
        self.errors.push((section.to_owned(), message));
    }
}

pub fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

/// `bytes` in KiB with one decimal, for people to read.
pub fn kib(bytes: u64) -> String {
    // Display only: sizes are far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    let k = bytes as f64 / 1024.0;
    format!("{k:.1} KiB")
}

/// `s` as a JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Prints the goals and writes `bench.md` and `bench.json` into `out`.
pub fn write(
    out: &Path,
    report: &Report,
    args: &BenchArgs,
    wanted: &[Section],
    took: Duration,
) -> Result<()> {
    section("bench: goals");
    let mut md = String::from("## framechat benchmarks\n\n");
    let _ = writeln!(
        md,
        "`cargo xtask bench{}` — sections: {}; {} s.\n",
        if args.quick { " --quick" } else { "" },
        wanted
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", "),
        took.as_secs()
    );
    let _ = writeln!(md, "Machine: {}.\n", report.loadavg);
    println!("  machine: {}", report.loadavg);
    md.push_str("| | section | goal | measured |\n|---|---|---|---|\n");
    for g in &report.goals {
        let word = g.word();
        println!("  {word}  [{}] {}: {}", g.section, g.name, g.measured);
        let _ = writeln!(
            md,
            "| {word} | {} | {} | {} |",
            g.section, g.name, g.measured
        );
    }
    for (s, e) in &report.errors {
        println!("  ----  [{s}] not measured: {}", first_line(e));
        let _ = writeln!(
            md,
            "| ---- | {s} | not measured | {} |",
            first_line(e).replace('|', "\\|")
        );
    }
    md.push('\n');
    for part in &report.markdown {
        md.push_str(part);
        md.push('\n');
    }

    let mut json = String::from("{");
    let _ = write!(
        json,
        r#""quick":{},"machine":{},"sections":[{}],"seconds":{},"goals":[{}],"errors":[{}]"#,
        args.quick,
        json_str(&report.loadavg),
        wanted
            .iter()
            .map(|s| json_str(s.name()))
            .collect::<Vec<_>>()
            .join(","),
        took.as_secs(),
        report
            .goals
            .iter()
            .map(|g| format!(
                r#"{{"section":{},"goal":{},"pass":{},"measured":{}}}"#,
                json_str(&g.section),
                json_str(&g.name),
                g.pass,
                json_str(&g.measured)
            ))
            .collect::<Vec<_>>()
            .join(","),
        report
            .errors
            .iter()
            .map(|(s, e)| format!(r#"{{"section":{},"error":{}}}"#, json_str(s), json_str(e)))
            .collect::<Vec<_>>()
            .join(",")
    );
    for (k, v) in &report.json {
        let _ = write!(json, ",{}:{}", json_str(k), v.trim());
    }
    json.push_str("}\n");

    fs::create_dir_all(out)?;
    fs::write(out.join("bench.md"), md)?;
    fs::write(out.join("bench.json"), json)?;
    println!(
        "\nwritten: {} and {}",
        out.join("bench.md").display(),
        out.join("bench.json").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Goal, json_str};

    #[test]
    fn json_str_escapes_quotes_backslashes_and_control_characters() {
        assert_eq!(json_str("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json_str("x\ny\tz\u{1}"), r#""x\ny\tz\u0001""#);
        assert_eq!(json_str("12 MP → é"), "\"12 MP → é\"");
    }

    #[test]
    fn a_missed_hard_goal_reads_fail_and_a_soft_one_miss() {
        let goal = |pass, hard| Goal {
            pass,
            hard,
            section: String::new(),
            name: String::new(),
            measured: String::new(),
        };
        assert_eq!(goal(true, true).word(), "PASS");
        assert_eq!(goal(false, true).word(), "FAIL");
        assert_eq!(goal(false, false).word(), "MISS");
    }
}
