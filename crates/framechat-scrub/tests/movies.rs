//! The committed movies (tests/fixtures/make_movies.py) scrubbed for real: what the report
//! says, what `exiftool -a -G1 -s -ee` still finds, `ffmpeg -f framemd5` of every video and
//! audio packet and decoded frame before and after, idempotence, and the CLI.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use framechat_scrub::{Category, Format, scrub};
use serde_json::Value;

use Category::*;

/// One movie and what scrubbing it must report.
struct Case {
    name: &'static str,
    format: Format,
    removed: &'static [Category],
    orientation: Option<u8>,
}

const CASES: &[Case] = &[
    Case {
        name: "movie_iphone.mov",
        format: Format::Mov,
        removed: &[Location, Device, DateTime, Author, Xmp, Other],
        orientation: Some(6),
    },
    Case {
        name: "movie_android.mp4",
        format: Format::Mp4,
        removed: &[Location, Device, DateTime, Other],
        orientation: None,
    },
    Case {
        name: "movie_fragmented.mp4",
        format: Format::Mp4,
        removed: &[Location, DateTime, Author, Other],
        orientation: None,
    },
    Case {
        name: "movie_mebx.mov",
        format: Format::Mov,
        removed: &[Location, DateTime],
        orientation: None,
    },
];

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A scratch directory for one test of this process (tests run in parallel).
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("framechat-movies-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Each fixture scrubbed into `dir`: (case, input path, output path).
fn scrubbed_into(dir: &Path) -> Vec<(&'static Case, PathBuf, PathBuf)> {
    CASES
        .iter()
        .map(|case| {
            let out = scrub(&fixture(case.name)).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            let path = dir.join(case.name);
            std::fs::write(&path, &out.bytes).unwrap();
            (case, fixture_path(case.name), path)
        })
        .collect()
}

#[test]
fn reports_what_each_movie_held() {
    for case in CASES {
        let input = fixture(case.name);
        assert_eq!(Format::sniff(&input), Some(case.format), "{}", case.name);
        let out = scrub(&input).unwrap();
        let report = &out.report;
        assert_eq!(report.format, case.format, "{}", case.name);
        assert_eq!(report.removed, case.removed, "{}", case.name);
        assert_eq!(
            (report.width, report.height),
            (Some(64), Some(48)),
            "{}",
            case.name
        );
        assert_eq!(report.orientation, case.orientation, "{}", case.name);
        assert_eq!(
            out.bytes.len(),
            input.len(),
            "{}: scrubbed in place",
            case.name
        );
        let changed = input.iter().zip(&out.bytes).filter(|(a, b)| a != b).count();
        assert!(changed > 0, "{}", case.name);
        assert!(changed as u64 <= report.removed_bytes, "{}", case.name);
        assert_eq!(
            case.format.mime(),
            if case.format == Format::Mov {
                "video/quicktime"
            } else {
                "video/mp4"
            }
        );
        // An iPhone portrait video is shown turned a quarter: taller than wide.
        let shown = report.display_size().unwrap();
        assert_eq!(
            shown,
            if case.orientation == Some(6) {
                (48, 64)
            } else {
                (64, 48)
            }
        );

        let twice = scrub(&out.bytes).unwrap();
        assert_eq!(twice.bytes, out.bytes, "{}: not idempotent", case.name);
        assert_eq!(twice.report.removed, vec![], "{}", case.name);
        assert_eq!(twice.report.removed_bytes, 0, "{}", case.name);
        assert_eq!(twice.report.display_size(), report.display_size());
    }
}

/// No trace of the fixtures' location, device, author or software survives as text.
#[test]
fn no_identifying_text_is_left_in_the_bytes() {
    const NEEDLES: [&[u8]; 7] = [
        b"+48.85",
        b"48.8567",
        b"Lovelace",
        b"iPhone",
        b"Pixel 8",
        b"Apple",
        b"Google",
    ];
    let holds = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for case in CASES {
        let input = fixture(case.name);
        let out = scrub(&input).unwrap().bytes;
        // The check can fail: every fixture holds some of this text to begin with.
        assert!(
            NEEDLES.iter().any(|n| holds(&input, n)),
            "{}: nothing to find",
            case.name
        );
        for needle in NEEDLES {
            let text = String::from_utf8_lossy(needle);
            assert!(!holds(&out, needle), "{}: {text:?} left", case.name);
        }
    }
}

/// `exiftool -a -G1 -s -ee -j FILE` as a map from "Group:Tag" to value (-ee reads the
/// samples of timed-metadata tracks too).
fn exiftool(path: &Path) -> BTreeMap<String, Value> {
    let output = Command::new("exiftool")
        .args(["-a", "-G1", "-s", "-ee", "-j"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "exiftool could not be run ({e}): install it (Debian: apt-get install \
                 libimage-exiftool-perl); `cargo xtask setup` installs it"
            )
        });
    assert!(
        output.status.success(),
        "exiftool failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let Value::Array(mut files) = json else {
        panic!("exiftool printed no array")
    };
    let Value::Object(tags) = files.remove(0) else {
        panic!("exiftool printed no object")
    };
    tags.into_iter().collect()
}

/// Groups that must not survive at all: the metadata atoms and boxes of a movie.
const FORBIDDEN_GROUPS: &[&str] = &["UserData", "Keys", "ItemList", "XMP", "GPS", "Android"];
/// Words that must not appear in any tag name outside the file system's own.
const FORBIDDEN_WORDS: &[&str] = &[
    "GPS",
    "Location",
    "Make",
    "Model",
    "Software",
    "Author",
    "Artist",
    "Creator",
    "Copyright",
    "Encoder",
    "AndroidVersion",
    "DateTimeOriginal",
    "CreationDate",
    "ContentDescribes",
];

/// The identifying tags exiftool reports: forbidden groups and words, and any date that is
/// not zero.
fn identifying(tags: &BTreeMap<String, Value>) -> Vec<String> {
    tags.iter()
        .filter(|(key, value)| {
            let (group, tag) = key.split_once(':').unwrap_or(("", key));
            if matches!(group, "ExifTool" | "System" | "File") {
                return false;
            }
            let date = tag.ends_with("Date") && value.as_str() != Some("0000:00:00 00:00:00");
            FORBIDDEN_GROUPS.iter().any(|g| group.starts_with(g))
                || FORBIDDEN_WORDS.iter().any(|w| tag.contains(w))
                || date
        })
        .map(|(key, value)| format!("{key}={value}"))
        .collect()
}

#[test]
fn exiftool_finds_nothing_identifying_after_scrubbing() {
    let dir = scratch("exiftool");
    for (case, input, output) in scrubbed_into(&dir) {
        let before = exiftool(&input);
        let after = exiftool(&output);
        // The check can fail: each fixture holds identifying tags to begin with.
        assert!(
            !identifying(&before).is_empty(),
            "{}: fixture holds nothing to find",
            case.name
        );
        let left = identifying(&after);
        assert!(
            left.is_empty(),
            "{}: exiftool still finds {left:?}",
            case.name
        );
        // The dates are there, and zero.
        assert_eq!(
            after.get("QuickTime:CreateDate").and_then(Value::as_str),
            Some("0000:00:00 00:00:00")
        );
        assert_eq!(
            after.get("Track1:MediaCreateDate").and_then(Value::as_str),
            Some("0000:00:00 00:00:00")
        );
        // What players need stays: size, rotation, codecs, durations.
        for key in [
            "Track1:ImageWidth",
            "Track1:ImageHeight",
            "Composite:Rotation",
            "Track1:CompressorID",
            "Track2:AudioFormat",
            "QuickTime:Duration",
        ] {
            assert!(
                before.contains_key(key),
                "{}: {key} missing before",
                case.name
            );
            assert_eq!(after.get(key), before.get(key), "{}: {key}", case.name);
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// `ffmpeg -i FILE -map 0:STREAM [-c copy] -f framemd5 -`: one MD5 per packet (with
/// `copy`: the stored sample bytes) or per decoded frame, with timestamps and sizes.
fn framemd5(path: &Path, stream: &str, copy: bool) -> String {
    let mut command = Command::new("ffmpeg");
    command
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args(["-map", stream]);
    if copy {
        command.args(["-c", "copy"]);
    }
    let output = command.args(["-f", "framemd5", "-"]).output().unwrap_or_else(|e| {
        panic!("ffmpeg could not be run ({e}): install it (Debian: apt-get install ffmpeg); `cargo xtask setup` installs it")
    });
    assert!(
        output.status.success(),
        "ffmpeg failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    // Header lines (#...) name the input; keep only the per-frame lines.
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn ffmpeg_sees_the_same_packets_and_frames() {
    let dir = scratch("framemd5");
    for (case, input, output) in scrubbed_into(&dir) {
        for stream in ["0:v", "0:a"] {
            for copy in [true, false] {
                let before = framemd5(&input, stream, copy);
                assert!(
                    before.lines().count() >= 5,
                    "{} {stream}: {before}",
                    case.name
                );
                assert_eq!(
                    framemd5(&output, stream, copy),
                    before,
                    "{} {stream} copy={copy}",
                    case.name
                );
            }
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn cli_scrubs_a_movie() {
    let dir = scratch("cli");
    let out_path = dir.join("out.mov");
    let output = Command::new(env!("CARGO_BIN_EXE_framechat-scrub"))
        .arg(fixture_path("movie_iphone.mov"))
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["format"], "mov");
    assert_eq!(
        (report["width"].as_u64(), report["height"].as_u64()),
        (Some(64), Some(48))
    );
    assert_eq!(report["orientation"], 6);
    assert_eq!(report["removed"][0], "location");
    let expected = scrub(&fixture("movie_iphone.mov")).unwrap().bytes;
    assert_eq!(std::fs::read(&out_path).unwrap(), expected);
    std::fs::remove_dir_all(dir).unwrap();
}
