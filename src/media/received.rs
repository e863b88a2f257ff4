//! Received attachments: payload views in JS memory become one typed Blob each, shown as
//! an image, a video (when this browser plays its type) or a download link.

use framechat_scrub::{SNIFF_LEN, sniff_mime};
use framechat_wire::{Attachment, Part, split_parts};
use gloo::file::Blob;
use wasm_bindgen::JsCast;

use super::urls::{count_in, media_for, playable, preloaded, renderable};
use crate::state::Media;

/// A received payload slice, kept in JS memory (a view into the frame's ArrayBuffer).
pub struct JsPart(pub js_sys::Uint8Array);

impl Part for JsPart {
    fn byte_len(&self) -> u64 {
        u64::from(self.0.length())
    }
}

/// How a received file is shown.
enum Shown {
    Image,
    Video,
    Download,
}

/// Build one Blob per attachment from the received parts, typed by magic bytes.
pub fn received_media(files: &[Attachment], parts: &[JsPart]) -> Vec<Option<Media>> {
    let sizes: Vec<u64> = files.iter().map(|f| f.size).collect();
    let lens: Vec<u64> = parts.iter().map(Part::byte_len).collect();
    split_parts(&sizes, &lens)
        .into_iter()
        .map(|spans| {
            let seq = js_sys::Array::new();
            for s in &spans {
                let part = parts.get(s.part)?;
                let start = u32::try_from(s.start).ok()?;
                let end = u32::try_from(s.end).ok()?;
                seq.push(&part.0.subarray(start, end));
            }
            let head = first_bytes(&seq, SNIFF_LEN as u32);
            let (mime, shown) = match sniff_mime(&head) {
                Some(m) if renderable(m) => (m, Shown::Image),
                Some(m) if playable(m) => (m, Shown::Video),
                _ => ("application/octet-stream", Shown::Download),
            };
            let props = web_sys::BlobPropertyBag::new();
            props.set_type(mime);
            let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&seq, &props).ok()?;
            let blob = Blob::from(blob);
            Some(match shown {
                Shown::Image => preloaded(blob),
                Shown::Video => media_for(blob, true).as_video(),
                Shown::Download => media_for(blob, false),
            })
        })
        .collect()
}

/// Copy at most `n` leading bytes of a sequence of Uint8Arrays into WASM (for sniffing).
fn first_bytes(seq: &js_sys::Array, n: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(n as usize);
    for v in seq.iter() {
        let Ok(arr) = v.dyn_into::<js_sys::Uint8Array>() else {
            break;
        };
        let want = n.saturating_sub(out.len() as u32).min(arr.length());
        if want == 0 {
            break;
        }
        out.extend(arr.subarray(0, want).to_vec());
    }
    count_in(out.len() as u64);
    out
}
