//! The scrubber and the frame planner compiled for the browser benchmarks (`cargo xtask bench`).
//!
//! [`scrub`] is exactly the client's path for a picked image (`src/media.rs`): the file's bytes
//! are copied into WASM memory once, scrubbed, and the scrubbed bytes copied out once into a
//! JS `Uint8Array` (the client copies them into the `Blob` it shows and slices into frames).
//! Built with the workspace's release profile, where the scrubber crate is at `opt-level = 3`
//! and everything else at `"z"`: what ships.

use framechat_scrub::Report;
use framechat_wire::{
    Attachment, DEFAULT_FRAME_BUDGET, MessageHeader, PREFIX_LEN, Uuid, header_len, plan,
};
use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

/// Scrubs the image in `input` and returns the bytes that would be framed and sent.
///
/// # Errors
/// The scrubber's error as a JS `Error` (not an image, or a malformed one).
#[wasm_bindgen]
pub fn scrub(input: &Uint8Array) -> Result<Uint8Array, JsError> {
    let bytes = input.to_vec();
    let clean = framechat_scrub::scrub(&bytes).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(Uint8Array::from(clean.bytes.as_slice()))
}

/// The boundary copies of [`scrub`] without the scrub: copy into WASM memory, copy back out.
/// Tells how much of [`scrub`]'s time is crossing the JS/WASM boundary.
#[wasm_bindgen]
pub fn copy_through(input: &Uint8Array) -> Uint8Array {
    let bytes = input.to_vec();
    Uint8Array::from(bytes.as_slice())
}

/// The scrubber's report for `input` as JSON (format, size, orientation, removed categories).
///
/// # Errors
/// As [`scrub`].
#[wasm_bindgen]
pub fn scrub_report(input: &Uint8Array) -> Result<String, JsError> {
    let clean =
        framechat_scrub::scrub(&input.to_vec()).map_err(|e| JsError::new(&e.to_string()))?;
    serde_json::to_string(&clean.report).map_err(|e| JsError::new(&e.to_string()))
}

/// The size in bytes of every frame the client writes to send `input` as one image attachment
/// named `name` (scrubbed first, as the client does), at the default frame budget.
///
/// # Errors
/// As [`scrub`], or the planner's error.
#[wasm_bindgen]
pub fn frame_sizes(input: &Uint8Array, name: &str) -> Result<Vec<f64>, JsError> {
    let clean =
        framechat_scrub::scrub(&input.to_vec()).map_err(|e| JsError::new(&e.to_string()))?;
    let header = message_header(name, clean.bytes.len() as u64, &clean.report);
    let frames = plan(&header, DEFAULT_FRAME_BUDGET).map_err(|e| JsError::new(&e.to_string()))?;
    frames
        .iter()
        .map(|f| {
            let json = header_len(&f.header).map_err(|e| JsError::new(&e.to_string()))?;
            let payload = f.range.end.saturating_sub(f.range.start);
            // f64 holds every size below 2^53 exactly: the protocol's own limit.
            #[allow(clippy::cast_precision_loss)]
            Ok((PREFIX_LEN as u64 + json as u64 + payload) as f64)
        })
        .collect()
}

/// The `msg` header the client writes for one scrubbed image (a fixed, realistic id and time).
fn message_header(name: &str, size: u64, report: &Report) -> MessageHeader {
    let (width, height) = report.display_size().unzip();
    MessageHeader {
        id: Uuid::from_u128(0x018f_3c2a_7b1e_7c3d_9a4b_5c6d_7e8f_9a0b),
        from: "bench".to_owned(),
        ts: 1_763_766_000_123,
        text: String::new(),
        files: vec![Attachment {
            name: name.to_owned(),
            mime: report.format.mime().to_owned(),
            size,
            width,
            height,
            removed: report.removed.iter().map(|c| c.code().to_owned()).collect(),
        }],
    }
}
