//! Properties on untrusted bytes: nothing panics, and whatever the scrubber accepts it
//! writes as a file that parses again, scrubs to itself and decodes to the same pixels.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::path::Path;

use framechat_scrub::{Format, Piece, Plan, plan, scrub, sniff_mime};
use proptest::prelude::*;
use proptest::sample::Index;

const FIXTURES: [&str; 15] = [
    "jpeg_full.jpg",
    "jpeg_progressive.jpg",
    "jpeg_clean.jpg",
    "png_full.png",
    "apng.png",
    "webp_lossy.webp",
    "webp_alpha.webp",
    "webp_anim.webp",
    "gif_anim.gif",
    "heic_meta.heic",
    "avif_meta.avif",
    "movie_iphone.mov",
    "movie_android.mp4",
    "movie_fragmented.mp4",
    "movie_mebx.mov",
];

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Magic bytes that steer random input into each parser.
const MAGIC: [&[u8]; 9] = [
    b"\xFF\xD8\xFF",
    b"\x89PNG\r\n\x1a\n",
    b"RIFF\x00\x01\x00\x00WEBP",
    b"GIF89a",
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
    b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1avif",
    b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ",
    b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",
    b"\x00\x00\x00\x08wide",
];

/// The scrubber may refuse `bytes`; if it accepts them, its output must be a file it
/// accepts again unchanged with nothing left to remove, and when the input decodes, the
/// output must decode too, to the same pixels.
///
/// JPEG is held to the same size only: on corrupt progressive streams the image crate's
/// JPEG decoder (zune-jpeg) gives pixels that depend on where dropped bytes sat (found by
/// this test: a DHT turned into an APP4 by one flipped bit; libjpeg decodes input and
/// output identically). Unmutated fixtures are compared pixel for pixel in fixtures.rs.
fn accepted_output_is_sound(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(out) = scrub(bytes) else {
        return Ok(());
    };
    let planned = plan(bytes).map_err(|e| TestCaseError::fail(format!("plan failed: {e}")))?;
    plan_is_well_formed(&planned.plan, bytes)?;
    prop_assert_eq!(&planned.report, &out.report);
    let again = scrub(&out.bytes)
        .map_err(|e| TestCaseError::fail(format!("output does not parse: {e}")))?;
    prop_assert_eq!(&again.bytes, &out.bytes, "not idempotent");
    prop_assert_eq!(again.report.removed, vec![]);
    prop_assert_eq!(Format::sniff(&out.bytes), Some(out.report.format));
    let format = match out.report.format {
        Format::Jpeg => image::ImageFormat::Jpeg,
        Format::Png => image::ImageFormat::Png,
        Format::Webp => image::ImageFormat::WebP,
        Format::Gif => image::ImageFormat::Gif,
        Format::Heic | Format::Avif | Format::Mp4 | Format::Mov => return Ok(()),
    };
    if let Ok(before) = image::load_from_memory_with_format(bytes, format) {
        let after = image::load_from_memory_with_format(&out.bytes, format)
            .map_err(|e| TestCaseError::fail(format!("input decodes, output does not: {e}")))?;
        prop_assert_eq!(
            (before.width(), before.height()),
            (after.width(), after.height())
        );
        if format != image::ImageFormat::Jpeg {
            prop_assert!(before.as_bytes() == after.as_bytes(), "pixels differ");
        }
    }
    Ok(())
}

/// What [`Plan`] promises: pieces that are not empty, ranges inside the input, neighbours
/// that could not be one piece, and a length that adds up.
fn plan_is_well_formed(plan: &Plan, input: &[u8]) -> Result<(), TestCaseError> {
    let mut len = 0;
    for (i, piece) in plan.pieces().iter().enumerate() {
        prop_assert!(!piece.is_empty(), "piece {} is empty", i);
        if let Piece::Keep(range) = piece {
            prop_assert!(range.end <= input.len(), "{:?} is outside the input", range);
        }
        len += piece.len();
    }
    for pair in plan.pieces().windows(2) {
        let joinable = match pair {
            [Piece::Keep(a), Piece::Keep(b)] => a.end == b.start,
            [Piece::Insert(_), Piece::Insert(_)] => true,
            _ => false,
        };
        prop_assert!(!joinable, "{:?} could be one piece", pair);
    }
    prop_assert_eq!(len, plan.len());
    prop_assert_eq!(plan.apply(input).len(), plan.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = sniff_mime(&bytes);
        let _ = Format::sniff(&bytes);
        accepted_output_is_sound(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_behind_magic_never_panic(
        magic in 0..MAGIC.len(),
        bytes in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut input = MAGIC[magic].to_vec();
        input.extend_from_slice(&bytes);
        accepted_output_is_sound(&input)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn flipped_bytes_in_fixtures_never_panic(
        which in 0..FIXTURES.len(),
        flips in prop::collection::vec((any::<Index>(), 1..=255u8), 1..6),
    ) {
        let mut input = fixture(FIXTURES[which]);
        for (at, xor) in flips {
            let at = at.index(input.len());
            input[at] ^= xor;
        }
        accepted_output_is_sound(&input)?;
    }

    #[test]
    fn spliced_fixtures_never_panic(
        which in 0..FIXTURES.len(),
        cut in any::<Index>(),
        remove in 0..64usize,
        insert in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut input = fixture(FIXTURES[which]);
        let at = cut.index(input.len());
        let end = (at + remove).min(input.len());
        input.splice(at..end, insert);
        accepted_output_is_sound(&input)?;
    }
}

#[test]
fn every_truncation_of_every_fixture_is_an_error_or_sound() {
    for name in FIXTURES {
        let input = fixture(name);
        let movie = Format::sniff(&input).is_some_and(Format::is_video);
        let box_ends = top_level_box_ends(&input);
        let mut accepted = 0;
        for len in 0..input.len() {
            let prefix = &input[..len];
            if scrub(prefix).is_ok() {
                // A movie cut between two top-level boxes is whole when every sample it
                // names lies before the cut: a fragmented movie cut after a fragment.
                if movie {
                    assert!(box_ends.contains(&len), "{name}: cut at {len} accepted");
                    continue;
                }
                accepted += 1;
            }
            accepted_output_is_sound(prefix).unwrap_or_else(|e| panic!("{name} cut at {len}: {e}"));
        }
        // Only cuts inside data after the end of the image may be accepted.
        let trailing = input.len() - scrub(&input).map(|o| o.bytes.len()).unwrap_or(0);
        assert!(
            accepted <= trailing,
            "{name}: {accepted} truncations accepted"
        );
    }
}

/// Where each top-level ISO-BMFF box of `input` ends (32-bit sizes only, as in the fixtures).
fn top_level_box_ends(input: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    while let Some(size) = input.get(at..at + 4) {
        let size = u32::from_be_bytes(size.try_into().unwrap()) as usize;
        if size < 8 {
            break;
        }
        at += size;
        ends.push(at);
    }
    ends
}
