//! Fuzz target: the movie walker (MP4/MOV boxes, tracks, sample tables, fragments) on any
//! bytes behind a QuickTime `ftyp`. Never a panic; what it accepts keeps its length (the
//! scrub is in place), scrubs to itself with nothing left to remove, and is still a movie.
#![no_main]

use framechat_scrub::{Format, scrub};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Seeds are whole movies; other inputs get an ftyp so they reach the movie walker.
    let input: Vec<u8> = if Format::sniff(data).is_some_and(Format::is_video) {
        data.to_vec()
    } else {
        [&b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  "[..], data].concat()
    };
    if let Ok(out) = scrub(&input) {
        assert!(out.report.format.is_video(), "not a movie: {:?}", out.report.format);
        assert_eq!(out.bytes.len(), input.len(), "length changed");
        let changed = input.iter().zip(&out.bytes).filter(|(a, b)| a != b).count();
        assert!(changed as u64 <= out.report.removed_bytes, "more changed than reported");
        let again = scrub(&out.bytes);
        assert!(
            matches!(again, Ok(ref a) if a.bytes == out.bytes),
            "not idempotent: {again:?}"
        );
        assert!(
            again.is_ok_and(|a| a.report.removed.is_empty() && a.report.removed_bytes == 0),
            "second pass removed something"
        );
    }
});
