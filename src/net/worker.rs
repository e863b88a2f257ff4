//! The room's WebSocket owned by a dedicated worker ([`WORKER_JS`]).
//!
//! Chromium moves a WebSocket's data in and out of the renderer in tasks of the thread that
//! owns the socket. Owned by the page's main thread, a transfer paused for every render and
//! every event handler: in the latency bench, the sender's render of its own new message held
//! the first frames for its whole length. A worker owns it instead: frames go to it as
//! transferred buffers (no copy), received ones come back the same way, and it reports how
//! much its socket buffers, which is what pacing and confirmation read. The worker also reads
//! picked files whole, off the page's thread. In a private room it seals the frames too, with
//! the room's frame key (a non-extractable `CryptoKey`, posted to it once): the page's thread
//! then hands over a private room's frame as it does a plain one (src/net/private.rs says the
//! rest). Where workers cannot start (a host page's
//! Content Security Policy without `worker-src blob:`), the connection uses
//! [`super::socket::DirectSocket`] instead.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::MessageEvent;

use super::link::{Events, Link, LinkEvent, Outgoing, SealAt};
use super::private::PrivateRoom;
use crate::error::AppError;
use crate::media::ReadResult;
use crate::platform::{get, set};

/// The socket worker's source; the protocol is described there.
const WORKER_SOURCE: &str = include_str!("socket_worker.js");

/// The worker's source as the client carries it: without its comment lines and indentation,
/// which the browser does not need and which would only make the `.wasm` larger.
const WORKER_JS: &str = {
    const LEN: usize = strip(WORKER_SOURCE.as_bytes(), &mut []);
    const BYTES: [u8; LEN] = {
        let mut out = [0; LEN];
        strip(WORKER_SOURCE.as_bytes(), &mut out);
        out
    };
    // Whole lines and ASCII spaces go: what is left is UTF-8 as the source is.
    match std::str::from_utf8(&BYTES) {
        Ok(js) => js,
        Err(_) => WORKER_SOURCE,
    }
};

/// Copies the lines of `js` that are neither empty nor `//` comments into `out`, each without
/// its leading spaces (as much of it as fits): the length of the whole result. Only whole-line
/// comments go, so a `//` inside a string or a regular expression is never touched.
const fn strip(js: &[u8], out: &mut [u8]) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < js.len() {
        while i < js.len() && js[i] == b' ' {
            i += 1;
        }
        let comment = i < js.len()
            && (js[i] == b'\n' || (i + 1 < js.len() && js[i] == b'/' && js[i + 1] == b'/'));
        while i < js.len() {
            let c = js[i];
            i += 1;
            if !comment {
                if n < out.len() {
                    out[n] = c;
                }
                n += 1;
            }
            if c == b'\n' {
                break;
            }
        }
    }
    n
}

thread_local! {
    /// The worker script as a Blob, made once; `None` if it could not be made.
    static WORKER_SCRIPT: Option<web_sys::Blob> = {
        let props = web_sys::BlobPropertyBag::new();
        props.set_type("text/javascript");
        let parts = js_sys::Array::of1(&JsValue::from_str(WORKER_JS));
        web_sys::Blob::new_with_str_sequence_and_options(&parts, &props).ok()
    };
}

/// A socket worker, started from a blob: URL of its own that is revoked at once: a worker
/// resolves its script's URL when it is made, and a URL kept alive would count among the
/// page's live object URLs for nothing.
fn start_worker() -> Result<web_sys::Worker, AppError> {
    let script = WORKER_SCRIPT
        .with(Clone::clone)
        .ok_or(AppError::NoWorkerScript)?;
    let url = web_sys::Url::create_object_url_with_blob(&script)?;
    let worker = web_sys::Worker::new(&url);
    web_sys::Url::revoke_object_url(&url)?;
    Ok(worker?)
}

/// What the page knows of the worker's socket, and the file reads it was given.
#[derive(Default)]
struct State {
    reads: RefCell<HashMap<u32, oneshot::Sender<ReadResult>>>,
    next_read: Cell<u32>,
    open: Cell<bool>,
    /// Bytes posted to the worker to send.
    posted: Cell<u64>,
    /// From the worker's last report: bytes handed to its socket, and its `bufferedAmount`.
    handed: Cell<u64>,
    buffered: Cell<u32>,
}

pub struct WorkerSocket {
    worker: web_sys::Worker,
    state: Rc<State>,
    /// A private room's link: the worker seals its frames.
    seals: bool,
    _handlers: [Closure<dyn FnMut(JsValue)>; 2],
}

impl WorkerSocket {
    /// Starts a worker that connects to `url`, and seals the frames of a `private` room. Fails
    /// when the page cannot start workers.
    pub fn open(
        url: &str,
        events: &Events,
        private: Option<&PrivateRoom>,
    ) -> Result<Self, AppError> {
        let worker = start_worker()?;
        // A room name too long for the additional data: the page's sealer reports it.
        let private = private.filter(|room| room.room.len() <= framechat_wire::MAX_ROOM_LEN);
        let state = Rc::new(State::default());
        let on_message = {
            let (state, events) = (state.clone(), events.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
                let msg = ev.unchecked_into::<MessageEvent>().data();
                if let Some(e) = state.report(&msg) {
                    events(e);
                }
            })
        };
        let on_error = {
            let (state, events) = (state.clone(), events.clone());
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                events(LinkEvent::WorkerFailed {
                    was_open: state.open.replace(false),
                });
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let socket = Self {
            worker,
            state,
            seals: private.is_some(),
            _handlers: [on_message, on_error],
        };
        let msg = js_sys::Object::new();
        set(&msg, "op", &"open".into())?;
        set(&msg, "url", &url.into())?;
        if let Some(room) = private {
            set(&msg, "key", room.key.crypto_key())?;
            set(&msg, "room", &room.room.as_str().into())?;
        }
        socket.worker.post_message(&msg)?;
        Ok(socket)
    }
}

impl State {
    /// One message from the worker; what the connection needs to hear of it.
    fn report(&self, msg: &JsValue) -> Option<LinkEvent> {
        match get(msg, "ev").as_string().as_deref() {
            Some("open") => {
                self.open.set(true);
                Some(LinkEvent::Open)
            }
            Some("message") => get(msg, "data").dyn_into().ok().map(LinkEvent::Frame),
            Some("echo") => tag_of(msg).map(LinkEvent::SealedEcho),
            Some("kept") => {
                let blob = get(msg, "blob").dyn_into().ok();
                tag_of(msg).map(|tag| LinkEvent::Kept(tag, blob))
            }
            Some("notice") => Some(LinkEvent::Notice(
                get(msg, "message").as_string().unwrap_or_default(),
            )),
            Some("buffered") => {
                // Byte counts, exact as f64 below 2^53; bufferedAmount fits u32 as in a
                // WebSocket.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                {
                    self.handed
                        .set(get(msg, "handed").as_f64().unwrap_or(0.0) as u64);
                    self.buffered
                        .set(get(msg, "buffered").as_f64().unwrap_or(0.0) as u32);
                }
                None
            }
            Some("read") => {
                // Ids are below 2^32: the page numbers them.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let id = get(msg, "id").as_f64().unwrap_or(-1.0) as u32;
                if let Some(tx) = self.reads.borrow_mut().remove(&id) {
                    let result = get(msg, "data").dyn_into().map_err(|_| {
                        AppError::Read(
                            get(msg, "error")
                                .as_string()
                                .unwrap_or_else(|| "the file could not be read".into()),
                        )
                    });
                    // The receiver is gone only if the attachment was dropped meanwhile.
                    let _ = tx.send(result);
                }
                None
            }
            Some("close") => {
                self.open.set(false);
                Some(LinkEvent::Closed)
            }
            // `new WebSocket` threw in the worker: a URL it will never accept.
            Some("fail") => Some(LinkEvent::Unreachable(
                get(msg, "message").as_string().unwrap_or_default(),
            )),
            _ => None,
        }
    }
}

impl Link for WorkerSocket {
    fn is_open(&self) -> bool {
        self.state.open.get()
    }

    /// Bytes not yet sent: still on their way to the worker, or in the socket's buffer.
    fn buffered_amount(&self) -> u32 {
        let s = &self.state;
        let waiting = s.posted.get().saturating_sub(s.handed.get());
        u32::try_from(waiting + u64::from(s.buffered.get())).unwrap_or(u32::MAX)
    }

    /// A buffer given to the worker is transferred: `frame` must own all of its buffer, as
    /// [`super::frames::build`]'s do.
    fn send(&self, frame: Outgoing, len: u64, echo: Option<&[u8]>) -> Result<(), AppError> {
        let msg = js_sys::Object::new();
        if let Some(echo) = echo {
            set(&msg, "echo", &js_sys::Uint8Array::from(echo))?;
        }
        self.post(&msg, Some(frame), len)
    }

    /// The worker seals the frame right before its socket takes it: the envelope is `len`
    /// and 46 bytes long.
    fn send_to_seal(
        &self,
        frame: Outgoing,
        len: u64,
        at: SealAt,
    ) -> Result<Option<Outgoing>, AppError> {
        if !self.seals {
            return Ok(Some(frame));
        }
        let msg = sealed_at(at)?;
        self.post(
            &msg,
            Some(frame),
            len + framechat_wire::ENVELOPE_OVERHEAD as u64,
        )?;
        Ok(None)
    }

    /// Every frame goes to the worker now, its buffers transferred.
    fn keep(&self, [frames, seals, buffers]: [&js_sys::Array; 3]) -> Result<bool, AppError> {
        if !self.seals {
            return Ok(false);
        }
        let msg = js_sys::Object::new();
        set(&msg, "op", &"keep".into())?;
        set(&msg, "frames", frames)?;
        set(&msg, "seals", seals)?;
        self.worker.post_message_with_transfer(&msg, buffers)?;
        Ok(true)
    }

    fn send_kept(&self, at: SealAt, len: u64) -> Result<(), AppError> {
        let msg = sealed_at(at)?;
        self.post(&msg, None, len + framechat_wire::ENVELOPE_OVERHEAD as u64)
    }

    fn read_whole(&self, file: &web_sys::Blob) -> Option<oneshot::Receiver<ReadResult>> {
        let id = self.state.next_read.get();
        self.state.next_read.set(id.wrapping_add(1));
        let msg = js_sys::Object::new();
        set(&msg, "op", &"read".into()).ok()?;
        set(&msg, "id", &JsValue::from(id)).ok()?;
        set(&msg, "file", file).ok()?;
        self.worker.post_message(&msg).ok()?;
        let (tx, rx) = oneshot::channel();
        self.state.reads.borrow_mut().insert(id, tx);
        Some(rx)
    }

    fn in_worker(&self) -> bool {
        true
    }
}

impl WorkerSocket {
    /// Posts `msg` (its other fields set) as a "send" of `frame`, `n` bytes on the wire.
    /// Without `frame`: a frame the worker holds ([`Link::keep`]).
    fn post(&self, msg: &js_sys::Object, frame: Option<Outgoing>, n: u64) -> Result<(), AppError> {
        if !self.state.open.get() {
            return Err(AppError::NotOpen);
        }
        set(msg, "op", &"send".into())?;
        // Frames are at most MAX_FRAME_BUDGET: exact as f64.
        set(msg, "n", &JsValue::from_f64(n as f64))?;
        match frame {
            Some(Outgoing::Bytes(bytes)) => {
                let buffer = bytes.buffer();
                if bytes.byte_offset() != 0 || bytes.byte_length() != buffer.byte_length() {
                    return Err(AppError::SharedBuffer);
                }
                set(msg, "data", &buffer)?;
                self.worker
                    .post_message_with_transfer(msg, &js_sys::Array::of1(&buffer))?;
            }
            Some(Outgoing::Blob(blob)) => {
                set(msg, "data", &blob)?;
                self.worker.post_message(msg)?;
            }
            None => self.worker.post_message(msg)?,
        }
        self.state.posted.set(self.state.posted.get() + n);
        Ok(())
    }
}

impl Drop for WorkerSocket {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.state.open.set(false);
        // The worker closes its socket, then ends itself; a worker already gone takes
        // nothing more.
        let msg = js_sys::Object::new();
        if set(&msg, "op", &"close".into()).is_ok() {
            let _ = self.worker.post_message(&msg);
        }
    }
}

/// A "send" message's `seal`: where the frame goes in its message.
fn sealed_at(at: SealAt) -> Result<js_sys::Object, AppError> {
    let msg = js_sys::Object::new();
    set(
        &msg,
        "seal",
        &js_sys::Uint8Array::from(at.bytes().as_slice()),
    )?;
    Ok(msg)
}

/// The `tag` of a worker's message.
fn tag_of(msg: &JsValue) -> Option<[u8; framechat_wire::TAG_LEN]> {
    js_sys::Uint8Array::new(&get(msg, "tag"))
        .to_vec()
        .try_into()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::{WORKER_JS, WORKER_SOURCE, strip};

    fn stripped(js: &str) -> String {
        let mut out = vec![0; strip(js.as_bytes(), &mut [])];
        strip(js.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn comment_lines_blank_lines_and_indentation_go_and_nothing_else() {
        let js = "// head\n\"use strict\";\n\nfunction f(a) {\n  // why\n  return a + \"//x\"; // trailing\n}\n    \nconst u = 'a // b';";
        assert_eq!(
            stripped(js),
            "\"use strict\";\nfunction f(a) {\nreturn a + \"//x\"; // trailing\n}\nconst u = 'a // b';"
        );
        assert_eq!(stripped(""), "");
    }

    #[test]
    fn the_shipped_worker_is_its_source_less_comments() {
        assert_eq!(WORKER_JS, stripped(WORKER_SOURCE));
        assert!(WORKER_JS.len() < WORKER_SOURCE.len() * 2 / 3);
        // Every line of code is still there, in order.
        let code: Vec<&str> = WORKER_SOURCE
            .lines()
            .map(str::trim_start)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .collect();
        assert_eq!(WORKER_JS.lines().collect::<Vec<_>>(), code);
    }
}
