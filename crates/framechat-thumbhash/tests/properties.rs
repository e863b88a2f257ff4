//! Properties: hostile hashes never panic, and every image encodes to a short hash that
//! decodes to a placeholder of about its aspect ratio.
#![allow(clippy::unwrap_used)] // test code: a panic is a failure

use framechat_thumbhash::{Error, MAX_HASH_LEN, aspect_ratio, average_rgba, decode, encode};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(hash in prop::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(image) = decode(&hash) {
            prop_assert!((1..=32).contains(&image.width) && (1..=32).contains(&image.height));
            prop_assert_eq!(image.rgba.len(), (image.width * image.height * 4) as usize);
        }
        let _ = aspect_ratio(&hash);
        if let Ok(rgba) = average_rgba(&hash) {
            prop_assert!(rgba.iter().all(|c| (0.0..=1.0).contains(c)));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    #[test]
    fn images_encode_to_short_hashes_that_decode(
        (w, h, rgba) in (1u32..=100, 1u32..=100).prop_flat_map(|(w, h)| {
            (Just(w), Just(h), prop::collection::vec(any::<u8>(), (w * h * 4) as usize))
        }),
    ) {
        let hash = encode(w, h, &rgba).unwrap();
        prop_assert!(hash.len() <= MAX_HASH_LEN);
        prop_assert_eq!(&encode(w, h, &rgba).unwrap(), &hash);
        let image = decode(&hash).unwrap();
        // The placeholder keeps the orientation of the original (square ones either way).
        if w > 2 * h {
            prop_assert!(image.width > image.height);
        }
        if h > 2 * w {
            prop_assert!(image.height > image.width);
        }
        // Every strict prefix of a hash is refused, never misread.
        for len in 0..hash.len() {
            let truncated = matches!(decode(&hash[..len]), Err(Error::Truncated { .. }));
            prop_assert!(truncated, "prefix of {} bytes decoded", len);
        }
    }
}
