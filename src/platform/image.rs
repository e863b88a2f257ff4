//! Pictures through the browser's own decoders: a small downscale of an image or of a
//! video's first frame as RGBA (for ThumbHash previews), painting RGBA into a `<canvas>`,
//! and whether a `<video>` can play a type.

use std::cell::RefCell;
use std::rc::Rc;

use gloo::events::EventListener;
use gloo::timers::callback::Timeout;
use wasm_bindgen::{Clamped, JsCast};
use wasm_bindgen_futures::JsFuture;
use yew::NodeRef;

use super::window;
use crate::error::AppError;

/// How long a video may take to show its first frame before the preview is given up.
const FIRST_FRAME_MS: u32 = 5_000;

/// Pixels of a small picture, row by row, 4 bytes each.
pub struct Rgba {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

fn options(width: u32, height: u32) -> web_sys::ImageBitmapOptions {
    let o = web_sys::ImageBitmapOptions::new();
    o.set_resize_width(width);
    o.set_resize_height(height);
    o.set_resize_quality(web_sys::ResizeQuality::Low);
    // `imageOrientation` is "from-image" by default: EXIF orientation is applied.
    o
}

/// A picture decoded by the browser, downscaled; [`pixels`] reads it.
pub struct Bitmap(web_sys::ImageBitmap);

/// The picture in `blob` decoded by the browser (off this thread) straight to
/// `width`x`height`.
pub async fn downscale_image(
    blob: &web_sys::Blob,
    width: u32,
    height: u32,
) -> Result<Bitmap, AppError> {
    let promise = window()?
        .create_image_bitmap_with_blob_and_image_bitmap_options(blob, &options(width, height))?;
    Ok(Bitmap(JsFuture::from(promise).await?.dyn_into()?))
}

/// The first frame of the movie behind `url`, as the browser plays it (rotation applied),
/// downscaled to `width`x`height`; an error when the browser cannot decode it in time.
pub async fn downscale_first_frame(url: &str, width: u32, height: u32) -> Result<Bitmap, AppError> {
    let video: web_sys::HtmlVideoElement = window()?
        .document()
        .ok_or(AppError::NoWindow)?
        .create_element("video")?
        .unchecked_into();
    video.set_muted(true);
    video.set_preload("auto");
    let (tx, rx) = futures_channel::oneshot::channel::<bool>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let settle = move |ok: bool| {
        let tx = tx.clone();
        move || {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(ok);
            }
        }
    };
    let (loaded, failed, late) = (settle(true), settle(false), settle(false));
    let _loaded = EventListener::once(&video, "loadeddata", move |_| loaded());
    let _failed = EventListener::once(&video, "error", move |_| failed());
    let _late = Timeout::new(FIRST_FRAME_MS, late);
    video.set_src(url);
    let ok = rx.await.unwrap_or(false);
    let result = if ok {
        let promise = window()?
            .create_image_bitmap_with_html_video_element_and_image_bitmap_options(
                &video,
                &options(width, height),
            )?;
        Ok(Bitmap(JsFuture::from(promise).await?.dyn_into()?))
    } else {
        Err(AppError::Js("the browser cannot decode this video".into()))
    };
    // Let go of the decoder now rather than when the element is collected.
    video.remove_attribute("src")?;
    video.load();
    result
}

fn canvas(width: u32, height: u32) -> Result<web_sys::HtmlCanvasElement, AppError> {
    let canvas: web_sys::HtmlCanvasElement = window()?
        .document()
        .ok_or(AppError::NoWindow)?
        .create_element("canvas")?
        .unchecked_into();
    canvas.set_width(width);
    canvas.set_height(height);
    Ok(canvas)
}

fn context_2d(
    canvas: &web_sys::HtmlCanvasElement,
) -> Result<web_sys::CanvasRenderingContext2d, AppError> {
    Ok(canvas
        .get_context("2d")?
        .ok_or_else(|| AppError::Js("no 2d context".into()))?
        .unchecked_into())
}

/// The pixels of `bitmap`, copied into WASM.
pub fn pixels(bitmap: Bitmap) -> Result<Rgba, AppError> {
    let (width, height) = (bitmap.0.width(), bitmap.0.height());
    let canvas = canvas(width, height)?;
    let ctx = context_2d(&canvas)?;
    ctx.draw_image_with_image_bitmap(&bitmap.0, 0.0, 0.0)?;
    bitmap.0.close();
    let data = ctx.get_image_data(0.0, 0.0, f64::from(width), f64::from(height))?;
    Ok(Rgba {
        width,
        height,
        pixels: data.data().0,
    })
}

/// Paint `rgba` into the `<canvas>` behind `node` at its own size (CSS scales it).
pub fn paint(node: &NodeRef, rgba: &Rgba) -> Result<(), AppError> {
    let Some(canvas) = node.cast::<web_sys::HtmlCanvasElement>() else {
        return Ok(());
    };
    canvas.set_width(rgba.width);
    canvas.set_height(rgba.height);
    let data = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        Clamped(&rgba.pixels),
        rgba.width,
        rgba.height,
    )?;
    context_2d(&canvas)?.put_image_data(&data, 0.0, 0.0)?;
    Ok(())
}

thread_local! {
    static VIDEO: Option<web_sys::HtmlVideoElement> = window()
        .ok()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("video").ok())
        .map(JsCast::unchecked_into);
}

/// Whether a `<video>` of this browser says it can play `mime` ("maybe" or "probably").
pub fn can_play(mime: &str) -> bool {
    VIDEO.with(|v| {
        v.as_ref()
            .is_some_and(|v| !v.can_play_type(mime).is_empty())
    })
}

/// A span of time the page's `performance` timeline shows as a measure named `name`
/// (tests and the bench read them back with `performance.getEntriesByName(name)`).
pub struct Span {
    name: &'static str,
    mark: String,
}

impl Span {
    /// Starts now; `key` tells apart spans of the same name that overlap.
    pub fn start(name: &'static str, key: u32) -> Self {
        let mark = format!("{name}:{key}");
        if let Some(p) = window().ok().and_then(|w| w.performance()) {
            let _ = p.mark(&mark);
        }
        Span { name, mark }
    }

    pub fn end(self) {
        if let Some(p) = window().ok().and_then(|w| w.performance()) {
            let _ = p.measure_with_start_mark(self.name, &self.mark);
            p.clear_marks_with_mark_name(&self.mark);
        }
    }
}
