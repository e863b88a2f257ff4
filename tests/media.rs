//! Browser tests of videos and ThumbHash previews on the send and receive paths: a picked
//! movie scrubbed like a photo, a hash made for a picked photo and decodable, a received
//! movie shown as a `<video>`.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown -p framechat --test media`
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use framechat::media::{self, JsPart, Picked, Prep, received_media};
use framechat_wire::Attachment;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const IPHONE_MOV: &[u8] =
    include_bytes!("../crates/framechat-scrub/tests/fixtures/movie_iphone.mov");
const ANDROID_MP4: &[u8] =
    include_bytes!("../crates/framechat-scrub/tests/fixtures/movie_android.mp4");

fn file(name: &str, bytes: &[u8], mime: &str) -> Picked {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = web_sys::FilePropertyBag::new();
    opts.set_type(mime);
    Picked::from(
        web_sys::File::new_with_u8_array_sequence_and_options(&parts, name, &opts).unwrap(),
    )
}

/// What `p` sends, copied out of its body's parts.
fn sent_bytes(p: &media::Prepared) -> Vec<u8> {
    let body = p.to_send().expect("cleared to send").body().clone();
    let parts = js_sys::Array::new();
    assert!(
        body.push_slices(0, body.size(), &parts).unwrap(),
        "in memory"
    );
    parts
        .iter()
        .flat_map(|v| js_sys::Uint8Array::new(&v).to_vec())
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = js_sys::Date::now() + 20_000.0;
    while !cond() {
        assert!(
            js_sys::Date::now() < deadline,
            "timed out waiting for {what}"
        );
        gloo_timers::future::TimeoutFuture::new(10).await;
    }
}

#[wasm_bindgen_test]
async fn a_picked_video_is_scrubbed_like_a_photo() {
    for (name, bytes, mime, needles, declared) in [
        (
            "clip.mov",
            IPHONE_MOV,
            "video/quicktime",
            &[&b"ISO6709"[..], b"Apple"][..],
            "video/quicktime",
        ),
        // Declared as nothing: sniffed.
        (
            "clip.mp4",
            ANDROID_MP4,
            "video/mp4",
            &[&b"\xA9xyz"[..]][..],
            "",
        ),
    ] {
        for needle in needles {
            assert!(
                contains(bytes, needle),
                "{name}: the fixture has {needle:?}"
            );
        }
        let picked = file(name, bytes, declared);
        let early = media::read_early(&picked, u64::MAX, None);
        assert_eq!(
            early.is_some(),
            !declared.is_empty(),
            "{name}: read at pick time"
        );
        let p = media::prepare(picked, 1, u64::MAX, early).await;
        let Prep::Clean { removed, .. } = p.prep() else {
            panic!("{name}: {:?}", p.prep());
        };
        assert!(
            removed.iter().any(|c| c == "location"),
            "{name}: {removed:?}"
        );
        assert_eq!(p.mime, mime);
        let sent = sent_bytes(&p);
        // Overwritten in place: same length, every sample where it was.
        assert_eq!(sent.len(), bytes.len(), "{name}");
        for needle in needles {
            assert!(!contains(&sent, needle), "{name}: {needle:?} is sent");
        }
        let attachment = p.attachment();
        assert_eq!(attachment.mime, mime);
        assert!(
            attachment.width.is_some() && attachment.height.is_some(),
            "{name}"
        );
        let preview = p.media.clone().expect("a preview");
        assert!(
            preview.inline && preview.video,
            "{name}: Chromium plays it: {preview:?}"
        );
        // A ThumbHash of its first frame, shaped as the movie is shown.
        wait_for("the first frame's thumbhash", || {
            p.attachment().thumb.is_some()
        })
        .await;
        let thumb = media::thumb::decode(&p.attachment().thumb.unwrap()).expect("decodes");
        let (w, h) = (attachment.width.unwrap(), attachment.height.unwrap());
        assert_eq!(thumb.width < thumb.height, w < h, "{name}: {w}x{h}");
    }
}

#[wasm_bindgen_test]
async fn a_picked_photo_gets_a_thumbhash_that_decodes() {
    // 16x12 stored, Orientation 6: shown 12x16.
    let picked = file("warm.jpg", framechat::startup::WARM_UP_JPEG, "image/jpeg");
    let p = media::prepare(picked, 2, u64::MAX, None).await;
    assert!(matches!(p.prep(), Prep::Clean { .. }), "{:?}", p.prep());
    wait_for("the thumbhash", || p.attachment().thumb.is_some()).await;
    let thumb = p.attachment().thumb.unwrap();
    assert!(thumb.len() <= framechat_wire::MAX_THUMB_LEN, "{thumb}");
    let bytes = framechat_wire::decode_thumb(&thumb).expect("base64url");
    let ratio = framechat_thumbhash::aspect_ratio(&bytes).unwrap();
    assert!(
        (ratio - 0.75).abs() < 0.15,
        "portrait as shown, not as stored: {ratio}"
    );
    let image = media::thumb::decode(&thumb).expect("decodes");
    assert_eq!(
        image.pixels.len(),
        (image.width * image.height * 4) as usize
    );
    assert!(image.width < image.height);
    // The performance timeline has it, for the bench.
    let perf = web_sys::window().unwrap().performance().unwrap();
    assert!(perf.get_entries_by_name("framechat-thumb").length() > 0);
}

#[wasm_bindgen_test]
fn received_movies_are_videos_and_other_bytes_are_not() {
    let attachment = |name: &str, size: usize| Attachment {
        name: name.into(),
        mime: "video/mp4".into(),
        size: size as u64,
        width: Some(64),
        height: Some(48),
        removed: Vec::new(),
        thumb: None,
    };
    let part = |b: &[u8]| JsPart(js_sys::Uint8Array::from(b));
    let junk = b"not a movie at all, whatever the header claims";
    let files = [
        attachment("a.mp4", ANDROID_MP4.len()),
        attachment("b.mov", IPHONE_MOV.len()),
        attachment("c.mp4", junk.len()),
    ];
    let got = received_media(&files, &[part(ANDROID_MP4), part(IPHONE_MOV), part(junk)]);
    let kinds: Vec<_> = got
        .iter()
        .map(|m| m.as_ref().map(|m| (m.inline, m.video)))
        .collect();
    assert_eq!(
        kinds,
        [Some((true, true)), Some((true, true)), Some((false, false))]
    );
}
