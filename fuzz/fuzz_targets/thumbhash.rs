//! Fuzz target: decoding any bytes as a ThumbHash never panics, and what decodes is a
//! placeholder of 1..=32 pixels a side with exactly its RGBA bytes. Inputs long enough are
//! also encoded as a tiny image (the first bytes give its size), whose hash must decode.
#![no_main]

use framechat_thumbhash::{aspect_ratio, average_rgba, decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = aspect_ratio(data);
    let _ = average_rgba(data);
    if let Ok(image) = decode(data) {
        assert!((1..=32).contains(&image.width) && (1..=32).contains(&image.height));
        assert_eq!(image.rgba.len(), (image.width * image.height * 4) as usize);
    }
    if let [w, h, rest @ ..] = data {
        let (w, h) = (u32::from(w % 16) + 1, u32::from(h % 16) + 1);
        let len = (w * h * 4) as usize;
        if let Some(rgba) = rest.get(..len) {
            let hash = encode(w, h, rgba).expect("a small image encodes");
            assert!(hash.len() <= framechat_thumbhash::MAX_HASH_LEN);
            decode(&hash).expect("a hash from encode decodes");
        }
    }
});
