//! The scrubber and the frame planner compiled for the browser benchmarks (`cargo xtask bench`).
//!
//! [`scrub_plan`] is the client's path for a picked image (`src/media.rs`): the file's bytes
//! are copied into WASM memory once and planned; JS then makes the `Blob` to show and send
//! from slices of the file and the plan's few new bytes. [`scrub`] is the copying path (the
//! scrubbed bytes come out as a new `Uint8Array`), kept for comparison.
//! Built with the workspace's release profile, where the scrubber crate is at `opt-level = 3`
//! and everything else at `"z"`: what ships.

use framechat_scrub::{Piece, Report};
use framechat_wire::{
    Attachment, DEFAULT_FRAME_BUDGET, MessageHeader, PREFIX_LEN, Uuid, header_len, plan,
    stream_slices, write_frame,
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

/// Plans the scrub of the image in `input`, copied into WASM memory as the client does, and
/// returns the plan's pieces in order: `[start, end]` for a range of `input` to keep, a
/// `Uint8Array` for new bytes.
///
/// # Errors
/// As [`scrub`].
#[wasm_bindgen]
pub fn scrub_plan(input: &Uint8Array) -> Result<js_sys::Array, JsError> {
    let planned =
        framechat_scrub::plan(&input.to_vec()).map_err(|e| JsError::new(&e.to_string()))?;
    let out = js_sys::Array::new();
    for piece in planned.plan.pieces() {
        match piece {
            // Offsets into a file in memory: far below 2^53, exact as f64.
            #[allow(clippy::cast_precision_loss)]
            Piece::Keep(range) => {
                out.push(&js_sys::Array::of2(
                    &(range.start as f64).into(),
                    &(range.end as f64).into(),
                ));
            }
            Piece::Insert(bytes) => {
                out.push(&Uint8Array::from(bytes.as_slice()));
            }
        }
    }
    Ok(out)
}

thread_local! {
    /// The last output of [`scrub_in_memory`], kept so that JS can view it in place.
    static KEPT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Scrubs `input` and leaves the result in WASM memory (no copy out); returns its length.
/// JS views it with [`kept_ptr`] on the module's memory until the next call, e.g. to make the
/// `Blob` the client sends from (what `src/media.rs` does with the scrubbed `Vec`).
///
/// # Errors
/// As [`scrub`].
#[wasm_bindgen]
pub fn scrub_in_memory(input: &Uint8Array) -> Result<u32, JsError> {
    let clean =
        framechat_scrub::scrub(&input.to_vec()).map_err(|e| JsError::new(&e.to_string()))?;
    let len = u32::try_from(clean.bytes.len()).map_err(|e| JsError::new(&e.to_string()))?;
    KEPT.with(|k| *k.borrow_mut() = clean.bytes);
    Ok(len)
}

/// Where the output of the last [`scrub_in_memory`] starts in WASM memory.
#[wasm_bindgen]
pub fn kept_ptr() -> u32 {
    // A wasm32 address: usize is 32 bits there.
    #[allow(clippy::cast_possible_truncation)]
    KEPT.with(|k| k.borrow().as_ptr() as usize as u32)
}

/// The boundary copies of [`scrub`] without the scrub: copy into WASM memory, copy back out.
/// Tells how much of [`scrub`]'s time is crossing the JS/WASM boundary.
#[wasm_bindgen]
pub fn copy_through(input: &Uint8Array) -> Uint8Array {
    let bytes = input.to_vec();
    Uint8Array::from(bytes.as_slice())
}

/// The copy into WASM memory alone, as [`scrub_plan`] makes it: how much of the plan's time
/// is the copy (the floor's work) and how much the scan.
#[wasm_bindgen]
pub fn copy_in(input: &Uint8Array) -> usize {
    input.to_vec().len()
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

/// The frames of one message carrying `input` (scrubbed first) as an image attachment: what a
/// framechat client would send. `seq` makes the message id unique; `ts` is its send time.
/// For the memory benchmark, whose script page plays a second chat client.
///
/// # Errors
/// As [`frame_sizes`].
#[wasm_bindgen]
pub fn message_frames(
    input: &Uint8Array,
    name: &str,
    from: &str,
    seq: u32,
    ts: f64,
) -> Result<js_sys::Array, JsError> {
    let clean =
        framechat_scrub::scrub(&input.to_vec()).map_err(|e| JsError::new(&e.to_string()))?;
    let mut header = message_header(name, clean.bytes.len() as u64, &clean.report);
    header.id = Uuid::from_u128(0x018f_3c2a_7b1e_7000_8000_0000_0000_0000 | u128::from(seq));
    from.clone_into(&mut header.from);
    // Milliseconds since the epoch: a whole, positive number well below 2^53.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    {
        header.ts = ts.max(0.0) as u64;
    }
    let frames = plan(&header, DEFAULT_FRAME_BUDGET).map_err(|e| JsError::new(&e.to_string()))?;
    let out = js_sys::Array::new();
    let mut buf = Vec::new();
    for f in &frames {
        buf.clear();
        let parts = stream_slices(&[clean.bytes.as_slice()], f.range.clone());
        write_frame(&f.header, &parts, &mut buf).map_err(|e| JsError::new(&e.to_string()))?;
        out.push(&Uint8Array::from(buf.as_slice()));
    }
    Ok(out)
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
            thumb: None,
        }],
    }
}
