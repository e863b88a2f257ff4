//! The link: the one small trait every transport of frames plugs in behind — a WebSocket on
//! this thread ([`super::socket`]), a WebSocket owned by the socket worker
//! ([`super::worker`]) — and the events a link reports to the connection.
//!
//! A link carries whole frames, one per transport message, and says how much it holds that
//! has not left yet; the outbox paces itself on that. Dropping a link closes it.

use std::rc::Rc;

use framechat_wire::{Flags, TAG_LEN};
use futures_channel::oneshot;

use crate::error::AppError;
use crate::media::ReadResult;

/// One frame as a link takes it.
pub enum Outgoing {
    /// All of it, in one buffer that the link may take over (transfer to a worker).
    Bytes(js_sys::Uint8Array),
    /// The header and slices of files, which the browser reads as it sends.
    Blob(web_sys::Blob),
}

/// What a link reports.
pub enum LinkEvent {
    Open,
    /// A binary message: one frame (text messages are not part of the protocol and never
    /// reported).
    Frame(js_sys::ArrayBuffer),
    Closed,
    /// It can never connect: a URL the browser will not accept.
    Unreachable(String),
    /// The socket worker itself failed (its script did not load or run): no worker for this
    /// client from now on.
    WorkerFailed {
        was_open: bool,
    },
    /// The relay's echo of the frame that ends an own private-room message, which the link
    /// sealed and does not hand back: the message's tag.
    SealedEcho([u8; TAG_LEN]),
    /// The envelopes of an own private-room message given to [`Link::keep`], for the store:
    /// the message's tag, and a Blob of them (`None`, kept nothing of, if a worker's message
    /// lacks it; a frame that cannot be sealed closes the link instead, and the message is
    /// kept as on any link).
    Kept([u8; TAG_LEN], Option<web_sys::Blob>),
    /// A private room's message as the envelopes it came in, for the store to keep as they
    /// are: a JS array of each one's length (u32, little-endian) and itself, as byte views
    /// (made into one Blob laid out as [`LinkEvent::Kept`]'s by the store). Reported by the
    /// opener right before the frame that ends the message.
    Arrived(js_sys::Array),
    /// Something the user should know of a frame the link dropped (a private room's frame
    /// that could not be opened).
    Notice(String),
}

/// Where a private room's frame goes in its message: what a link that seals frames itself
/// binds into the envelope (PROTOCOL.md, "Private rooms").
#[derive(Clone, Copy)]
pub struct SealAt {
    pub flags: Flags,
    pub tag: [u8; TAG_LEN],
    pub index: u32,
}

impl SealAt {
    /// As in the additional data: flags, tag, index (big-endian).
    pub fn bytes(&self) -> [u8; 21] {
        let mut seal = [0; 21];
        seal[0] = self.flags.bits();
        seal[1..17].copy_from_slice(&self.tag);
        seal[17..].copy_from_slice(&self.index.to_be_bytes());
        seal
    }
}

/// Where a link reports its events.
pub type Events = Rc<dyn Fn(LinkEvent)>;

pub trait Link {
    fn is_open(&self) -> bool;

    /// Bytes handed over that have not left yet.
    fn buffered_amount(&self) -> u32;

    /// Hands over one frame of `len` bytes. `echo`: the frame's header bytes, for a frame
    /// whose echo from the relay proves nothing (a chunk that does not end its message); a
    /// link may drop that echo before it reaches the page.
    fn send(&self, frame: Outgoing, len: u64, echo: Option<&[u8]>) -> Result<(), AppError>;

    /// Hands over a private room's v1 frame of `len` bytes for this link to seal as `at`
    /// says, if it seals frames itself (the socket worker, given the room's key); else gives
    /// the frame back, to be sealed before [`Link::send`].
    fn send_to_seal(
        &self,
        frame: Outgoing,
        _len: u64,
        _at: SealAt,
    ) -> Result<Option<Outgoing>, AppError> {
        Ok(Some(frame))
    }

    /// Seals a private room's own message whole, now, if this link seals frames itself: its
    /// frames (a JS array of `Uint8Array`s of their own and Blobs) as `seals` say (each
    /// [`SealAt::bytes`]); `buffers`: the `Uint8Array`s' buffers, which it may take over. The
    /// link then sends each with [`Link::send_kept`], and reports the envelopes
    /// ([`LinkEvent::Kept`]). False (and nothing done) for a link that does not.
    fn keep(&self, _frames_seals_buffers: [&js_sys::Array; 3]) -> Result<bool, AppError> {
        Ok(false)
    }

    /// Sends the envelope of frame `at` of a message given to [`Link::keep`]: `len` bytes
    /// before sealing.
    fn send_kept(&self, _at: SealAt, _len: u64) -> Result<(), AppError> {
        Err(AppError::NotOpen)
    }

    /// Reads `file` whole off the page's thread, if this link can.
    fn read_whole(&self, _file: &web_sys::Blob) -> Option<oneshot::Receiver<ReadResult>> {
        None
    }

    /// Whether the socket lives in a worker (diagnostics and tests).
    fn in_worker(&self) -> bool {
        false
    }
}
