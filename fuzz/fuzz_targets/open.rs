//! Fuzz target: opening any bytes as an encrypted envelope with a fixed key never panics,
//! and what opens decodes or is refused as an inner frame without panicking.
#![no_main]

use framechat_wire::native::FrameKey;
use framechat_wire::{Envelope, RoomKey, decode_inner};
use libfuzzer_sys::fuzz_target;

/// The room key of the private-room test vectors, so the seeds (their envelopes) open.
const ROOM_KEY: [u8; 32] = [
    0x8c, 0x3f, 0x1a, 0x92, 0xd0, 0x4e, 0x5b, 0x6f, 0x7a, 0x81, 0xc2, 0xd3, 0xe4, 0xf5, 0x06, 0x17,
    0x28, 0x39, 0x40, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b, 0x5c, 0x6d,
];

fuzz_target!(|data: &[u8]| {
    let key = FrameKey::derive(&RoomKey::from_bytes(ROOM_KEY));
    let Ok(envelope) = Envelope::decode(data) else {
        return;
    };
    // The vectors' rooms and indexes: "lobby" frame 0, "café" frames 0 to 2.
    for (room, index) in [("lobby", 0), ("café", 0), ("café", 1), ("café", 2)] {
        if let Ok(plain) = key.open(data, index, room) {
            let _ = decode_inner(envelope.flags, &plain);
        }
    }
});
