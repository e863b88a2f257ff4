//! Files in and out: picked File -> bytes -> scrub plan -> Blob to send; received parts -> Blob
//! -> object URL.
//!
//! Copies across the JS/WASM boundary are counted ([`copy_stats`]): a picked image enters WASM
//! once (the scrubber reads all of it) and only the scrubber's few new bytes leave. What is
//! sent is a [`Body::Memory`]: views of the file's `ArrayBuffer` around those new bytes
//! ([`framechat_scrub::plan`]), which frames are copied from in JS; the preview is a Blob of
//! slices of the picked File around the same bytes. A non-image file never enters WASM and is
//! sent as slices of the File ([`Body::File`]); a received file does not enter WASM except its
//! frame headers and [`SNIFF_LEN`] sniffed bytes.
//!
//! A movie (MP4, MOV) takes the image path: read whole, copied into WASM once for the
//! scrubber's plan (which overwrites metadata in place, so the plan is the file's samples as
//! views around a few zeroed boxes), sent as views of the file as read. Images and playable
//! movies also get a ThumbHash ([`thumb`]), made beside the send path.

use gloo::file::File;
use wasm_bindgen::JsCast;

mod body;
mod drafts;
mod prepare;
mod received;
pub mod thumb;
mod urls;

pub use body::{Body, Sendable};
pub use drafts::{DraftAction, Drafts};
pub use prepare::{
    EarlyRead, OffThreadReader, Prep, Prepared, ReadResult, parts_from_plan, placeholder, prepare,
    read_early, removed_codes,
};
pub use received::{JsPart, received_media};
pub use urls::{CopyStats, copy_stats, count_in, count_out, media_for};

/// A file the user picked, dropped or pasted.
#[derive(Clone, Debug)]
pub struct Picked(File);

impl Picked {
    pub fn name(&self) -> String {
        self.0.name()
    }
    pub fn size(&self) -> u64 {
        self.0.size()
    }
}

impl From<web_sys::File> for Picked {
    fn from(f: web_sys::File) -> Self {
        Picked(File::from(f))
    }
}

fn from_list(list: Option<web_sys::FileList>) -> Vec<Picked> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length())
        .filter_map(|i| list.get(i))
        .map(Picked::from)
        .collect()
}

/// Files of an `<input type=file>` change; clears the input so the same file can be picked again.
pub fn files_from_input(e: &web_sys::Event) -> Vec<Picked> {
    let Some(input) = e
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return Vec::new();
    };
    let files = from_list(input.files());
    input.set_value("");
    files
}

pub fn files_from_drop(e: &web_sys::DragEvent) -> Vec<Picked> {
    from_list(e.data_transfer().and_then(|d| d.files()))
}

/// Files pasted from the clipboard (yew hands paste over as a plain `Event`).
pub fn files_from_paste(e: &web_sys::Event) -> Vec<Picked> {
    let Some(e) = e.dyn_ref::<web_sys::ClipboardEvent>() else {
        return Vec::new();
    };
    from_list(e.clipboard_data().and_then(|d| d.files()))
}

/// Whether a drag carries files (to highlight the drop zone).
pub fn drag_has_files(e: &web_sys::DragEvent) -> bool {
    e.data_transfer()
        .map(|d| d.types().includes(&"Files".into(), 0))
        .unwrap_or(false)
}
