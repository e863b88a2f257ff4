//! Fuzz target: scrubbing any bytes never panics, and what the scrubber accepts it writes
//! as a file that scrubs to itself with nothing left to remove. Its plan keeps ranges inside
//! the input and adds up to the output.
#![no_main]

use framechat_scrub::{Format, Piece, plan, scrub, sniff_mime};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sniff_mime(data);
    if let Ok(out) = scrub(data) {
        let planned = plan(data).expect("plan fails where scrub succeeds");
        let mut len = 0;
        for piece in planned.plan.pieces() {
            assert!(!piece.is_empty(), "empty piece");
            if let Piece::Keep(range) = piece {
                assert!(range.end <= data.len(), "{range:?} outside the input");
            }
            len += piece.len();
        }
        assert_eq!(len, out.bytes.len(), "pieces do not add up");
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
