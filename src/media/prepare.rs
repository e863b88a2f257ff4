//! A picked file becomes an attachment: read (early, off the page's thread when it can),
//! sniffed, scrubbed when it is an image or a movie, and given a preview (and, beside the
//! send path, a ThumbHash: [`super::thumb`]).

use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};

use framechat_scrub::{Piece, Plan, SNIFF_LEN, ScrubError, sniff_mime};
use framechat_wire::{Attachment, MAX_DIMENSION, MAX_MIME_LEN, MAX_NAME_LEN};
use gloo::file::{Blob, File};

use super::Picked;
use super::body::{Body, Sendable};
use super::thumb::{self, Source, Thumb};
use super::urls::{count_in, count_out, media_for, object_url, playable, renderable};
use crate::error::AppError;
use crate::state::{Media, fit_field};

static NEXT_KEY: AtomicU32 = AtomicU32::new(1);

/// What the composer knows about one attachment.
#[derive(Clone, Debug, PartialEq)]
pub enum Prep {
    Reading,
    /// An image or a movie, scrubbed: these category codes were removed.
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

/// One attachment in the composer.
///
/// Its bytes are private: the send path takes only a [`Sendable`], which [`Prepared::to_send`]
/// gives for a scrubbed image or a file that is not an image, and for an image the scrubber
/// could not clean only after [`Prepared::release_original`], the user's "send original
/// anyway".
#[derive(Clone, Debug)]
pub struct Prepared {
    pub key: u32,
    pub name: String,
    pub original_size: u64,
    prep: Prep,
    /// Inline preview for images, download link otherwise (also what the sender's chat shows).
    pub media: Option<Media>,
    /// Bytes to send: the scrubbed image in memory, or the original File for plain files and
    /// unscrubbable images (withheld until released).
    body: Option<Body>,
    pub mime: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The ThumbHash, once made (after the scrub, off the send path).
    thumb: Thumb,
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
            thumb: Thumb::default(),
        }
    }

    /// Where the attachment is: being read, clean, plain, unscrubbable or rejected.
    pub fn prep(&self) -> &Prep {
        &self.prep
    }

    /// Size of what will be sent.
    pub fn size(&self) -> u64 {
        self.body.as_ref().map_or(self.original_size, Body::size)
    }

    /// Ready and allowed to go out.
    pub fn sendable(&self) -> bool {
        self.to_send().is_some()
    }

    pub fn is_image(&self) -> bool {
        matches!(self.prep, Prep::Clean { .. } | Prep::Unscrubbable { .. })
    }

    /// The user chose "send original anyway" for an image whose metadata could not be
    /// removed: from now on [`Prepared::to_send`] gives its original bytes. Nothing else
    /// releases them.
    pub fn release_original(&mut self) {
        if let Prep::Unscrubbable { allowed, .. } = &mut self.prep {
            *allowed = true;
        }
    }

    /// The attachment as the send path takes it, if it may go out: scrubbed, not an image,
    /// or released by the user.
    pub fn to_send(&self) -> Option<Sendable> {
        let cleared = match &self.prep {
            Prep::Clean { .. } | Prep::Plain => true,
            Prep::Unscrubbable { allowed, .. } => *allowed,
            Prep::Reading | Prep::Rejected(_) => false,
        };
        let body = self.body.clone().filter(|_| cleared)?;
        Some(Sendable::new(self.attachment(), body, self.media.clone()))
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
            thumb: self.thumb.get().cloned(),
        }
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
            | "video/mp4"
            | "video/quicktime"
            | "video/x-m4v"
            | "video/3gpp"
    )
}

/// A whole file's bytes, or why they could not be read.
pub type ReadResult = Result<js_sys::ArrayBuffer, AppError>;

/// Something that reads a file whole off the page's thread: the socket worker
/// (`crate::net::Client` implements it while its socket lives in one).
pub trait OffThreadReader {
    /// Starts the read; `None` if it cannot be done off this thread. The receiver is
    /// cancelled if the reader goes away before the bytes come back.
    fn read_whole(
        &self,
        file: &web_sys::Blob,
    ) -> Option<futures_channel::oneshot::Receiver<ReadResult>>;
}

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
/// `elsewhere` reads off this thread when it can (the socket worker, see [`OffThreadReader`]).
/// Chromium hands a file's bytes to the thread that reads it in pieces, each a task of that
/// thread: on the main thread, the read of a picked photo waited for the renders that the
/// pick itself causes (latency bench: read in ~20 ms instead of ~10 on an idle page).
pub fn read_early(
    file: &Picked,
    max_size: u64,
    elsewhere: Option<&dyn OffThreadReader>,
) -> Option<EarlyRead> {
    if file.size() > max_size || !read_whole_at_once(&file.0.raw_mime_type()) {
        return None;
    }
    if let Some(done) = elsewhere.and_then(|c| c.read_whole(file.0.as_ref())) {
        return Some(EarlyRead {
            done,
            _reader: None,
        });
    }
    let (tx, done) = futures_channel::oneshot::channel();
    let reader = gloo_file::callbacks::read_as_array_buffer(&file.0, move |result| {
        // The receiver is gone only if the attachment was dropped meanwhile.
        let _ = tx.send(result.map_err(read_err));
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
            Ok(Err(e)) => return Err(e),
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
            let format = clean.report.format;
            let mime = format.mime();
            let parts = parts_from_plan(&view, &clean.plan);
            let (width, height) = clean.report.display_size().unzip();
            let video = format.is_video();
            let shown = if video {
                playable(mime)
            } else {
                renderable(mime)
            };
            let preview = lazy_preview(file, clean.plan, parts.clone(), mime, shown);
            p.media = Some(if video { preview.as_video() } else { preview });
            if let (Some(w), Some(h), true) = (width, height, shown) {
                let blob: web_sys::Blob = AsRef::<web_sys::Blob>::as_ref(&file.0).clone();
                let source = if video {
                    Source::Video(blob)
                } else {
                    Source::Image(blob)
                };
                p.thumb = thumb::start(source, w, h, p.key);
            }
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
pub fn removed_codes(report: &framechat_scrub::Report) -> Vec<String> {
    report
        .removed
        .iter()
        .map(|c| c.code().to_string())
        .collect()
}

/// The scrubbed file as views of `file` (the picked file's bytes, in JS memory) and the
/// plan's few new bytes: one part per piece of the plan.
pub fn parts_from_plan(file: &js_sys::Uint8Array, plan: &Plan) -> Rc<[js_sys::Uint8Array]> {
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
    inline: bool,
) -> Media {
    let file = file.0.clone();
    Media::lazy(inline, move || {
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
