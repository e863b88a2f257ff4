//! The reference implementation's vectors (tests/vectors/generate.mjs, npm `thumbhash`)
//! checked both ways: `encode` gives the reference's bytes for the same pixels, and `decode`,
//! `average_rgba` and `aspect_ratio` give what the reference's give, within one step of 255.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use framechat_thumbhash::{MAX_HASH_LEN, aspect_ratio, average_rgba, decode, encode};
use serde_json::Value;

/// The pixel formulas of generate.mjs, repeated exactly.
fn pixels(kind: &str, w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut s: u32 = 1; // ZX81 LCG
    for y in 0..h {
        for x in 0..w {
            let px = match kind {
                "gradient" => [(x * 4) % 256, (y * 5) % 256, ((x ^ y) * 8) % 256, 255],
                "alpha" => [(x * 7) % 256, (y * 3) % 256, 128, ((x + y) * 9) % 256],
                "noise" => {
                    let mut next = || {
                        s = (75 * s + 74) % 65537;
                        s & 255
                    };
                    [next(), next(), next(), 255]
                }
                "solid" => [0, 128, 255, 255],
                "transparent" => [10, 20, 30, 0],
                other => panic!("unknown image kind {other}"),
            };
            out.extend(px.map(|v| u8::try_from(v).unwrap()));
        }
    }
    out
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn vectors() -> Vec<Value> {
    let text = include_str!("vectors/vectors.json");
    let Value::Array(vectors) = serde_json::from_str(text).unwrap() else {
        panic!("vectors.json is not an array")
    };
    assert!(vectors.len() >= 5);
    vectors
}

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or_else(|| panic!("no {key} in {v}"))
}

#[test]
fn encode_gives_the_reference_bytes() {
    for v in vectors() {
        let kind = field(&v, "kind").as_str().unwrap();
        let w = u32::try_from(field(&v, "width").as_u64().unwrap()).unwrap();
        let h = u32::try_from(field(&v, "height").as_u64().unwrap()).unwrap();
        let expected = unhex(field(&v, "hash").as_str().unwrap());
        let hash = encode(w, h, &pixels(kind, w, h)).unwrap();
        assert_eq!(hash, expected, "{kind} {w}x{h}");
        assert!(hash.len() <= MAX_HASH_LEN);
    }
}

#[test]
fn decode_gives_the_reference_picture() {
    for v in vectors() {
        let name = format!(
            "{} {}x{}",
            field(&v, "kind"),
            field(&v, "width"),
            field(&v, "height")
        );
        let hash = unhex(field(&v, "hash").as_str().unwrap());
        let decoded = field(&v, "decoded");
        let image = decode(&hash).unwrap();
        assert_eq!(
            (u64::from(image.width), u64::from(image.height)),
            (
                field(decoded, "width").as_u64().unwrap(),
                field(decoded, "height").as_u64().unwrap()
            ),
            "{name}"
        );
        let expected = unhex(field(decoded, "rgba").as_str().unwrap());
        assert_eq!(image.rgba.len(), expected.len(), "{name}");
        let worst = image
            .rgba
            .iter()
            .zip(&expected)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        assert!(worst <= 1, "{name}: a channel differs by {worst}");

        let average = field(&v, "average").as_array().unwrap();
        for (got, want) in average_rgba(&hash).unwrap().iter().zip(average) {
            assert!(
                (got - want.as_f64().unwrap()).abs() < 1e-9,
                "{name}: average"
            );
        }
        let ratio = field(&v, "aspect_ratio").as_f64().unwrap();
        assert!(
            (aspect_ratio(&hash).unwrap() - ratio).abs() < 1e-12,
            "{name}: ratio"
        );
    }
}
