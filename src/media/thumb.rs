//! ThumbHash previews: made on the send path from a small downscale the browser decodes (an
//! image, or a video's first frame), carried in the attachment header's `thumb`, painted by
//! the receiver into the picture's reserved box until the picture itself shows.
//!
//! The hash is made beside the send path, not on it: [`start`] runs in its own task once the
//! file is scrubbed, [`WAIT_MS`] later, and a message sent before it is done goes without
//! one. The wait is for the photo sent at once (the latency bench presses Send ~8 ms after
//! the pick): decoding a 12 MP JPEG, even off the page's thread, took a core from the upload
//! and from the other page's decode on 2 cores (bench, one run each under load: 98.9 ms
//! pick → shown with the hash made at once, 86.3 without). By the end of the wait such a
//! message has gone, its attachment is no longer held, and no hash is made at all. A person
//! takes longer than that to press Send.

use std::cell::OnceCell;
use std::rc::Rc;

use gloo::file::Blob;

use super::urls::object_url;
use crate::error::AppError;
use crate::platform::image::{self, Rgba, Span};

/// How long after the scrub the hash is started, unless the attachment is gone by then.
pub const WAIT_MS: u32 = 200;

/// The hash once made, shared by every clone of the attachment.
pub type Thumb = Rc<OnceCell<String>>;

/// Where the preview's pixels come from: the picked file (its metadata does not matter,
/// the pixels never leave the page; only the hash does).
pub enum Source {
    Image(web_sys::Blob),
    Video(web_sys::Blob),
}

/// The downscale's size: the picture's aspect ratio, longest side
/// [`framechat_thumbhash::MAX_SIZE`].
pub fn fit(width: u32, height: u32) -> Option<(u32, u32)> {
    let max = framechat_thumbhash::MAX_SIZE;
    let (w, h) = (u64::from(width), u64::from(height));
    if w == 0 || h == 0 {
        return None;
    }
    let long = w.max(h);
    // Rounded to nearest, at least 1; both at most `max`, so the casts are exact.
    let scale = |d: u64| ((d * u64::from(max) + long / 2) / long).max(1) as u32;
    Some(if long <= u64::from(max) {
        (width, height)
    } else {
        (scale(w), scale(h))
    })
}

/// Start making the hash of `source`, shown `width`x`height` (orientation applied); the
/// returned cell holds it once made. Failures leave it empty: a preview is optional.
pub fn start(source: Source, width: u32, height: u32, key: u32) -> Thumb {
    let cell: Thumb = Rc::default();
    let Some((w, h)) = fit(width, height) else {
        return cell;
    };
    let out = cell.clone();
    wasm_bindgen_futures::spawn_local(async move {
        sleep(WAIT_MS).await;
        if Rc::strong_count(&out) == 1 {
            // Sent or removed meanwhile: nobody would read it.
            return;
        }
        let span = Span::start("framechat-thumb", key);
        match make(source, w, h, key).await {
            Ok(hash) => {
                let _ = out.set(hash);
                span.end();
            }
            Err(e) => gloo::console::debug!(format!("framechat: no preview hash: {e}")),
        }
    });
    cell
}

async fn sleep(ms: u32) {
    let (tx, rx) = futures_channel::oneshot::channel::<()>();
    let _timer = gloo::timers::callback::Timeout::new(ms, move || {
        let _ = tx.send(());
    });
    let _ = rx.await;
}

async fn make(source: Source, w: u32, h: u32, key: u32) -> Result<String, AppError> {
    let bitmap = match source {
        Source::Image(blob) => image::downscale_image(&blob, w, h).await?,
        Source::Video(blob) => {
            // Counted and revoked (when `_owner` drops) like every other URL.
            let (url, _owner) = object_url(Blob::from(blob));
            image::downscale_first_frame(&url, w, h).await?
        }
    };
    // The part on this thread: the pixels into WASM and the hash (the decode was the
    // browser's, off this thread).
    let span = Span::start("framechat-thumb-page", key);
    // Not counted in `copy_stats`, which counts the bytes of files: these are at most
    // 100x100 pixels the browser decoded (40 KB), not bytes of the picked file.
    let rgba = image::pixels(bitmap)?;
    let hash =
        framechat_thumbhash::encode_with(rgba.width, rgba.height, &rgba.pixels, js_sys::Math::cos)
            .map_err(|_| AppError::Js("no thumbhash".into()))?;
    span.end();
    Ok(framechat_wire::encode_thumb(&hash))
}

/// The placeholder `thumb` (a header's base64url ThumbHash) decoded, ready to paint; `None`
/// when it is not a valid hash.
pub fn decode(thumb: &str) -> Option<Rgba> {
    let bytes = framechat_wire::decode_thumb(thumb)?;
    let image = framechat_thumbhash::decode_with(&bytes, js_sys::Math::cos).ok()?;
    Some(Rgba {
        width: image.width,
        height: image.height,
        pixels: image.rgba,
    })
}

/// Paint `thumb` into the `<canvas>` behind `node`; whether it was.
pub fn paint(node: &yew::NodeRef, thumb: &str) -> bool {
    decode(thumb).is_some_and(|rgba| image::paint(node, &rgba).is_ok())
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn downscales_keep_the_shape_within_100() {
        assert_eq!(fit(4000, 3000), Some((100, 75)));
        assert_eq!(fit(3000, 4000), Some((75, 100)));
        assert_eq!(fit(12, 16), Some((12, 16)));
        assert_eq!(fit(1, 100_000), Some((1, 100)));
        assert_eq!(fit(u32::MAX, 1), Some((100, 1)));
        assert_eq!(fit(0, 5), None);
    }
}
