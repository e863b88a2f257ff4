//! Criterion bench: encoding a 100x100 RGBA image (the largest the design accepts; a photo is
//! downscaled to it first) and decoding its hash to the 32-pixel placeholder.
#![allow(clippy::unwrap_used)] // bench code: a panic is a failure

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use framechat_thumbhash::{decode, encode};

fn bench(c: &mut Criterion) {
    let mut s: u32 = 1;
    let rgba: Vec<u8> = (0..100 * 100 * 4)
        .map(|i| {
            s = (75 * s + 74) % 65537;
            if i % 4 == 3 { 255 } else { (s & 255) as u8 }
        })
        .collect();
    let hash = encode(100, 100, &rgba).unwrap();
    c.bench_function("encode 100x100", |b| {
        b.iter(|| black_box(encode(100, 100, black_box(&rgba))))
    });
    c.bench_function("decode to 32x32", |b| {
        b.iter(|| black_box(decode(black_box(&hash))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
