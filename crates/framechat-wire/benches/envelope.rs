//! Criterion bench: native (RustCrypto) seal and open of 4 MiB of frames, as 16 envelopes
//! at the default 256 KiB budget and as one 4 MiB envelope, with HKDF key derivation.
//!
//! Native numbers only: the browser client encrypts with WebCrypto, not with this code.
#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use framechat_wire::native::FrameKey;
use framechat_wire::{DEFAULT_FRAME_BUDGET, Flags, RoomKey, inner_budget};

const TOTAL: usize = 4 * 1024 * 1024;

fn bench(c: &mut Criterion) {
    let room_key = RoomKey::from_bytes([0x42; 32]);
    let key = FrameKey::derive(&room_key);
    let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
    let inner = inner_budget(DEFAULT_FRAME_BUDGET).unwrap();
    let tag = [7u8; 16];

    let mut group = c.benchmark_group("envelope");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.bench_function("seal 4 MiB in 256 KiB frames", |b| {
        b.iter(|| {
            for (i, frame) in data.chunks(inner).enumerate() {
                let index = u32::try_from(i).unwrap();
                black_box(
                    key.seal(Flags::MIDDLE, &tag, index, "room", &[1; 12], frame)
                        .unwrap(),
                );
            }
        });
    });
    let sealed: Vec<Vec<u8>> = data
        .chunks(inner)
        .enumerate()
        .map(|(i, frame)| {
            let index = u32::try_from(i).unwrap();
            key.seal(Flags::MIDDLE, &tag, index, "room", &[1; 12], frame)
                .unwrap()
        })
        .collect();
    group.bench_function("open 4 MiB in 256 KiB frames", |b| {
        b.iter(|| {
            for (i, envelope) in sealed.iter().enumerate() {
                let index = u32::try_from(i).unwrap();
                black_box(key.open(envelope, index, "room").unwrap());
            }
        });
    });
    group.bench_function("seal one 4 MiB envelope", |b| {
        b.iter(|| {
            black_box(
                key.seal(Flags::SINGLE, &tag, 0, "room", &[1; 12], &data)
                    .unwrap(),
            )
        });
    });
    group.finish();
    c.bench_function("derive frame key (HKDF-SHA256)", |b| {
        b.iter(|| black_box(FrameKey::derive(black_box(&room_key))));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
