//! Fuzz target: a sequence of frames (the input split on a separator) fed to a
//! reassembler never panics and never holds more than its limits.
#![no_main]

use framechat_wire::{Frame, Limits, Reassembler};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_message_bytes: 64 * 1024,
    max_transfers: 4,
    max_transfers_per_sender: 2,
    max_buffered_bytes: 96 * 1024,
    stale_after_ms: 50,
};

fuzz_target!(|data: &[u8]| {
    let mut rx = Reassembler::<Vec<u8>>::new(LIMITS);
    // Frames are separated by the four bytes "\n--\n"; each also advances the clock.
    for (now, piece) in split(data, b"\n--\n").enumerate() {
        if piece == b"expire" {
            rx.expire(now as u64 * 10);
            continue;
        }
        if let Ok(frame) = Frame::decode(piece) {
            let _ = rx.push(frame.header, frame.payload.to_vec(), now as u64 * 10);
        }
        assert!(rx.in_progress() <= LIMITS.max_transfers);
        assert!(rx.buffered_bytes() <= LIMITS.max_buffered_bytes);
    }
});

fn split<'a>(mut data: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    std::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        match data.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                let (head, rest) = data.split_at(i);
                data = &rest[sep.len()..];
                Some(head)
            }
            None => Some(std::mem::take(&mut data)),
        }
    })
}
