//! Fuzz target: scrubbing any bytes never panics, and what the scrubber accepts it writes
//! as a file that scrubs to itself with nothing left to remove.
#![no_main]

use framechat_scrub::{Format, scrub, sniff_mime};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sniff_mime(data);
    if let Ok(out) = scrub(data) {
        assert_eq!(
            Format::sniff(&out.bytes),
            Some(out.report.format),
            "format changed"
        );
        let again = scrub(&out.bytes);
        assert!(
            matches!(again, Ok(ref a) if a.bytes == out.bytes),
            "not idempotent: {again:?}"
        );
        assert!(
            again.is_ok_and(|a| a.report.removed.is_empty()),
            "second pass removed something"
        );
    }
});
