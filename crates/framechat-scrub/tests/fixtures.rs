//! The committed fixtures (tests/fixtures/make_fixtures.py) scrubbed for real: what the
//! report says, what exiftool still finds, decoded pixels, idempotence, and the CLI.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use framechat_scrub::{Category, Format, Piece, scrub};
use image::{AnimationDecoder, ImageFormat};
use serde_json::Value;

use Category::*;

/// One fixture and what scrubbing it must report.
struct Case {
    name: &'static str,
    format: Format,
    removed: &'static [Category],
    /// The orientation the report gives, and that the output still carries (JPEG, PNG,
    /// WebP) or shows through `irot` (HEIF).
    orientation: Option<u8>,
    /// The input has an ICC profile, which must survive.
    icc: bool,
    animated: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "jpeg_full.jpg",
        format: Format::Jpeg,
        removed: &[
            Location,
            Device,
            DateTime,
            Author,
            Comment,
            Thumbnail,
            TrailingData,
            Xmp,
            Iptc,
            Other,
        ],
        orientation: Some(6),
        icc: true,
        animated: false,
    },
    Case {
        name: "jpeg_progressive.jpg",
        format: Format::Jpeg,
        removed: &[Location, Device, Other],
        orientation: Some(8),
        icc: false,
        animated: false,
    },
    Case {
        name: "jpeg_clean.jpg",
        format: Format::Jpeg,
        removed: &[],
        orientation: None,
        icc: false,
        animated: false,
    },
    Case {
        name: "png_full.png",
        format: Format::Png,
        removed: &[
            Location,
            Device,
            DateTime,
            Author,
            Comment,
            TrailingData,
            Xmp,
            Other,
        ],
        orientation: Some(6),
        icc: true,
        animated: false,
    },
    Case {
        name: "apng.png",
        format: Format::Png,
        removed: &[Location, Comment, Other],
        orientation: None,
        icc: false,
        animated: true,
    },
    Case {
        name: "webp_lossy.webp",
        format: Format::Webp,
        removed: &[Location, Device, DateTime, Author, Comment, Xmp, Other],
        orientation: Some(6),
        icc: true,
        animated: false,
    },
    Case {
        name: "webp_alpha.webp",
        format: Format::Webp,
        removed: &[Location, Device, Other],
        orientation: None,
        icc: false,
        animated: false,
    },
    Case {
        name: "webp_anim.webp",
        format: Format::Webp,
        removed: &[Location, Device, Xmp, Other],
        orientation: None,
        icc: false,
        animated: true,
    },
    Case {
        name: "gif_anim.gif",
        format: Format::Gif,
        removed: &[Comment, TrailingData, Xmp],
        orientation: None,
        icc: false,
        animated: true,
    },
    Case {
        name: "heic_meta.heic",
        format: Format::Heic,
        removed: &[Location, Device, DateTime, Author, Xmp],
        orientation: Some(6),
        icc: false,
        animated: false,
    },
    Case {
        name: "avif_meta.avif",
        format: Format::Avif,
        removed: &[Location, Device, DateTime, Author, Xmp],
        orientation: Some(6),
        icc: false,
        animated: false,
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
    let dir = std::env::temp_dir().join(format!("framechat-scrub-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn reports_what_each_fixture_held() {
    for case in CASES {
        let input = fixture(case.name);
        let out = scrub(&input).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let report = &out.report;
        assert_eq!(report.format, case.format, "{}", case.name);
        assert_eq!(report.removed, case.removed, "{}", case.name);
        assert_eq!(report.orientation, case.orientation, "{}", case.name);
        assert_eq!(
            (report.width, report.height),
            (Some(64), Some(48)),
            "{}",
            case.name
        );
        if case.removed.is_empty() {
            assert_eq!(
                out.bytes, input,
                "{}: a clean file must pass unchanged",
                case.name
            );
        } else {
            assert!(report.removed_bytes > 0, "{}", case.name);
        }
        if matches!(case.format, Format::Heic | Format::Avif) {
            assert_eq!(
                out.bytes.len(),
                input.len(),
                "{}: HEIF is scrubbed in place",
                case.name
            );
            assert_eq!(report.display_size(), Some((48, 64)), "{}", case.name);
        } else {
            assert_eq!(input.len() - out.bytes.len(), report.removed_bytes as usize);
        }
    }
}

/// The image data is never rewritten: every fixture's plan takes all but a few hundred
/// bytes of its output from the input (HEIF: all but its overwritten metadata), and a JPEG's tables and entropy-coded data,
/// the bulk of a photo, are one range.
#[test]
fn plans_keep_the_image_data_as_ranges_of_the_input() {
    for case in CASES {
        let (name, input) = (case.name, fixture(case.name));
        let planned = framechat_scrub::plan(&input).unwrap();
        let plan = &planned.plan;
        let inserted = plan.len() - plan.kept();
        // HEIF overwrites its metadata items in place: what is written over them is new.
        let overwritten = match case.format {
            Format::Heic | Format::Avif => planned.report.removed_bytes,
            _ => 0,
        };
        assert!(
            inserted as u64 <= 160 + overwritten,
            "{name}: {inserted} bytes inserted"
        );
        assert_eq!(plan.apply(&input), scrub(&input).unwrap().bytes, "{name}");
        if name.starts_with("jpeg") {
            assert!(plan.pieces().len() <= 4, "{name}: {:?}", plan.pieces());
            // From the tables before the first scan to EOI: one range.
            let Some(Piece::Keep(last)) = plan.pieces().last() else {
                panic!("{name}: ends with {:?}", plan.pieces().last());
            };
            let tail = &input[last.clone()];
            assert!(
                tail.windows(2).any(|w| w == [0xFF, 0xDA]),
                "{name}: no scan in {last:?}"
            );
            assert!(
                tail.ends_with(&[0xFF, 0xD9]),
                "{name}: {last:?} does not end at EOI"
            );
        }
    }
}

#[test]
fn scrubbing_twice_changes_nothing() {
    for case in CASES {
        let once = scrub(&fixture(case.name)).unwrap();
        let twice = scrub(&once.bytes).unwrap();
        assert_eq!(twice.bytes, once.bytes, "{}", case.name);
        assert_eq!(twice.report.removed, vec![], "{}", case.name);
        assert_eq!(twice.report.removed_bytes, 0, "{}", case.name);
        assert_eq!(
            twice.report.orientation, once.report.orientation,
            "{}",
            case.name
        );
    }
}

/// Every frame of an image, decoded to RGBA, with its delay for animations.
fn frames(bytes: &[u8], format: Format, animated: bool) -> Vec<(image::RgbaImage, (u32, u32))> {
    let still = |format| {
        let image = image::load_from_memory_with_format(bytes, format).unwrap();
        vec![(image.to_rgba8(), (0, 0))]
    };
    let collect = |frames: image::Frames<'_>| {
        frames
            .collect_frames()
            .unwrap()
            .into_iter()
            .map(|f| (f.delay().numer_denom_ms(), f.into_buffer()))
            .map(|(delay, buffer)| (buffer, delay))
            .collect()
    };
    match (format, animated) {
        (Format::Jpeg, _) => still(ImageFormat::Jpeg),
        (Format::Png, false) => still(ImageFormat::Png),
        (Format::Webp, false) => still(ImageFormat::WebP),
        (Format::Png, true) => {
            let decoder = image::codecs::png::PngDecoder::new(Cursor::new(bytes)).unwrap();
            collect(decoder.apng().unwrap().into_frames())
        }
        (Format::Webp, true) => collect(
            image::codecs::webp::WebPDecoder::new(Cursor::new(bytes))
                .unwrap()
                .into_frames(),
        ),
        (Format::Gif, _) => collect(
            image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
                .unwrap()
                .into_frames(),
        ),
        (Format::Heic | Format::Avif | Format::Mp4 | Format::Mov, _) => {
            unreachable!("no HEIF or movie decoder here")
        }
    }
}

#[test]
fn decoded_pixels_are_identical() {
    for case in CASES {
        let input = fixture(case.name);
        let out = scrub(&input).unwrap();
        if matches!(case.format, Format::Heic | Format::Avif) {
            // No HEIF decoder in the image crate: only the metadata items' bytes changed
            // (XMP to an empty packet, Exif to an empty TIFF, both padded), and the file
            // still parses the same (checked by the second pass in another test).
            let changed = input.iter().zip(&out.bytes).filter(|(a, b)| a != b).count();
            assert!(changed > 0, "{}", case.name);
            assert!(changed as u64 <= out.report.removed_bytes, "{}", case.name);
            continue;
        }
        let before = frames(&input, case.format, case.animated);
        let after = frames(&out.bytes, case.format, case.animated);
        assert_eq!(before.len(), after.len(), "{}: frame count", case.name);
        assert_eq!(before.len() > 1, case.animated, "{}", case.name);
        for (i, (a, b)) in before.iter().zip(&after).enumerate() {
            assert_eq!(
                a.0.dimensions(),
                b.0.dimensions(),
                "{} frame {i}",
                case.name
            );
            assert!(
                a.0.as_raw() == b.0.as_raw(),
                "{} frame {i}: pixels differ",
                case.name
            );
            assert_eq!(a.1, b.1, "{} frame {i}: delay", case.name);
        }
    }
}

/// `exiftool -a -G1 -s -j FILE` as a map from "Group:Tag" to value.
fn exiftool(path: &Path) -> BTreeMap<String, Value> {
    let output = Command::new("exiftool")
        .args(["-a", "-G1", "-s", "-j"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "exiftool could not be run ({e}): install it (Debian: apt-get install \
                 libimage-exiftool-perl); `cargo xtask test` installs it"
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

/// Tag groups that must not survive at all.
const FORBIDDEN_GROUPS: &[&str] = &[
    "GPS",
    "IFD1",
    "ExifIFD",
    "InteropIFD",
    "MakerNotes",
    "IPTC",
    "Photoshop",
    "MPF",
    "XMP",
];
/// Tag names that must not survive in any group.
const FORBIDDEN_TAGS: &[&str] = &[
    "Make",
    "Model",
    "SerialNumber",
    "LensSerialNumber",
    "LensModel",
    "LensMake",
    "Software",
    "OwnerName",
    "Artist",
    "Copyright",
    "Author",
    "Creator",
    "By-line",
    "City",
    "DateTimeOriginal",
    "CreateDate",
    "ModifyDate",
    "DateTime",
    "CreationTime",
    "OffsetTimeOriginal",
    "Comment",
    "UserComment",
    "ImageDescription",
    "Description",
    "Caption-Abstract",
    "Title",
    "ThumbnailImage",
    "ThumbnailOffset",
    "ThumbnailLength",
    "PreviewImage",
];

/// The identifying tags exiftool reports for a file.
fn identifying(tags: &BTreeMap<String, Value>) -> Vec<String> {
    tags.keys()
        .filter(|key| {
            let (group, tag) = key.split_once(':').unwrap_or(("", key));
            if matches!(group, "ExifTool" | "System") {
                return false;
            }
            FORBIDDEN_GROUPS.iter().any(|g| group.starts_with(g))
                || FORBIDDEN_TAGS.contains(&tag)
                || tag.starts_with("GPS")
        })
        .cloned()
        .collect()
}

#[test]
fn exiftool_finds_nothing_identifying_after_scrubbing() {
    let dir = scratch("exiftool");
    for case in CASES {
        let input = fixture(case.name);
        let before = exiftool(&fixture_path(case.name));
        let out = scrub(&input).unwrap();
        let path = dir.join(case.name);
        std::fs::write(&path, &out.bytes).unwrap();
        let after = exiftool(&path);

        // The check can fail: the fixture really has identifying tags to begin with.
        if !case.removed.is_empty() {
            assert!(
                !identifying(&before).is_empty(),
                "{}: fixture holds nothing to find",
                case.name
            );
        }
        let left = identifying(&after);
        assert!(
            left.is_empty(),
            "{}: exiftool still finds {left:?}",
            case.name
        );

        // Orientation survives where the format carries it in EXIF.
        if matches!(case.format, Format::Jpeg | Format::Png | Format::Webp) {
            assert_eq!(
                after.get("IFD0:Orientation"),
                before.get("IFD0:Orientation"),
                "{}",
                case.name
            );
            if case.orientation.is_some() {
                assert!(after.contains_key("IFD0:Orientation"), "{}", case.name);
            }
        } else {
            // HEIF shows orientation through irot, which stays.
            assert_eq!(
                after.get("QuickTime:Rotation"),
                before.get("QuickTime:Rotation"),
                "{}",
                case.name
            );
        }
        // The ICC profile survives whole.
        if case.icc {
            assert!(
                before.contains_key("ICC_Profile:ProfileDescription"),
                "{}",
                case.name
            );
            for key in before.keys().filter(|k| k.starts_with("ICC")) {
                assert_eq!(after.get(key), before.get(key), "{}: {key}", case.name);
            }
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn cli_writes_the_file_and_prints_the_report() {
    let dir = scratch("cli");
    let out_path = dir.join("out.jpg");
    let output = Command::new(env!("CARGO_BIN_EXE_framechat-scrub"))
        .arg(fixture_path("jpeg_full.jpg"))
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["format"], "jpeg");
    assert_eq!(report["orientation"], 6);
    assert_eq!(report["removed"][0], "location");
    let expected = scrub(&fixture("jpeg_full.jpg")).unwrap().bytes;
    assert_eq!(std::fs::read(&out_path).unwrap(), expected);

    // Not an image: an error on stderr, a failing exit status, no output file.
    let text = dir.join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_framechat-scrub"))
        .arg(&text)
        .arg(dir.join("never.bin"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not an image"));
    assert!(!dir.join("never.bin").exists());
    std::fs::remove_dir_all(dir).unwrap();
}
