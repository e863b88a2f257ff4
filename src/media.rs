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

use std::rc::Rc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use framechat_scrub::{Piece, Plan, SNIFF_LEN, ScrubError, sniff_mime};
use framechat_wire::{Attachment, MAX_DIMENSION, MAX_MIME_LEN, MAX_NAME_LEN, Part, split_parts};
use gloo::file::{Blob, File, ObjectUrl};
use wasm_bindgen::JsCast;
use yew::Reducible;

use crate::error::AppError;
use crate::state::{Media, fit_field};

static INTO_WASM: AtomicU64 = AtomicU64::new(0);
static OUT_OF_WASM: AtomicU64 = AtomicU64::new(0);
static LIVE_URLS: AtomicU64 = AtomicU64::new(0);
static MADE_URLS: AtomicU64 = AtomicU64::new(0);
static NEXT_KEY: AtomicU32 = AtomicU32::new(1);

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

pub(crate) fn count_in(n: u64) {
    INTO_WASM.fetch_add(n, Ordering::Relaxed);
}

pub(crate) fn count_out(n: u64) {
    OUT_OF_WASM.fetch_add(n, Ordering::Relaxed);
}

/// Formats the browser renders that the scrubber knows; everything else is a download.
fn renderable(mime: &str) -> bool {
    matches!(
        mime,
        "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/avif"
    )
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
fn object_url(blob: Blob) -> (String, Rc<dyn std::any::Any>) {
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
fn preloaded(blob: Blob) -> Media {
    let (url, owner) = object_url(blob);
    let image = web_sys::HtmlImageElement::new().ok();
    if let Some(image) = &image {
        image.set_src(&url);
    }
    // Kept as long as the URL, so that its load is not dropped with an element nobody holds.
    Media::new(url, true, Rc::new((owner, image)))
}

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

/// What the composer knows about one attachment.
#[derive(Clone, Debug, PartialEq)]
pub enum Prep {
    Reading,
    /// An image, scrubbed: these category codes were removed.
    Clean {
        removed: Vec<String>,
        removed_bytes: u64,
    },
    /// Not an image format we scrub: sent as a plain file.
    Plain,
    /// Magic bytes say image, but the scrubber could not parse it. Sent only if `allowed`.
    Unscrubbable {
        reason: String,
        allowed: bool,
    },
    /// Cannot be sent (too large, unreadable).
    Rejected(String),
}

/// What is sent for one attachment.
#[derive(Clone, Debug)]
pub enum Body {
    /// A scrubbed image in JS memory, in order: `Uint8Array` views of the file as read and
    /// the scrubber's new bytes. Frames are copied from these directly.
    Memory(Rc<[js_sys::Uint8Array]>),
    /// A file the browser reads as it is sent (plain files and unscrubbed originals): they
    /// are never read whole into memory.
    File(web_sys::Blob),
}

impl Body {
    /// Its length in bytes.
    pub fn size(&self) -> u64 {
        match self {
            Body::Memory(parts) => parts.iter().map(|p| u64::from(p.length())).sum(),
            // Blob sizes are whole numbers below 2^53.
            Body::File(blob) => blob.size() as u64,
        }
    }

    /// Push the parts that hold bytes `start..end` of this body onto `out` (Uint8Array views
    /// or Blob slices); returns whether they are all in memory.
    pub fn push_slices(&self, start: u64, end: u64, out: &js_sys::Array) -> Result<bool, AppError> {
        match self {
            Body::Memory(parts) => {
                let mut base = 0u64;
                for part in parts.iter() {
                    let len = u64::from(part.length());
                    let (a, b) = (start.max(base), end.min(base + len));
                    if a < b {
                        // Both within this part, which is shorter than 4 GiB.
                        let (a, b) = ((a - base) as u32, (b - base) as u32);
                        out.push(&part.subarray(a, b));
                    }
                    base += len;
                }
                Ok(true)
            }
            Body::File(blob) => {
                let slice = blob.slice_with_f64_and_f64(start as f64, end as f64)?;
                out.push(&slice);
                Ok(false)
            }
        }
    }

    /// The whole body as one Blob (what a test reads back; sending never needs it).
    pub fn to_blob(&self) -> Result<web_sys::Blob, AppError> {
        match self {
            Body::Memory(parts) => {
                let seq: js_sys::Array = parts.iter().collect();
                Ok(web_sys::Blob::new_with_u8_array_sequence(&seq)?)
            }
            Body::File(blob) => Ok(blob.clone()),
        }
    }
}

/// One attachment in the composer.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub key: u32,
    pub name: String,
    pub original_size: u64,
    pub prep: Prep,
    /// Inline preview for images, download link otherwise (also what the sender's chat shows).
    pub media: Option<Media>,
    /// Bytes to send: the scrubbed image in memory, or the original File for plain files.
    body: Option<Body>,
    pub mime: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl PartialEq for Prepared {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key && self.prep == o.prep && self.media == o.media && self.size() == o.size()
    }
}

impl Prepared {
    fn new(file: &Picked, key: u32) -> Self {
        Self {
            key,
            name: file.name(),
            original_size: file.size(),
            prep: Prep::Reading,
            media: None,
            body: None,
            mime: String::new(),
            width: None,
            height: None,
        }
    }

    /// Size of what will be sent.
    pub fn size(&self) -> u64 {
        self.body.as_ref().map_or(self.original_size, Body::size)
    }

    /// Ready and allowed to go out.
    pub fn sendable(&self) -> bool {
        match &self.prep {
            Prep::Clean { .. } | Prep::Plain => self.body.is_some(),
            Prep::Unscrubbable { allowed, .. } => *allowed && self.body.is_some(),
            Prep::Reading | Prep::Rejected(_) => false,
        }
    }

    pub fn is_image(&self) -> bool {
        matches!(self.prep, Prep::Clean { .. } | Prep::Unscrubbable { .. })
    }

    /// The header entry for this file.
    pub fn attachment(&self) -> Attachment {
        let removed = match &self.prep {
            Prep::Clean { removed, .. } => removed.clone(),
            _ => Vec::new(),
        };
        let dim = |d: Option<u32>| d.filter(|d| (1..=MAX_DIMENSION).contains(d));
        Attachment {
            name: fit_field(&self.name, MAX_NAME_LEN, "file"),
            mime: fit_field(&self.mime, MAX_MIME_LEN, "application/octet-stream"),
            size: self.size(),
            width: dim(self.width),
            height: dim(self.height),
            removed,
            thumb: None,
        }
    }

    /// What will be sent (scrubbed bytes, or the original for plain files).
    pub fn body(&self) -> Option<Body> {
        self.body.clone()
    }
}

/// A placeholder shown while the file is read and scrubbed.
pub fn placeholder(file: &Picked) -> Prepared {
    Prepared::new(file, NEXT_KEY.fetch_add(1, Ordering::Relaxed))
}

fn read_err(e: gloo::file::FileReadError) -> AppError {
    AppError::Read(e.to_string())
}

/// Declared types whose files are read whole as soon as they are picked: the formats the
/// scrubber handles. Anything else is sniffed from its first [`SNIFF_LEN`] bytes first, so that a large
/// non-image is never read into memory.
fn read_whole_at_once(declared: &str) -> bool {
    matches!(
        declared,
        "image/jpeg"
            | "image/png"
            | "image/gif"
            | "image/webp"
            | "image/avif"
            | "image/heic"
            | "image/heif"
    )
}

/// A whole file's bytes, or why they could not be read.
pub type ReadResult = Result<js_sys::ArrayBuffer, String>;

/// A whole-file read started when the file was picked, before anything renders: waiting
/// for the placeholder's render and a separate head read cost about 20 ms of the latency
/// bench's 12 MP photo.
pub struct EarlyRead {
    done: futures_channel::oneshot::Receiver<ReadResult>,
    /// A read on this thread; dropping it aborts the read. `None`: read off this thread.
    _reader: Option<gloo_file::callbacks::FileReader>,
}

impl EarlyRead {
    /// Whether the bytes are read off this thread (by the socket worker).
    pub fn off_thread(&self) -> bool {
        self._reader.is_none()
    }
}

/// Start reading `file` whole now when its declared type is one the scrubber handles and it
/// is not too large; [`prepare`] picks the bytes up.
///
/// `elsewhere` reads off this thread when it can (the socket worker, [`crate::net::Client::read_file`]).
/// Chromium hands a file's bytes to the thread that reads it in pieces, each a task of that
/// thread: on the main thread, the read of a picked photo waited for the renders that the
/// pick itself causes (latency bench: read in ~20 ms instead of ~10 on an idle page).
pub fn read_early(
    file: &Picked,
    max_size: u64,
    elsewhere: Option<&crate::net::Client>,
) -> Option<EarlyRead> {
    if file.size() > max_size || !read_whole_at_once(&file.0.raw_mime_type()) {
        return None;
    }
    if let Some(done) = elsewhere.and_then(|c| c.read_file(file.0.as_ref())) {
        return Some(EarlyRead {
            done,
            _reader: None,
        });
    }
    let (tx, done) = futures_channel::oneshot::channel();
    let reader = gloo_file::callbacks::read_as_array_buffer(&file.0, move |result| {
        // The receiver is gone only if the attachment was dropped meanwhile.
        let _ = tx.send(result.map_err(|e| e.to_string()));
    });
    Some(EarlyRead {
        done,
        _reader: Some(reader),
    })
}

/// Read and scrub one file, using `early` if [`read_early`] started its read. Non-images are
/// never read whole; images enter WASM once.
pub async fn prepare(file: Picked, key: u32, max_size: u64, early: Option<EarlyRead>) -> Prepared {
    let mut p = Prepared::new(&file, key);
    match prepare_inner(&file, &mut p, max_size, early).await {
        Ok(()) => p,
        Err(e) => {
            p.prep = Prep::Rejected(e.to_string());
            p.body = None;
            p.media = None;
            p
        }
    }
}

async fn prepare_inner(
    file: &Picked,
    p: &mut Prepared,
    max_size: u64,
    early: Option<EarlyRead>,
) -> Result<(), AppError> {
    let size = file.size();
    if size > max_size {
        return Err(AppError::TooLarge {
            size,
            max: max_size,
        });
    }
    let declared = file.0.raw_mime_type();
    let early = match early {
        Some(early) => match early.done.await {
            Ok(Ok(buffer)) => Some(buffer),
            Ok(Err(reason)) => return Err(AppError::Read(reason)),
            // Its reader went away (the socket worker, with its connection): read here.
            Err(_) => None,
        },
        None => None,
    };
    let (sniffed, buffer) = match early {
        Some(buffer) => {
            let head = js_sys::Uint8Array::new(&buffer)
                .subarray(0, SNIFF_LEN as u32)
                .to_vec();
            count_in(head.len() as u64);
            (sniff_mime(&head), Some(buffer))
        }
        None => {
            let head = gloo::file::futures::read_as_bytes(&file.0.slice(0, SNIFF_LEN as u64))
                .await
                .map_err(read_err)?;
            count_in(head.len() as u64);
            (sniff_mime(&head), None)
        }
    };
    let Some(sniffed) = sniffed else {
        plain(file, p, declared);
        return Ok(());
    };
    let buffer = match buffer {
        Some(buffer) => buffer,
        None => gloo::file::futures::read_as_array_buffer(&file.0)
            .await
            .map_err(read_err)?,
    };
    let view = js_sys::Uint8Array::new(&buffer);
    let bytes = view.to_vec();
    count_in(bytes.len() as u64);
    match framechat_scrub::plan(&bytes) {
        Ok(clean) => {
            drop(bytes);
            let mime = clean.report.format.mime();
            let parts = parts_from_plan(&view, &clean.plan);
            let (width, height) = clean.report.display_size().unzip();
            p.media = Some(lazy_preview(file, clean.plan, parts.clone(), mime));
            p.body = Some(Body::Memory(parts));
            p.mime = mime.to_string();
            p.width = width;
            p.height = height;
            p.prep = Prep::Clean {
                removed: removed_codes(&clean.report),
                removed_bytes: clean.report.removed_bytes,
            };
            Ok(())
        }
        Err(ScrubError::NotAnImage) => {
            plain(file, p, declared);
            Ok(())
        }
        Err(e) => {
            // It IS an image we could not clean: keep the original, but never send it silently.
            let original = Blob::from(file.0.clone());
            p.media = Some(media_for(original.clone(), false));
            p.body = Some(Body::File(original.into()));
            p.mime = sniffed.to_string();
            p.prep = Prep::Unscrubbable {
                reason: e.to_string(),
                allowed: false,
            };
            Ok(())
        }
    }
}

/// What the scrubber removed, as the category codes headers carry.
pub(crate) fn removed_codes(report: &framechat_scrub::Report) -> Vec<String> {
    report
        .removed
        .iter()
        .map(|c| c.code().to_string())
        .collect()
}

/// The scrubbed file as views of `file` (the picked file's bytes, in JS memory) and the
/// plan's few new bytes: one part per piece of the plan.
pub(crate) fn parts_from_plan(file: &js_sys::Uint8Array, plan: &Plan) -> Rc<[js_sys::Uint8Array]> {
    plan.pieces()
        .iter()
        .map(|piece| match piece {
            // Offsets into an ArrayBuffer, so below 2^32 here.
            Piece::Keep(range) => file.subarray(range.start as u32, range.end as u32),
            Piece::Insert(bytes) => {
                count_out(bytes.len() as u64);
                js_sys::Uint8Array::from(bytes.as_slice())
            }
        })
        .collect()
}

/// The scrubbed picture's preview, made when it is first shown ([`Media::lazy`]). Making it
/// costs the browser a round trip per slice and one for its URL, 2-3 ms that a message which
/// waited for the picture would wait again before its first frame (it is then shown only
/// once sent). Latency bench, A/B of 30 rounds each, medians: the first frame was handed to
/// the socket 15.4 ms after the pick instead of 17.5, and the photo shown on page B after
/// 73.7 ms instead of 78.2.
fn lazy_preview(
    file: &Picked,
    plan: Plan,
    parts: Rc<[js_sys::Uint8Array]>,
    mime: &'static str,
) -> Media {
    let file = file.0.clone();
    Media::lazy(renderable(mime), move || {
        match preview_from_plan(&file, &plan, &parts, mime) {
            Ok(preview) => object_url(preview),
            // Not seen: the Blob constructor takes file slices and byte views. Without a
            // preview the picture still sends.
            Err(e) => {
                gloo::console::warn!(format!("framechat: no preview of {}: {e}", file.name()));
                (String::new(), Rc::new(()))
            }
        }
    })
}

/// The scrubbed file to show: a Blob of slices of the picked `file` and the new bytes among
/// `parts` (from [`parts_from_plan`]). Blob slices share the file's storage, so the image data
/// is not copied again for the preview.
fn preview_from_plan(
    file: &File,
    plan: &Plan,
    parts: &[js_sys::Uint8Array],
    mime: &str,
) -> Result<Blob, AppError> {
    let source: &web_sys::Blob = file.as_ref();
    let seq = js_sys::Array::new();
    for (piece, part) in plan.pieces().iter().zip(parts) {
        match piece {
            // Offsets into a file in memory: far below 2^53, exact as f64.
            Piece::Keep(range) => {
                let slice = source.slice_with_f64_and_f64(range.start as f64, range.end as f64)?;
                seq.push(&slice)
            }
            Piece::Insert(_) => seq.push(part),
        };
    }
    let props = web_sys::BlobPropertyBag::new();
    props.set_type(mime);
    let blob = web_sys::Blob::new_with_blob_sequence_and_options(&seq, &props)?;
    Ok(Blob::from(blob))
}

fn plain(file: &Picked, p: &mut Prepared, declared: String) {
    let blob = Blob::from(file.0.clone());
    p.media = Some(media_for(blob.clone(), false));
    p.body = Some(Body::File(blob.into()));
    p.mime = if declared.is_empty() {
        "application/octet-stream".into()
    } else {
        declared
    };
    p.prep = Prep::Plain;
}

/// The composer's attachments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Drafts {
    pub items: Vec<Rc<Prepared>>,
}

pub enum DraftAction {
    Add(Prepared),
    /// Replace the entry with the same key (ignored if it was removed meanwhile).
    Ready(Prepared),
    Remove(u32),
    /// The user chose "send original anyway" for an unscrubbable image.
    AllowOriginal(u32),
    Clear,
}

impl Reducible for Drafts {
    type Action = DraftAction;

    fn reduce(self: Rc<Self>, action: DraftAction) -> Rc<Self> {
        let mut next = Rc::unwrap_or_clone(self);
        match action {
            DraftAction::Add(p) => next.items.push(Rc::new(p)),
            DraftAction::Ready(p) => {
                if let Some(slot) = next.items.iter_mut().find(|i| i.key == p.key) {
                    *slot = Rc::new(p);
                }
            }
            DraftAction::Remove(key) => next.items.retain(|i| i.key != key),
            DraftAction::AllowOriginal(key) => {
                if let Some(slot) = next.items.iter_mut().find(|i| i.key == key) {
                    let p = Rc::make_mut(slot);
                    if let Prep::Unscrubbable { allowed, .. } = &mut p.prep {
                        *allowed = true;
                    }
                }
            }
            DraftAction::Clear => next.items.clear(),
        }
        Rc::new(next)
    }
}

/// A received payload slice, kept in JS memory (a view into the frame's ArrayBuffer).
pub struct JsPart(pub js_sys::Uint8Array);

impl Part for JsPart {
    fn byte_len(&self) -> u64 {
        u64::from(self.0.length())
    }
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
            let (mime, inline) = match sniff_mime(&head) {
                Some(m) if renderable(m) => (m, true),
                _ => ("application/octet-stream", false),
            };
            let props = web_sys::BlobPropertyBag::new();
            props.set_type(mime);
            let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&seq, &props).ok()?;
            Some(if inline {
                preloaded(Blob::from(blob))
            } else {
                media_for(Blob::from(blob), false)
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
