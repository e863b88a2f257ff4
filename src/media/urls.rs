//! Object URLs for media, counted, and the count of bytes copied across the JS/WASM
//! boundary ([`copy_stats`]): what the tests and the bench read to see that images enter WASM
//! once and URLs are revoked.

use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use gloo::file::{Blob, ObjectUrl};

use crate::state::Media;

static INTO_WASM: AtomicU64 = AtomicU64::new(0);
static OUT_OF_WASM: AtomicU64 = AtomicU64::new(0);
static LIVE_URLS: AtomicU64 = AtomicU64::new(0);
static MADE_URLS: AtomicU64 = AtomicU64::new(0);

/// Bytes copied from JS into WASM memory and out of it since start, live object URLs, and
/// object URLs made since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyStats {
    pub into_wasm: u64,
    pub out_of_wasm: u64,
    pub live_urls: u64,
    pub made_urls: u64,
}

pub fn copy_stats() -> CopyStats {
    CopyStats {
        into_wasm: INTO_WASM.load(Ordering::Relaxed),
        out_of_wasm: OUT_OF_WASM.load(Ordering::Relaxed),
        live_urls: LIVE_URLS.load(Ordering::Relaxed),
        made_urls: MADE_URLS.load(Ordering::Relaxed),
    }
}

pub fn count_in(n: u64) {
    INTO_WASM.fetch_add(n, Ordering::Relaxed);
}

pub fn count_out(n: u64) {
    OUT_OF_WASM.fetch_add(n, Ordering::Relaxed);
}

/// Formats the browser renders that the scrubber knows; everything else is a download.
pub(super) fn renderable(mime: &str) -> bool {
    matches!(
        mime,
        "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/avif"
    )
}

/// Movie formats the scrubber knows that this browser's `<video>` says it plays.
/// QuickTime is ISO-BMFF as MP4 is, and browsers that play MP4 read it with the same
/// demuxer even when they do not claim `video/quicktime` (Chromium).
pub(super) fn playable(mime: &str) -> bool {
    use crate::platform::image::can_play;
    match mime {
        "video/quicktime" => can_play(mime) || can_play("video/mp4"),
        "video/mp4" => can_play(mime),
        _ => false,
    }
}

/// An object URL that counts itself, so tests can see that URLs are revoked.
struct UrlOwner(#[allow(dead_code)] ObjectUrl);

impl Drop for UrlOwner {
    fn drop(&mut self) {
        LIVE_URLS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A blob: URL for `blob`, revoked when the last clone of the returned [`Media`] drops.
pub fn media_for(blob: Blob, inline: bool) -> Media {
    let (url, owner) = object_url(blob);
    Media::new(url, inline, owner)
}

/// A counted blob: URL for `blob`, and what revokes it when dropped.
pub(super) fn object_url(blob: Blob) -> (String, Rc<dyn std::any::Any>) {
    let url = ObjectUrl::from(blob);
    let text = url.to_string();
    LIVE_URLS.fetch_add(1, Ordering::Relaxed);
    MADE_URLS.fetch_add(1, Ordering::Relaxed);
    (text, Rc::new(UrlOwner(url)))
}

/// An inline picture's [`Media`], its loading started now: the `<img>` that shows it, drawn
/// by the next render, finds it loading or loaded (same URL, same image in the browser's
/// memory cache) instead of starting only then. A received 12 MP photo's Blob takes ~10 ms
/// to load, about as long as the render that shows its message (latency bench).
pub(super) fn preloaded(blob: Blob) -> Media {
    let (url, owner) = object_url(blob);
    let image = web_sys::HtmlImageElement::new().ok();
    if let Some(image) = &image {
        image.set_src(&url);
    }
    // Kept as long as the URL, so that its load is not dropped with an element nobody holds.
    Media::new(url, true, Rc::new((owner, image)))
}
