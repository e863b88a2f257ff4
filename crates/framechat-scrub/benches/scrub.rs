//! Criterion bench: scrubbing a 12-megapixel camera-like JPEG (~4 MB, full EXIF with GPS,
//! maker note and thumbnail, XMP, IPTC, a two-part ICC profile) against a plain copy of
//! the same bytes, in the same run.
//!
//! The file is built here, deterministically: real segment structure around ~4 MB of
//! pseudo-random entropy-coded data (0xFF always stuffed as FF 00, a restart marker every
//! 4 KiB, as cameras write with DRI), so the scrubber does all the work it does on a photo.
#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use framechat_scrub::{Category, scrub};

/// xorshift64*: deterministic bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next().to_le_bytes()[0]).collect()
    }
}

fn segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(payload);
}

/// A big-endian TIFF IFD builder: entries are (tag, type, count, value bytes); values
/// longer than 4 bytes go to a data area after the IFD.
fn ifd(base: usize, entries: &[(u16, u16, &[u8])], next: u32) -> Vec<u8> {
    let data_start = base + 2 + entries.len() * 12 + 4;
    let mut head = u16::try_from(entries.len()).unwrap().to_be_bytes().to_vec();
    let mut data = Vec::new();
    for &(tag, kind, value) in entries {
        let unit = match kind {
            3 => 2,
            4 | 13 => 4,
            5 => 8,
            _ => 1,
        };
        head.extend_from_slice(&tag.to_be_bytes());
        head.extend_from_slice(&kind.to_be_bytes());
        head.extend_from_slice(&u32::try_from(value.len() / unit).unwrap().to_be_bytes());
        if value.len() <= 4 {
            let mut field = [0u8; 4];
            field[..value.len()].copy_from_slice(value);
            head.extend_from_slice(&field);
        } else {
            let offset = u32::try_from(data_start + data.len()).unwrap();
            head.extend_from_slice(&offset.to_be_bytes());
            data.extend_from_slice(value);
            if data.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    head.extend_from_slice(&next.to_be_bytes());
    head.extend_from_slice(&data);
    head
}

/// APP1 EXIF as a phone writes it: IFD0, Exif IFD with a 4 KB maker note and serial
/// numbers, GPS IFD, and IFD1 with an 8 KB JPEG thumbnail.
fn exif(rng: &mut Rng) -> Vec<u8> {
    let rational = |n: u32, d: u32| [n.to_be_bytes(), d.to_be_bytes()].concat();
    let gps_lat = [rational(48, 1), rational(51, 1), rational(2412, 100)].concat();
    let maker_note = rng.bytes(4096);
    let thumbnail = {
        let mut t = vec![0xFF, 0xD8];
        t.extend(rng.bytes(8000).into_iter().map(|b| b & 0x7F));
        t.extend_from_slice(&[0xFF, 0xD9]);
        t
    };
    // Lay out: header (8), IFD0, Exif IFD, GPS IFD, IFD1, thumbnail. Sizes are computed
    // by building each IFD twice: once to measure, once with the real offsets.
    let build = |exif_at: usize, gps_at: usize, ifd1_at: usize, thumb_at: usize| {
        let ifd0 = ifd(
            8,
            &[
                (0x010F, 2, b"FrameCam\0"),
                (0x0110, 2, b"FC-12 Pro Max\0"),
                (0x0112, 3, &[0, 6]),
                (0x0131, 2, b"FrameCam OS 17.2\0"),
                (0x0132, 2, b"2024:05:06 07:08:09\0"),
                (0x013B, 2, b"Ada Lovelace\0"),
                (0x8298, 2, b"(c) Ada Lovelace\0"),
                (0x8769, 4, &u32::try_from(exif_at).unwrap().to_be_bytes()),
                (0x8825, 4, &u32::try_from(gps_at).unwrap().to_be_bytes()),
            ],
            u32::try_from(ifd1_at).unwrap(),
        );
        let exif_ifd = ifd(
            exif_at,
            &[
                (0x829A, 5, &rational(1, 120)),
                (0x9003, 2, b"2024:05:06 07:08:09\0"),
                (0x9004, 2, b"2024:05:06 07:08:09\0"),
                (0x9011, 2, b"+02:00\0"),
                (0x927C, 7, &maker_note),
                (0xA431, 2, b"SN0123456789\0"),
                (0xA434, 2, b"FrameLens 24mm f/1.8\0"),
                (0xA435, 2, b"LSN987654\0"),
            ],
            0,
        );
        let gps = ifd(
            gps_at,
            &[
                (0x0001, 2, b"N\0"),
                (0x0002, 5, &gps_lat),
                (0x0003, 2, b"E\0"),
                (0x0004, 5, &gps_lat),
            ],
            0,
        );
        let thumb_len = u32::try_from(thumbnail.len()).unwrap();
        let ifd1 = ifd(
            ifd1_at,
            &[
                (0x0103, 3, &[0, 6]),
                (0x0201, 4, &u32::try_from(thumb_at).unwrap().to_be_bytes()),
                (0x0202, 4, &thumb_len.to_be_bytes()),
            ],
            0,
        );
        (ifd0, exif_ifd, gps, ifd1)
    };
    let (a, b, c, d) = build(0, 0, 0, 0);
    let exif_at = 8 + a.len();
    let gps_at = exif_at + b.len();
    let ifd1_at = gps_at + c.len();
    let thumb_at = ifd1_at + d.len();
    let (a, b, c, d) = build(exif_at, gps_at, ifd1_at, thumb_at);
    let mut payload = b"Exif\0\0MM\0\x2A\0\0\0\x08".to_vec();
    for part in [a, b, c, d, thumbnail] {
        payload.extend_from_slice(&part);
    }
    payload
}

/// A 4000x3000 baseline JPEG of about 4 MB with everything a phone leaves in it.
fn camera_jpeg() -> Vec<u8> {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut out = vec![0xFF, 0xD8];
    segment(&mut out, 0xE1, &exif(&mut rng));
    let xmp = format!(
        "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">{}</x:xmpmeta>",
        "<rdf:Description exif:GPSLatitude=\"48,51.40N\" dc:creator=\"Ada\"/>".repeat(80)
    );
    segment(&mut out, 0xE1, xmp.as_bytes());
    // A 60 KB ICC profile in two APP2 parts (ICC.1 B.4).
    let icc = rng.bytes(60_000);
    for (i, part) in icc.chunks(30_000).enumerate() {
        let mut payload = b"ICC_PROFILE\0".to_vec();
        payload.extend_from_slice(&[u8::try_from(i + 1).unwrap(), 2]);
        payload.extend_from_slice(part);
        segment(&mut out, 0xE2, &payload);
    }
    segment(
        &mut out,
        0xED,
        b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x10\x1c\x02\x50\0\x0cAda Lovelace",
    );
    // Two quantisation tables, frame header 4000x3000 YCbCr 4:2:0, four Huffman tables.
    for id in 0..2u8 {
        let mut dqt = vec![id];
        dqt.extend((1..=64u8).map(|q| q.max(2)));
        segment(&mut out, 0xDB, &dqt);
    }
    segment(
        &mut out,
        0xC0,
        &[
            8, 0x0B, 0xB8, 0x0F, 0xA0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
        ],
    );
    for class_id in [0x00u8, 0x10, 0x01, 0x11] {
        let mut dht = vec![class_id];
        dht.extend_from_slice(&[0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
        dht.extend(0..12u8);
        segment(&mut out, 0xC4, &dht);
    }
    segment(&mut out, 0xDD, &[0, 250]); // DRI
    segment(&mut out, 0xDA, &[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
    // Entropy-coded data: random, every 0xFF stuffed, RSTn every 4 KiB.
    let mut written = 0usize;
    let mut restart = 0u8;
    while written < 4_000_000 {
        for byte in rng.bytes(4096) {
            out.push(byte);
            if byte == 0xFF {
                out.push(0x00);
            }
        }
        written += 4096;
        out.extend_from_slice(&[0xFF, 0xD0 + restart]);
        restart = (restart + 1) % 8;
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// Medians of memcpy and scrub timed in alternation, round after round, so that a busy
/// machine slows both alike; criterion's groups below run one after the other.
fn interleaved(input: &[u8]) {
    const ROUNDS: usize = 300;
    let mut buffer = vec![0u8; input.len()];
    let mut times: [Vec<Duration>; 3] = Default::default();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        black_box(black_box(input).to_vec());
        times[0].push(start.elapsed());
        let start = Instant::now();
        buffer.copy_from_slice(black_box(input));
        black_box(&buffer);
        times[1].push(start.elapsed());
        let start = Instant::now();
        black_box(scrub(black_box(input)).ok());
        times[2].push(start.elapsed());
    }
    let [to_vec, copy, scrubbed] = times.map(|mut t| {
        t.sort_unstable();
        t[ROUNDS / 2]
    });
    eprintln!(
        "interleaved medians over {ROUNDS} rounds: memcpy to_vec {to_vec:?}, memcpy copy_from_slice {copy:?}, \
         scrub {scrubbed:?}; scrub = {:.2}x to_vec, {:.2}x copy_from_slice",
        scrubbed.as_secs_f64() / to_vec.as_secs_f64(),
        scrubbed.as_secs_f64() / copy.as_secs_f64(),
    );
}

fn bench(c: &mut Criterion) {
    let input = camera_jpeg();
    let out = scrub(&input).expect("the generated JPEG scrubs");
    assert_eq!(out.report.orientation, Some(6));
    assert_eq!(
        (out.report.width, out.report.height),
        (Some(4000), Some(3000))
    );
    for category in [
        Category::Location,
        Category::Device,
        Category::DateTime,
        Category::Author,
        Category::Thumbnail,
        Category::Xmp,
        Category::Iptc,
    ] {
        assert!(
            out.report.removed.contains(&category),
            "{category:?} not found"
        );
    }
    eprintln!(
        "camera-like JPEG: {} bytes in, {} bytes out, {} removed",
        input.len(),
        out.bytes.len(),
        out.report.removed_bytes
    );
    interleaved(&input);

    let mut group = c.benchmark_group("12MP camera JPEG");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("memcpy to_vec", |b| {
        b.iter(|| black_box(black_box(&input[..]).to_vec()))
    });
    let mut buffer = vec![0u8; input.len()];
    group.bench_function("memcpy copy_from_slice", |b| {
        b.iter(|| {
            buffer.copy_from_slice(black_box(&input[..]));
            black_box(&buffer);
        });
    });
    group.bench_function("scrub", |b| {
        b.iter(|| black_box(scrub(black_box(&input[..]))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
