//! Fuzz target: decoding any bytes as a frame never panics, and what decodes re-encodes
//! to bytes that decode to the same frame.
#![no_main]

use framechat_wire::{Frame, decode_header, header_end};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = header_end(data);
    let _ = decode_header(data);
    if let Ok(frame) = Frame::decode(data) {
        let mut again = Vec::new();
        if frame.encode(&mut again).is_ok() {
            let decoded = Frame::decode(&again);
            assert!(matches!(decoded, Ok(ref f) if *f == frame), "re-encoded frame differs");
        }
    }
});
