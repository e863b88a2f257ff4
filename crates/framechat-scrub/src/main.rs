//! `framechat-scrub IN OUT`: write a scrubbed copy of IN (an image or a movie) to OUT and print
//! the report as JSON.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: framechat-scrub IN OUT");
        return ExitCode::from(2);
    };
    match run(input, output) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("framechat-scrub: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(input: &str, output: &str) -> Result<String, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(input).map_err(|e| format!("cannot read {input}: {e}"))?;
    let scrubbed = framechat_scrub::scrub(&bytes).map_err(|e| format!("{input}: {e}"))?;
    std::fs::write(output, &scrubbed.bytes).map_err(|e| format!("cannot write {output}: {e}"))?;
    Ok(serde_json::to_string_pretty(&scrubbed.report)?)
}
