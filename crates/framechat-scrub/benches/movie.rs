//! Criterion bench: scrubbing a 50 MB phone-like QuickTime movie (ftyp, wide, a 50 MB mdat
//! of pseudo-random samples, then moov with a video track of 1500 samples and a sound track
//! of 2600, a location timed-metadata track, `udta` and `meta` location/device atoms, an XMP
//! box) against a plain copy of the same bytes, in the same run. Goal: at most 3x the copy.
//!
//! The file is built here, deterministically; the scrubber walks every box and sample table
//! as it does on a real movie, and copies the samples once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use framechat_scrub::{Category, Format, scrub};

/// xorshift64*: deterministic bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(payload.len() + 8)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

fn full(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    bx(kind, &[&[0, 0, 0, 0][..], payload].concat())
}

fn be(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

/// A track whose samples are `sizes`, one chunk per sample at `offsets`.
fn trak(id: u32, handler: &[u8; 4], entry: &[u8; 4], sizes: &[u32], offsets: &[u32]) -> Vec<u8> {
    let date = be(0xE2A0_0000);
    let matrix: Vec<u8> = [0x1_0000, 0, 0, 0, 0x1_0000, 0, 0, 0, 0x4000_0000]
        .iter()
        .flat_map(|&v: &u32| v.to_be_bytes())
        .collect();
    let tkhd = full(
        b"tkhd",
        &[
            &date[..],
            &date,
            &be(id),
            &[0; 8],
            &[0; 16],
            &matrix,
            &be(1920 << 16),
            &be(1080 << 16),
        ]
        .concat(),
    );
    let mdhd = full(
        b"mdhd",
        &[&date[..], &date, &be(600), &be(0), &[0x55, 0xC4, 0, 0]].concat(),
    );
    let hdlr = full(
        b"hdlr",
        &[&b"mhlr"[..], handler, &[0; 12], b"Core Media\0"].concat(),
    );
    let n = u32::try_from(sizes.len()).unwrap();
    let stsd = full(
        b"stsd",
        &[&be(1)[..], &bx(entry, &[0, 0, 0, 0, 0, 0, 0, 1])].concat(),
    );
    let stts = full(b"stts", &[be(1), be(n), be(20)].concat());
    let stsc = full(b"stsc", &[be(1), be(1), be(1), be(1)].concat());
    let stsz_table: Vec<u8> = sizes.iter().flat_map(|s| s.to_be_bytes()).collect();
    let stsz = full(b"stsz", &[&be(0)[..], &be(n), &stsz_table].concat());
    let stco_table: Vec<u8> = offsets.iter().flat_map(|s| s.to_be_bytes()).collect();
    let stco = full(b"stco", &[&be(n)[..], &stco_table].concat());
    let stbl = bx(b"stbl", &[stsd, stts, stsc, stsz, stco].concat());
    let minf = bx(b"minf", &[full(b"vmhd", &[0; 8]), stbl].concat());
    bx(
        b"trak",
        &[tkhd, bx(b"mdia", &[mdhd, hdlr, minf].concat())].concat(),
    )
}

/// About 50 MB: video samples of ~30 KB interleaved with sound samples of ~300 bytes and a
/// location sample every second.
fn phone_movie() -> Vec<u8> {
    let mut rng = Rng(0x5EED_0000_0050_0000);
    let ftyp = bx(b"ftyp", b"qt  \0\0\x02\0qt  ");
    let wide = bx(b"wide", b"");
    let mdat_payload = u32::try_from(ftyp.len() + wide.len() + 8).unwrap();
    let (mut video, mut sound, mut gps) = (Vec::new(), Vec::new(), Vec::new());
    let mut data = Vec::with_capacity(50 << 20);
    let push = |data: &mut Vec<u8>, list: &mut Vec<(u32, u32)>, len: u32, rng: &mut Rng| {
        list.push((mdat_payload + u32::try_from(data.len()).unwrap(), len));
        let words = len.div_ceil(8);
        for _ in 0..words {
            data.extend_from_slice(&rng.next().to_le_bytes());
        }
        data.truncate(data.len() - (words * 8 - len) as usize);
    };
    for frame in 0..1500u32 {
        let len = 33_000 + u32::try_from(rng.next() % 2000).unwrap();
        push(&mut data, &mut video, len, &mut rng);
        for _ in 0..(if frame % 4 == 0 { 1 } else { 2 }) {
            push(&mut data, &mut sound, 300, &mut rng);
        }
        if frame % 30 == 0 {
            push(&mut data, &mut gps, 34, &mut rng);
        }
    }
    let mdat = bx(b"mdat", &data);
    let split = |list: &[(u32, u32)]| -> (Vec<u32>, Vec<u32>) {
        (
            list.iter().map(|s| s.1).collect(),
            list.iter().map(|s| s.0).collect(),
        )
    };
    let (vs, vo) = split(&video);
    let (ss, so) = split(&sound);
    let (gs, go) = split(&gps);
    let udta = bx(
        b"udta",
        &[
            bx(b"\xA9xyz", b"\0\x12\x15\xC7+48.8567+002.3508/"),
            bx(b"\xA9mak", b"\0\x05\x15\xC7Apple"),
            bx(b"\xA9mod", b"\0\x0D\x15\xC7iPhone 15 Pro"),
        ]
        .concat(),
    );
    let meta = bx(
        b"meta",
        &[
            full(b"hdlr", &[&[0; 4][..], b"mdta", &[0; 12], b"\0"].concat()),
            full(b"keys", &be(0)),
        ]
        .concat(),
    );
    let mvhd = full(
        b"mvhd",
        &[
            &be(0xE2A0_0000)[..],
            &be(0xE2A0_0000),
            &be(600),
            &[0; 80],
            &be(4),
        ]
        .concat(),
    );
    let moov = bx(
        b"moov",
        &[
            mvhd,
            trak(1, b"vide", b"avc1", &vs, &vo),
            trak(2, b"soun", b"mp4a", &ss, &so),
            trak(3, b"meta", b"mebx", &gs, &go),
            udta,
            meta,
        ]
        .concat(),
    );
    [ftyp, wide, mdat, moov].concat()
}

/// Medians of a copy and a scrub timed in alternation, round after round, so that a busy
/// machine slows both alike.
fn interleaved(input: &[u8]) {
    const ROUNDS: usize = 40;
    let mut times: [Vec<Duration>; 2] = Default::default();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        black_box(black_box(input).to_vec());
        times[0].push(start.elapsed());
        let start = Instant::now();
        black_box(scrub(black_box(input)).ok());
        times[1].push(start.elapsed());
    }
    let [copy, scrubbed] = times.map(|mut t| {
        t.sort_unstable();
        t[ROUNDS / 2]
    });
    eprintln!(
        "interleaved medians over {ROUNDS} rounds: copy (to_vec) {copy:?}, scrub {scrubbed:?}; \
         scrub = {:.2}x copy (goal: at most 3x)",
        scrubbed.as_secs_f64() / copy.as_secs_f64(),
    );
}

fn bench(c: &mut Criterion) {
    let input = phone_movie();
    let out = scrub(&input).expect("the generated movie scrubs");
    assert_eq!(out.report.format, Format::Mov);
    assert_eq!(out.bytes.len(), input.len());
    assert_eq!(
        out.report.removed,
        [
            Category::Location,
            Category::Device,
            Category::DateTime,
            Category::Other
        ]
    );
    eprintln!(
        "phone-like movie: {} bytes, {} overwritten",
        input.len(),
        out.report.removed_bytes
    );
    interleaved(&input);

    let mut group = c.benchmark_group("50 MB phone movie");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("copy to_vec", |b| {
        b.iter(|| black_box(black_box(&input[..]).to_vec()))
    });
    group.bench_function("scrub", |b| {
        b.iter(|| black_box(scrub(black_box(&input[..]))))
    });
    group.bench_function("plan only", |b| {
        b.iter(|| black_box(framechat_scrub::plan(black_box(&input[..]))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
