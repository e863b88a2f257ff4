//! Start-up work that makes the first picture fast, done once per mount when the page is
//! idle, and holding nothing afterwards: [`warm_up`] runs the scrubber, the frame encoder and
//! decoder and the reassembler on a small picture, and [`rehearsal`] draws a made-up picture
//! exchange off the page. Browsers compile WebAssembly lazily, each function the first time
//! it runs; without these the first picture a page sent or received paid for that while the
//! user waited. `warmUp: false` (`?warmUp=0`) turns both off.

use framechat_wire::{
    Attachment, Event, Limits, MIN_FRAME_BUDGET, MessageHeader, Reassembler, Uuid, plan,
};
use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::error::AppError;
use crate::media::{self, Body, JsPart};
use crate::net::frames;
use crate::net::link::Outgoing;
use crate::platform::clock::now_ms;

pub mod rehearsal;

/// Runs [`warm_up`] and then the [`rehearsal`] once the page is idle (`requestIdleCallback`,
/// or the next task where the browser has none). Failures only say why; the chat works the
/// same without them.
pub fn when_idle(limits: Limits) {
    let run = Closure::once_into_js(move || {
        if let Err(e) = warm_up(limits) {
            gloo::console::warn!(format!("framechat: the warm-up failed: {e}"));
        }
        if let Err(e) = rehearsal::rehearse() {
            gloo::console::warn!(format!("framechat: the rehearsal did not start: {e}"));
        }
    });
    let Some(window) = web_sys::window() else {
        return;
    };
    let callback = run.unchecked_ref();
    if window.request_idle_callback(callback).is_err() {
        // Safari has no requestIdleCallback: the next task, after the first render.
        let _ = window.set_timeout_with_callback(callback);
    }
}

/// The picture [`warm_up`] sends to itself: a 16x12 JPEG with EXIF (camera, serial number,
/// date, orientation) and GPS, for the scrubber to remove.
pub const WARM_UP_JPEG: &[u8] = include_bytes!("warm_up.jpg");

/// Compressed bytes [`warm_up`] has the JPEG scan run over besides the picture's own.
const WARM_UP_SCAN_BYTES: usize = 1024 * 1024;

/// WebAssembly memory the warm-up takes from the browser and hands back to the allocator,
/// written to so that it is really there. A picked photo's bytes are copied into WASM for the
/// scrubber; without this the first copy grew the memory and touched its new pages while the
/// user waited (latency bench, 12 MP photo of 4.2 MB, Send -> first frame handed over, means
/// of 12 rounds in two A/B runs: 16.6 -> 13.4 ms and 14.5 -> 13.3 ms). The allocator keeps
/// freed memory for later allocations, and WASM memory never shrinks: this is a page's
/// memory from start-up on, where the first photo it sent would have left it.
const WARM_UP_HEAP_BYTES: usize = 6 * 1024 * 1024;

/// `jpeg` with `extra` more bytes of compressed data, before its final EOI marker.
fn stretched(jpeg: &[u8], extra: usize) -> Vec<u8> {
    let (body, eoi) = jpeg.split_at(jpeg.len().saturating_sub(2));
    let mut out = Vec::with_capacity(jpeg.len() + extra);
    out.extend_from_slice(body);
    // No X'FF' in it, so no marker: plain entropy-coded data to the scanner.
    out.resize(body.len() + extra, 0x5A);
    out.extend_from_slice(eoi);
    out
}

/// Runs the send and receive paths once on [`WARM_UP_JPEG`], in memory, and returns the
/// payload that came out of reassembly (the scrubbed picture, in parts).
///
/// Browsers compile WebAssembly lazily, each function the first time it runs. Without this,
/// the first picture a page sent or received paid, while the user waited, for compiling
/// the scrubber, the frame encoder and decoder and the reassembler: about 15 ms across the two
/// pages of the latency bench (measured with V8's `--no-wasm-lazy-compilation`). Run at
/// start-up, it costs that once while nobody waits. It uses the same functions and types as
/// real traffic, so what it compiles is what a picture needs.
pub fn warm_up(limits: Limits) -> Result<Vec<JsPart>, AppError> {
    std::hint::black_box(vec![0x5Au8; WARM_UP_HEAP_BYTES]);
    // The scan of a photo's compressed data runs long enough for V8 to recompile it with its
    // optimising compiler, on a background thread: during a send, that compile competed for
    // the CPU with the transfer (4-14 ms in a trace of the latency bench). A longer scan
    // here has it happen now.
    framechat_scrub::plan(&stretched(WARM_UP_JPEG, WARM_UP_SCAN_BYTES))
        .map_err(|_| AppError::WarmUp("the scan did not run"))?;
    let clean = framechat_scrub::plan(WARM_UP_JPEG)
        .map_err(|_| AppError::WarmUp("the picture did not scrub"))?;
    let parts = media::parts_from_plan(&Uint8Array::from(WARM_UP_JPEG), &clean.plan);
    let size = parts.iter().map(|p| u64::from(p.length())).sum();
    let (width, height) = clean.report.display_size().unzip();
    let header = MessageHeader {
        id: Uuid::nil(),
        from: "warm-up".into(),
        ts: now_ms(),
        // Long enough that, at the smallest budget, the picture goes in chunk frames too.
        text: "warm-up ".repeat(90),
        files: vec![Attachment {
            name: "warm-up.jpg".into(),
            mime: clean.report.format.mime().into(),
            size,
            width,
            height,
            removed: media::removed_codes(&clean.report),
            thumb: None,
        }],
    };
    let frames = plan(&header, MIN_FRAME_BUDGET)?;
    let body = [Body::Memory(parts)];
    let mut reasm = Reassembler::<JsPart>::new(limits);
    for frame in &frames {
        let Outgoing::Bytes(bytes) = frames::build(frame, &body, &[size])?.out else {
            return Err(AppError::WarmUp("a frame was not in memory"));
        };
        let (header, payload) = frames::decode(&bytes)?;
        match reasm.push(header, payload, now_ms())? {
            Event::Complete { parts, .. } => return Ok(parts),
            Event::Started { .. } | Event::Progress { .. } => {}
            Event::Cancelled { .. } => break,
        }
    }
    Err(AppError::WarmUp("the message did not complete"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stretched_warm_up_picture_keeps_its_extra_bytes_as_image_data() {
        let plain = framechat_scrub::plan(WARM_UP_JPEG).unwrap();
        let long = framechat_scrub::plan(&stretched(WARM_UP_JPEG, 4096)).unwrap();
        assert_eq!(long.plan.len(), plain.plan.len() + 4096);
        assert_eq!(long.report.removed_bytes, plain.report.removed_bytes);
    }
}
