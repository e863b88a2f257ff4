//! WebSocket glue: bytes <-> frames, reconnect with backoff, the two-level outbox, backpressure.
//!
//! Sending: a message becomes planned frames (`framechat_wire::plan`). A frame whose payload is
//! all in memory (scrubbed images, [`Body::Memory`]) is copied once, in JS, from the header
//! bytes and views of the file into one `Uint8Array` that the socket takes at once; a frame
//! with bytes of a plain file goes out as a Blob of the header and slices of the File, which
//! the browser reads as it sends. Text-only messages and cancels sit in the `urgent` queue and
//! always go first; chunked messages sit in `bulk`, and their frames are handed over only while
//! `bufferedAmount` is under an allowance: what the link drains in [`BUFFER_MS`] at its
//! measured pace, at least [`WATERMARK`]. A message is confirmed once the socket buffer drained after its last frame
//! (or its echo came back); unconfirmed and half-sent messages are re-sent from the start after
//! a reconnect, with the same id (receivers dedupe and restart).
//!
//! Receiving: only the frame header is copied into WASM; payloads stay in JS as Uint8Array
//! views until `media::received_media` turns them into Blobs. A message this browser sent
//! before a reload (its id is remembered in localStorage) that the relay replays from its
//! history is shown as the user's own, sent message, once it is complete.

use std::cell::{Cell, RefCell};
use std::collections::{HashSet, VecDeque};
use std::rc::{Rc, Weak};

use framechat_wire::{
    Attachment, CancelHeader, Event, Header, Limits, MIN_FRAME_BUDGET, MessageHeader, PlannedFrame,
    Reassembler, Uuid, decode_header, header_end, plan, write_frame,
};
use futures_channel::oneshot;
use gloo::events::EventListener;
use gloo::timers::callback::{Interval, Timeout};
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, MessageEvent, WebSocket};
use yew::Callback;

use crate::error::AppError;
use crate::media::{Body, JsPart, Prepared, count_in, count_out, received_media};
use crate::state::{Action, Conn};

/// Chunk frames are handed to the socket only while less than this is buffered, at first;
/// then while less than [`BUFFER_MS`] of sending is.
pub const WATERMARK: u32 = 1024 * 1024;
/// The most the buffer may hold for chunk frames however fast it drains.
pub const WATERMARK_MAX: u32 = 16 * 1024 * 1024;
/// Chunk frames may fill the socket buffer with what it drains in this long at the measured
/// rate (within [`WATERMARK`] and [`WATERMARK_MAX`]): a text sent meanwhile waits about this
/// long behind them, or for [`WATERMARK`] on a slow link. Holding a fast link to 1 MiB kept
/// the sending page feeding it in small steps: a 12 MP photo took 250 ms to hand over on
/// localhost, against 15 ms for the whole of it at once.
const BUFFER_MS: f64 = 200.0;
/// While the socket buffer is too full, the pump looks again when the buffer should have
/// drained enough at the measured rate ([`Drain`]), within these bounds, or after
/// [`PUMP_RETRY_UNKNOWN_MS`] before any rate is known. (A fixed 8 ms left the socket idle for
/// much of each wait: 13-27 ms per 12 MP photo in the latency bench.)
const PUMP_RETRY_MIN_MS: f64 = 1.0;
const PUMP_RETRY_MAX_MS: f64 = 32.0;
const PUMP_RETRY_UNKNOWN_MS: u32 = 4;
/// Progress, incoming or outgoing, is rendered at most this often: a render per frame
/// kept the page busy while the next frames waited (latency bench: rendering each
/// incoming frame held the last frame of a 12 MP photo 341 ms on page B; rendering each
/// outgoing one cost the sending page about 50 ms).
const PROGRESS_RENDER_MS: u32 = 100;
const BACKOFF_BASE_MS: f64 = 500.0;
const BACKOFF_CAP_MS: f64 = 15_000.0;
/// After this many failed attempts in a row the badge says offline (retries continue).
const OFFLINE_AFTER: u32 = 4;
const EXPIRE_EVERY_MS: u32 = 5_000;
const KNOWN_IDS: usize = 10_000;
/// Pause before the outbox resumes after a reconnect.
const RESUME_GRACE_MS: u64 = 1_500;

#[derive(Clone, Debug, PartialEq)]
pub struct NetConfig {
    pub url: String,
    pub frame_budget: usize,
    pub max_message_bytes: u64,
    /// Own the socket in a dedicated worker (see [`Link`]); without one, or when this page
    /// cannot start workers, the socket lives on this thread.
    pub worker: bool,
}

/// Current time, unix milliseconds.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// A UUID v7 from the clock and `crypto.getRandomValues`.
pub fn new_id() -> Result<Uuid, AppError> {
    let mut random = [0u8; 10];
    let window = web_sys::window().ok_or_else(|| AppError::Js("no window".into()))?;
    window
        .crypto()?
        .get_random_values_with_u8_array(&mut random)?;
    Ok(uuid::Builder::from_unix_timestamp_millis(now_ms(), &random).into_uuid())
}

/// Capped exponential backoff with jitter (half fixed, half random).
pub fn backoff_ms(attempt: u32, random01: f64) -> u32 {
    let exp = BACKOFF_BASE_MS * 2f64.powi(attempt.min(16) as i32);
    let capped = exp.min(BACKOFF_CAP_MS);
    (capped / 2.0 + capped / 2.0 * random01.clamp(0.0, 1.0)) as u32
}

/// A message in the outbox.
struct OutMsg {
    id: Uuid,
    frames: Vec<PlannedFrame>,
    files: Vec<Body>,
    sizes: Vec<u64>,
    total: u64,
    /// Index of the next frame to hand to the socket.
    next: usize,
    /// Some frame of it went out at some point (a cancel must then be announced).
    started: bool,
    from: String,
}

enum Urgent {
    Text(OutMsg),
    Cancel(CancelHeader),
}

/// Ids never processed twice: own messages and completed incoming ones. Bounded.
#[derive(Default)]
struct KnownIds {
    set: HashSet<Uuid>,
    order: VecDeque<Uuid>,
}

impl KnownIds {
    fn insert(&mut self, id: Uuid) {
        if self.set.insert(id) {
            self.order.push_back(id);
            if self.order.len() > KNOWN_IDS {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
    fn contains(&self, id: &Uuid) -> bool {
        self.set.contains(id)
    }
}

/// The room's WebSocket, owned by a dedicated worker or by this thread.
///
/// Chromium moves a WebSocket's data in and out of the renderer in tasks of the thread that
/// owns the socket. Owned by the page's main thread, a transfer paused for every render and
/// every event handler: in the latency bench, the sender's render of its own new message held
/// the first frames for its whole length. A worker ([`WORKER_JS`]) owns it instead: frames go to
/// it as transferred buffers (no copy), received ones come back the same way, and it reports
/// how much its socket buffers, which is what pacing and confirmation read. Where workers
/// cannot start (a host page's Content Security Policy without `worker-src blob:`), or when the
/// host asks, the socket lives on this thread as before.
#[derive(Clone)]
enum Link {
    Worker(Rc<WorkerLink>),
    Direct(WebSocket),
}

struct WorkerLink {
    worker: web_sys::Worker,
    state: Rc<WorkerState>,
}

/// What the page knows of the worker's socket, and the file reads it was given.
#[derive(Default)]
struct WorkerState {
    reads: RefCell<std::collections::HashMap<u32, oneshot::Sender<crate::media::ReadResult>>>,
    next_read: Cell<u32>,
    open: Cell<bool>,
    /// Bytes posted to the worker to send.
    posted: Cell<u64>,
    /// From the worker's last report: bytes handed to its socket, and its `bufferedAmount`.
    handed: Cell<u64>,
    buffered: Cell<u32>,
}

impl Link {
    fn is_open(&self) -> bool {
        match self {
            Link::Worker(w) => w.state.open.get(),
            Link::Direct(ws) => ws.ready_state() == WebSocket::OPEN,
        }
    }

    /// Bytes not yet sent: still on their way to the worker, or in the socket's buffer.
    fn buffered_amount(&self) -> u32 {
        match self {
            Link::Worker(w) => {
                let s = &w.state;
                let waiting = s.posted.get().saturating_sub(s.handed.get());
                u32::try_from(waiting + u64::from(s.buffered.get())).unwrap_or(u32::MAX)
            }
            Link::Direct(ws) => ws.buffered_amount(),
        }
    }

    /// Hands `out` (`len` bytes, a frame of message `id`) to the socket. A buffer given to a
    /// worker is transferred: `out` must own all of its buffer, as [`build_frame`]'s do.
    fn send(&self, out: Outgoing, len: u64, id: Uuid) -> Result<(), AppError> {
        match self {
            Link::Direct(ws) => match out {
                Outgoing::Bytes(bytes) => ws.send_with_array_buffer_view(&bytes)?,
                Outgoing::Blob(blob) => ws.send_with_blob(&blob)?,
            },
            Link::Worker(w) => {
                if !w.state.open.get() {
                    return Err(AppError::Js("the socket is not open".into()));
                }
                let msg = js_sys::Object::new();
                set(&msg, "op", &"send".into())?;
                // Frames are at most MAX_FRAME_BUDGET: exact as f64.
                set(&msg, "n", &JsValue::from_f64(len as f64))?;
                // As in headers: the worker keeps the relay's echo of own chunks to itself.
                set(&msg, "id", &id.simple().to_string().into())?;
                match out {
                    Outgoing::Bytes(bytes) => {
                        let buffer = bytes.buffer();
                        if bytes.byte_offset() != 0 || bytes.byte_length() != buffer.byte_length() {
                            return Err(AppError::Encode("a frame shares its buffer".into()));
                        }
                        set(&msg, "data", &buffer)?;
                        w.worker
                            .post_message_with_transfer(&msg, &js_sys::Array::of1(&buffer))?;
                    }
                    Outgoing::Blob(blob) => {
                        set(&msg, "data", &blob)?;
                        w.worker.post_message(&msg)?;
                    }
                }
                w.state.posted.set(w.state.posted.get() + len);
            }
        }
        Ok(())
    }
}

fn set(target: &js_sys::Object, key: &str, value: &JsValue) -> Result<(), AppError> {
    js_sys::Reflect::set(target, &JsValue::from_str(key), value)?;
    Ok(())
}

fn get(source: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(source, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// The socket worker's source; the protocol is described there.
const WORKER_JS: &str = include_str!("socket_worker.js");

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
        .ok_or_else(|| AppError::Js("no worker script".into()))?;
    let url = web_sys::Url::create_object_url_with_blob(&script)?;
    let worker = web_sys::Worker::new(&url);
    web_sys::Url::revoke_object_url(&url)?;
    Ok(worker?)
}

struct Socket {
    link: Link,
    /// The link's event handlers, alive as long as it is.
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        match &self.link {
            Link::Direct(ws) => {
                ws.set_onopen(None);
                ws.set_onmessage(None);
                ws.set_onclose(None);
                // Closing an already closed socket is harmless; nothing to report on teardown.
                let _ = ws.close();
            }
            Link::Worker(w) => {
                w.worker.set_onmessage(None);
                w.worker.set_onerror(None);
                w.state.open.set(false);
                // The worker closes its socket, then ends itself; a worker already gone
                // takes nothing more.
                let msg = js_sys::Object::new();
                if set(&msg, "op", &"close".into()).is_ok() {
                    let _ = w.worker.post_message(&msg);
                }
            }
        }
    }
}

struct Inner {
    cfg: NetConfig,
    dispatch: Callback<Action>,
    actions: Vec<Action>,
    socket: Option<Socket>,
    open: bool,
    attempt: u32,
    closed: bool,
    reconnect: Option<Timeout>,
    pump_timer: Option<Timeout>,
    /// How fast the socket buffer drains.
    drain: Drain,
    /// Pending render of progress-only updates.
    flush_timer: Option<Timeout>,
    _expiry: Option<Interval>,
    _online: Option<EventListener>,
    urgent: VecDeque<Urgent>,
    bulk: VecDeque<OutMsg>,
    unconfirmed: Vec<OutMsg>,
    reasm: Reassembler<JsPart>,
    own: KnownIds,
    /// Own messages sent before this page (re)loaded, from localStorage.
    earlier_own: HashSet<Uuid>,
    done: KnownIds,
    /// Incoming transfers we have announced (so a failure marks an existing message).
    active: HashSet<Uuid>,
    /// Ids we already showed a notice for (one per stray transfer).
    noticed: KnownIds,
    /// After a reconnect the outbox resumes only from this time (unix ms): the other clients
    /// of the room lost the same relay and need a moment to come back, or they would miss
    /// the start of a re-sent transfer (a relay's history replay covers only short messages).
    resume_at: u64,
    /// A socket worker failed to run: this client's sockets live on the main thread.
    worker_failed: bool,
}

/// The connection to one room. Cloning shares it; `close` (or unmount) ends it.
#[derive(Clone)]
pub struct Client {
    inner: Rc<RefCell<Inner>>,
}

impl PartialEq for Client {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Client {
    /// Start connecting; every change is reported through `dispatch`.
    pub fn connect(cfg: NetConfig, dispatch: Callback<Action>) -> Client {
        let limits = Limits {
            max_message_bytes: cfg.max_message_bytes,
            ..Limits::default()
        };
        let inner = Rc::new(RefCell::new(Inner {
            cfg,
            dispatch,
            actions: Vec::new(),
            socket: None,
            open: false,
            attempt: 0,
            closed: false,
            reconnect: None,
            pump_timer: None,
            drain: Drain::default(),
            flush_timer: None,
            _expiry: None,
            _online: None,
            urgent: VecDeque::new(),
            bulk: VecDeque::new(),
            unconfirmed: Vec::new(),
            reasm: Reassembler::new(limits),
            own: KnownIds::default(),
            earlier_own: crate::embed::stored_own_ids()
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect(),
            done: KnownIds::default(),
            active: HashSet::new(),
            noticed: KnownIds::default(),
            resume_at: 0,
            worker_failed: false,
        }));
        let weak = Rc::downgrade(&inner);
        let expiry = Interval::new(EXPIRE_EVERY_MS, move || with(&weak, Inner::expire));
        let weak = Rc::downgrade(&inner);
        let online = web_sys::window().map(|w| {
            EventListener::new(&w, "online", move |_| {
                if let Some(rc) = weak.upgrade() {
                    let idle = rc.borrow().socket.is_none();
                    if idle {
                        open_socket(&rc);
                    }
                }
            })
        });
        {
            let mut i = inner.borrow_mut();
            i._expiry = Some(expiry);
            i._online = online;
        }
        open_socket(&inner);
        // While the handshake runs: see `warm_up`.
        if let Err(e) = warm_up(limits) {
            gloo::console::warn!(format!("framechat: the warm-up failed: {e}"));
        }
        Client { inner }
    }

    /// Queue a message; returns its id. Attachments must be `sendable`.
    pub fn send(&self, from: &str, text: String, files: &[Rc<Prepared>]) -> Result<Uuid, AppError> {
        let id = new_id()?;
        let header = MessageHeader {
            id,
            from: from.to_string(),
            ts: now_ms(),
            text,
            files: files.iter().map(|f| f.attachment()).collect(),
        };
        let budget = self.inner.borrow().cfg.frame_budget;
        let frames = plan(&header, budget)?;
        let mut bodies = Vec::with_capacity(files.len());
        for f in files {
            bodies.push(
                f.body()
                    .ok_or_else(|| AppError::Encode(format!("{} is not ready", f.name)))?,
            );
        }
        let sizes: Vec<u64> = header.files.iter().map(|a| a.size).collect();
        let total = sizes.iter().sum();
        let media = files.iter().map(|f| f.media.clone()).collect();
        let msg = OutMsg {
            id,
            frames,
            files: bodies,
            sizes,
            total,
            next: 0,
            started: false,
            from: from.to_string(),
        };
        {
            let mut i = self.inner.borrow_mut();
            i.own.insert(id);
            let queued = !i.open;
            i.actions.push(Action::Local {
                header,
                media,
                queued,
            });
            if files.is_empty() {
                i.urgent.push_back(Urgent::Text(msg));
            } else {
                i.bulk.push_back(msg);
            }
        }
        pump(&self.inner);
        Ok(id)
    }

    /// Stop sending an own message; receivers that saw part of it get a `cancel` frame.
    pub fn cancel(&self, id: Uuid) {
        {
            let mut i = self.inner.borrow_mut();
            let mut found = None;
            if let Some(pos) = i.bulk.iter().position(|m| m.id == id) {
                found = i.bulk.remove(pos);
            } else if let Some(pos) = i
                .urgent
                .iter()
                .position(|u| matches!(u, Urgent::Text(m) if m.id == id))
            {
                if let Some(Urgent::Text(m)) = i.urgent.remove(pos) {
                    found = Some(m);
                }
            }
            match found {
                Some(m) => {
                    if m.started {
                        i.urgent.push_back(Urgent::Cancel(CancelHeader {
                            id,
                            from: m.from.clone(),
                        }));
                    }
                    i.actions.push(Action::Cancelled { id });
                }
                // Every frame is with the socket already, which cannot call them back (the
                // message's Cancel button is gone by the next render).
                None if i.unconfirmed.iter().any(|m| m.id == id) => {
                    i.actions.push(Action::Notice(
                        "too late to cancel: the message is already on its way".into(),
                    ));
                }
                None => return,
            }
        }
        pump(&self.inner);
    }

    /// Close the socket and stop reconnecting (unmount).
    pub fn close(&self) {
        let mut i = self.inner.borrow_mut();
        i.closed = true;
        i.socket = None;
        i.open = false;
        i.reconnect = None;
        i.pump_timer = None;
        i._expiry = None;
        i._online = None;
        i.actions.clear();
    }

    /// Reads `file` whole in the socket worker, if there is one; the bytes come back
    /// transferred. The receiver is cancelled if the worker goes (its connection closed).
    pub fn read_file(
        &self,
        file: &web_sys::Blob,
    ) -> Option<oneshot::Receiver<crate::media::ReadResult>> {
        let i = self.inner.borrow();
        let Some(Link::Worker(w)) = i.socket.as_ref().map(|s| &s.link) else {
            return None;
        };
        let id = w.state.next_read.get();
        w.state.next_read.set(id.wrapping_add(1));
        let msg = js_sys::Object::new();
        set(&msg, "op", &"read".into()).ok()?;
        set(&msg, "id", &JsValue::from(id)).ok()?;
        set(&msg, "file", file).ok()?;
        w.worker.post_message(&msg).ok()?;
        let (tx, rx) = oneshot::channel();
        w.state.reads.borrow_mut().insert(id, tx);
        Some(rx)
    }

    /// Whether the socket is owned by a worker (tests and diagnostics).
    pub fn in_worker(&self) -> bool {
        matches!(
            self.inner.borrow().socket.as_ref().map(|s| &s.link),
            Some(Link::Worker(_))
        )
    }

    /// Bytes waiting in the socket's send buffer (tests and diagnostics).
    pub fn buffered_amount(&self) -> u32 {
        self.inner
            .borrow()
            .socket
            .as_ref()
            .map_or(0, |s| s.link.buffered_amount())
    }
}

/// Run `f` on the live client, then report the actions it produced (outside the borrow, so a
/// synchronous re-render can call back into the client).
fn with(weak: &Weak<RefCell<Inner>>, f: impl FnOnce(&mut Inner)) {
    if let Some(rc) = weak.upgrade() {
        f(&mut rc.borrow_mut());
        flush(&rc);
    }
}

/// Flush now, or within [`PROGRESS_RENDER_MS`] when all there is to show is progress or the
/// start of an incoming message: a picture that arrives within that time is rendered once,
/// complete, instead of as a placeholder first while its frames are still being read on this
/// same thread (latency bench: ~8 ms of a 12 MP photo's ~150 ms).
fn flush_soon(rc: &Rc<RefCell<Inner>>) {
    let mut i = rc.borrow_mut();
    let only_progress = i.actions.iter().all(|a| {
        matches!(
            a,
            Action::Progress { .. } | Action::SendProgress { .. } | Action::Started { .. }
        )
    });
    if !only_progress {
        drop(i);
        flush(rc);
        return;
    }
    if i.flush_timer.is_some() || i.actions.is_empty() {
        return;
    }
    let weak = Rc::downgrade(rc);
    i.flush_timer = Some(Timeout::new(PROGRESS_RENDER_MS, move || {
        if let Some(rc) = weak.upgrade() {
            flush(&rc);
        }
    }));
}

fn flush(rc: &Rc<RefCell<Inner>>) {
    let (actions, dispatch) = {
        let mut i = rc.borrow_mut();
        i.flush_timer = None;
        (std::mem::take(&mut i.actions), i.dispatch.clone())
    };
    // One render per burst of socket events, not one per event.
    if let Some(action) = crate::state::coalesce(actions) {
        dispatch.emit(action);
    }
}

fn open_socket(rc: &Rc<RefCell<Inner>>) {
    {
        let mut i = rc.borrow_mut();
        if i.closed {
            return;
        }
        i.reconnect = None;
        i.socket = None;
        let conn = if i.attempt == 0 {
            Conn::Connecting
        } else {
            i.lost_conn()
        };
        i.actions.push(Action::Conn(conn));
        let url = i.cfg.url.clone();
        let worker = i.cfg.worker && !i.worker_failed;
        match make_socket(rc, &url, worker) {
            Ok(s) => i.socket = Some(s),
            Err(e) => {
                // `new WebSocket` throws only for a URL it will never accept: no retrying.
                drop(i);
                cannot_connect(rc, &e.to_string());
                return;
            }
        }
    }
    flush(rc);
}

/// A socket to `url`, in a worker when the configuration and the page allow (see [`Link`]).
fn make_socket(rc: &Rc<RefCell<Inner>>, url: &str, worker: bool) -> Result<Socket, AppError> {
    if worker {
        // A Content Security Policy that forbids Blob workers throws here: then this socket
        // lives on this thread.
        if let Ok(socket) = make_worker_socket(rc, url) {
            return Ok(socket);
        }
    }
    make_direct_socket(rc, url)
}

fn make_direct_socket(rc: &Rc<RefCell<Inner>>, url: &str) -> Result<Socket, AppError> {
    let ws = WebSocket::new(url)?;
    ws.set_binary_type(BinaryType::Arraybuffer);
    let weak = Rc::downgrade(rc);
    let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        if let Some(rc) = weak.upgrade() {
            socket_opened(&rc);
        }
    });
    let weak = Rc::downgrade(rc);
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let data = ev.unchecked_into::<MessageEvent>().data();
        if let Some(rc) = weak.upgrade() {
            socket_message(&rc, data);
        }
    });
    let weak = Rc::downgrade(rc);
    let on_close = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        if let Some(rc) = weak.upgrade() {
            on_closed(&rc);
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Ok(Socket {
        link: Link::Direct(ws),
        _handlers: vec![on_open, on_message, on_close],
    })
}

fn make_worker_socket(rc: &Rc<RefCell<Inner>>, url: &str) -> Result<Socket, AppError> {
    let worker = start_worker()?;
    let state = Rc::new(WorkerState::default());
    let weak = Rc::downgrade(rc);
    let link_state = Rc::clone(&state);
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let msg = ev.unchecked_into::<MessageEvent>().data();
        let Some(rc) = weak.upgrade() else {
            return;
        };
        match get(&msg, "ev").as_string().as_deref() {
            Some("open") => {
                link_state.open.set(true);
                socket_opened(&rc);
            }
            Some("message") => socket_message(&rc, get(&msg, "data")),
            Some("buffered") => {
                // Byte counts, exact as f64 below 2^53; bufferedAmount fits u32 as in a WebSocket.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                {
                    link_state
                        .handed
                        .set(get(&msg, "handed").as_f64().unwrap_or(0.0) as u64);
                    link_state
                        .buffered
                        .set(get(&msg, "buffered").as_f64().unwrap_or(0.0) as u32);
                }
            }
            Some("read") => {
                // Ids are below 2^32: the page numbers them.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let id = get(&msg, "id").as_f64().unwrap_or(-1.0) as u32;
                if let Some(tx) = link_state.reads.borrow_mut().remove(&id) {
                    let result = get(&msg, "data").dyn_into::<ArrayBuffer>().map_err(|_| {
                        get(&msg, "error")
                            .as_string()
                            .unwrap_or_else(|| "the file could not be read".into())
                    });
                    // The receiver is gone only if the attachment was dropped meanwhile.
                    let _ = tx.send(result);
                }
            }
            Some("close") => {
                link_state.open.set(false);
                on_closed(&rc);
            }
            Some("fail") => {
                // `new WebSocket` threw in the worker: a URL it will never accept.
                let reason = get(&msg, "message").as_string().unwrap_or_default();
                cannot_connect(&rc, &reason);
            }
            _ => {}
        }
    });
    let weak = Rc::downgrade(rc);
    let error_state = Rc::clone(&state);
    // The worker itself failed (its script did not load or run): no worker for this client
    // from now on, and a socket on this thread in its place, at once if this one never opened.
    let on_error = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        let Some(rc) = weak.upgrade() else {
            return;
        };
        rc.borrow_mut().worker_failed = true;
        if error_state.open.replace(false) {
            on_closed(&rc);
        } else {
            open_socket(&rc);
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let msg = js_sys::Object::new();
    set(&msg, "op", &"open".into())?;
    set(&msg, "url", &url.into())?;
    let socket = Socket {
        link: Link::Worker(Rc::new(WorkerLink { worker, state })),
        _handlers: vec![on_message, on_error],
    };
    if let Link::Worker(w) = &socket.link {
        w.worker.post_message(&msg)?;
    }
    Ok(socket)
}

fn socket_opened(rc: &Rc<RefCell<Inner>>) {
    {
        let mut i = rc.borrow_mut();
        i.open = true;
        if i.attempt > 0 {
            i.resume_at = now_ms() + RESUME_GRACE_MS;
        }
        i.attempt = 0;
        i.actions.push(Action::Conn(Conn::Online));
    }
    pump(rc);
}

fn socket_message(rc: &Rc<RefCell<Inner>>, data: JsValue) {
    // Text messages are not part of the protocol (PROTOCOL.md: clients ignore them): a
    // site's server may send its own (presence, pings) on the same socket; no notice each.
    let Ok(buf) = data.dyn_into::<ArrayBuffer>() else {
        return;
    };
    rc.borrow_mut().on_frame(&Uint8Array::new(&buf));
    flush_soon(rc);
}

/// The socket can never connect to the configured URL: say so, and stop trying.
fn cannot_connect(rc: &Rc<RefCell<Inner>>, reason: &str) {
    {
        let mut i = rc.borrow_mut();
        i.socket = None;
        let notice = format!("cannot connect to {}: {reason}", i.cfg.url);
        i.actions.push(Action::Notice(notice));
        i.actions.push(Action::Conn(Conn::Offline));
    }
    flush(rc);
}

fn on_closed(rc: &Rc<RefCell<Inner>>) {
    {
        let mut i = rc.borrow_mut();
        if i.closed {
            return;
        }
        i.socket = None;
        i.open = false;
        i.pump_timer = None;
        i.requeue();
        i.attempt = i.attempt.saturating_add(1);
        let delay = backoff_ms(i.attempt - 1, js_sys::Math::random());
        let conn = i.lost_conn();
        i.actions.push(Action::Conn(conn));
        let weak = Rc::downgrade(rc);
        i.reconnect = Some(Timeout::new(delay, move || {
            if let Some(rc) = weak.upgrade() {
                open_socket(&rc);
            }
        }));
    }
    flush(rc);
}

/// Send what the queues and the socket buffer allow; re-arm a timer when waiting on the buffer.
fn pump(rc: &Rc<RefCell<Inner>>) {
    let retry = {
        let mut i = rc.borrow_mut();
        i.pump_timer = None;
        i.pump_once()
    };
    if retry {
        let delay = rc.borrow_mut().pump_delay();
        let weak = Rc::downgrade(rc);
        let timer = Timeout::new(delay, move || {
            if let Some(rc) = weak.upgrade() {
                pump(&rc);
            }
        });
        rc.borrow_mut().pump_timer = Some(timer);
    }
    flush_soon(rc);
}

impl Inner {
    /// How long the pump waits for the socket buffer: see [`Drain::wait_ms`].
    fn pump_delay(&mut self) -> u32 {
        let buffered = self.socket.as_ref().map_or(0, |s| s.link.buffered_amount());
        self.drain.wait_ms(buffered)
    }

    fn lost_conn(&self) -> Conn {
        let online = web_sys::window()
            .map(|w| w.navigator().on_line())
            .unwrap_or(true);
        if !online || self.attempt >= OFFLINE_AFTER {
            Conn::Offline
        } else {
            Conn::Reconnecting {
                attempt: self.attempt,
            }
        }
    }

    /// After a lost connection: everything not confirmed goes back, in order, to be re-sent whole.
    fn requeue(&mut self) {
        let mut texts = Vec::new();
        let mut files = Vec::new();
        for mut m in self.unconfirmed.drain(..) {
            m.next = 0;
            if m.total == 0 {
                texts.push(m)
            } else {
                files.push(m)
            }
        }
        if let Some(front) = self.bulk.front_mut() {
            front.next = 0;
        }
        for m in files.into_iter().rev() {
            self.bulk.push_front(m);
        }
        for m in texts.into_iter().rev() {
            self.urgent.push_front(Urgent::Text(m));
        }
        let ids: Vec<Uuid> = self
            .urgent
            .iter()
            .filter_map(|u| {
                if let Urgent::Text(m) = u {
                    Some(m.id)
                } else {
                    None
                }
            })
            .chain(self.bulk.iter().map(|m| m.id))
            .collect();
        for id in ids {
            self.actions.push(Action::Requeued { id });
        }
    }

    /// One pass; returns whether to try again shortly.
    /// A message that cannot be framed fails on its own; the queue goes on.
    fn pump_once(&mut self) -> bool {
        let Some(ws) = self.socket.as_ref().map(|s| s.link.clone()) else {
            return false;
        };
        if !self.open || !ws.is_open() {
            return false;
        }
        if now_ms() < self.resume_at && !(self.urgent.is_empty() && self.bulk.is_empty()) {
            return true;
        }
        loop {
            if let Some(u) = self.urgent.pop_front() {
                match u {
                    Urgent::Text(mut m) => {
                        let sent: Result<(), AppError> = m.frames.iter().try_for_each(|f| {
                            let n = send_frame(&ws, f, &m.files, &m.sizes)?;
                            self.drain.handed(n);
                            Ok(())
                        });
                        match sent {
                            Ok(()) => {
                                m.next = m.frames.len();
                                m.started = true;
                                self.unconfirmed.push(m);
                            }
                            Err(e) => self.actions.push(Action::Failed {
                                id: m.id,
                                reason: e.to_string(),
                            }),
                        }
                    }
                    Urgent::Cancel(c) => {
                        let id = c.id;
                        let mut bytes = Vec::new();
                        let sent = write_frame(&Header::Cancel(c), &[], &mut bytes)
                            .map_err(AppError::from)
                            .and_then(|()| {
                                let out = Outgoing::Bytes(Uint8Array::from(bytes.as_slice()));
                                ws.send(out, bytes.len() as u64, id)
                            });
                        count_out(bytes.len() as u64);
                        self.drain.handed(bytes.len() as u64);
                        if let Err(e) = sent {
                            self.actions
                                .push(Action::Notice(format!("could not announce a cancel: {e}")));
                        }
                    }
                }
                continue;
            }
            let buffered = ws.buffered_amount();
            self.drain.observe(mono_ms(), buffered);
            let Some(m) = self.bulk.front_mut() else {
                break;
            };
            if buffered >= self.drain.allowance() {
                let handed = m
                    .frames
                    .get(m.next.wrapping_sub(1))
                    .map_or(0, |f| f.range.end);
                let sent = handed.saturating_sub(u64::from(buffered));
                self.actions.push(Action::SendProgress {
                    id: m.id,
                    sent,
                    total: m.total,
                    all_handed: false,
                });
                return true;
            }
            let Some(frame) = m.frames.get(m.next) else {
                if let Some(done) = self.bulk.pop_front() {
                    self.unconfirmed.push(done);
                }
                continue;
            };
            let sent = send_frame(&ws, frame, &m.files, &m.sizes);
            if let Ok(n) = sent {
                self.drain.handed(n);
            }
            if let Err(e) = sent {
                let (id, started, from) = (m.id, m.started, m.from.clone());
                self.bulk.pop_front();
                if started {
                    self.urgent
                        .push_back(Urgent::Cancel(CancelHeader { id, from }));
                }
                self.actions.push(Action::Failed {
                    id,
                    reason: e.to_string(),
                });
                continue;
            }
            m.next += 1;
            m.started = true;
            let handed = frame.range.end;
            let sent = handed.saturating_sub(u64::from(ws.buffered_amount()));
            self.actions.push(Action::SendProgress {
                id: m.id,
                sent,
                total: m.total,
                all_handed: m.next == m.frames.len(),
            });
            if m.next == m.frames.len() {
                if let Some(done) = self.bulk.pop_front() {
                    self.unconfirmed.push(done);
                }
            }
        }
        // Everything handed over; confirm once the buffer has drained.
        if self.unconfirmed.is_empty() {
            return false;
        }
        if ws.buffered_amount() == 0 {
            let done: Vec<OutMsg> = self.unconfirmed.drain(..).collect();
            for m in done {
                self.actions.push(Action::SendProgress {
                    id: m.id,
                    sent: m.total,
                    total: m.total,
                    all_handed: true,
                });
                self.confirm(m.id);
            }
            false
        } else {
            if let Some(m) = self.unconfirmed.last() {
                let sent = m.total.saturating_sub(u64::from(ws.buffered_amount()));
                self.actions.push(Action::SendProgress {
                    id: m.id,
                    sent,
                    total: m.total,
                    all_handed: true,
                });
            }
            true
        }
    }

    fn on_frame(&mut self, frame: &Uint8Array) {
        let now = now_ms();
        let (header, payload) = match decode_frame(frame) {
            Ok(decoded) => decoded,
            Err(notice) => {
                self.actions.push(Action::Notice(notice));
                return;
            }
        };
        let (id, from) = match &header {
            Header::Msg(m) => (m.id, m.from.clone()),
            Header::Chunk(c) => (c.id, c.from.clone()),
            Header::Cancel(c) => (c.id, c.from.clone()),
        };
        if self.own.contains(&id) {
            self.on_echo(&header, id);
            return;
        }
        if self.done.contains(&id) {
            return;
        }
        match self.reasm.push(header, payload, now) {
            // An own message from before a reload shows up once complete, as own (below).
            Ok(Event::Started { header, .. }) if self.earlier_own.contains(&header.id) => {}
            Ok(Event::Started {
                header,
                received,
                total,
            }) => {
                self.active.insert(header.id);
                self.actions.push(Action::Started {
                    header,
                    received,
                    total,
                });
            }
            Ok(Event::Progress {
                key,
                received,
                total,
            }) => {
                self.actions.push(Action::Progress {
                    id: key.id,
                    received,
                    total,
                });
            }
            Ok(Event::Complete { header, parts }) => {
                self.active.remove(&header.id);
                self.done.insert(header.id);
                let media = received_media(&header.files, &parts);
                if self.earlier_own.contains(&header.id) {
                    let id = header.id;
                    self.actions.push(Action::Local {
                        header,
                        media,
                        queued: false,
                    });
                    self.actions.push(Action::Sent { id });
                } else {
                    self.actions.push(Action::Complete { header, media });
                }
            }
            Ok(Event::Cancelled { key }) => {
                self.active.remove(&key.id);
                self.actions.push(Action::Cancelled { id: key.id });
            }
            Err(e) => match e.key() {
                Some(key) if self.active.remove(&key.id) => {
                    self.actions.push(Action::Failed {
                        id: key.id,
                        reason: e.to_string(),
                    });
                }
                Some(key) => {
                    if !self.noticed.contains(&key.id) {
                        self.noticed.insert(key.id);
                        self.actions.push(Action::Notice(format!(
                            "ignored part of a message from {from}: {e}"
                        )));
                    }
                }
                None => self
                    .actions
                    .push(Action::Notice(format!("ignored a frame: {e}"))),
            },
        }
    }

    /// Our own frame came back (servers that echo): it proves delivery of a finished message.
    fn on_echo(&mut self, header: &Header, id: Uuid) {
        let last = match header {
            Header::Msg(_) => self
                .unconfirmed
                .iter()
                .any(|m| m.id == id && m.frames.len() == 1),
            Header::Chunk(c) => c.last,
            Header::Cancel(_) => false,
        };
        if !last {
            return;
        }
        if let Some(pos) = self.unconfirmed.iter().position(|m| m.id == id) {
            let m = self.unconfirmed.remove(pos);
            self.actions.push(Action::SendProgress {
                id,
                sent: m.total,
                total: m.total,
                all_handed: true,
            });
            self.confirm(id);
        }
    }

    /// An own message left this page whole. Only now is its id remembered (localStorage) as
    /// this browser's, for a reload to show the relay's replay of it as own: a message cut
    /// off by the reload is not replayed anyway. Not earlier, because a page's first use of
    /// localStorage can wait milliseconds for the browser, and while a picture is being
    /// sent that wait held up its frames.
    fn confirm(&mut self, id: Uuid) {
        self.actions.push(Action::Sent { id });
        crate::embed::store_own_id(&id.simple().to_string());
    }

    fn expire(&mut self) {
        for key in self.reasm.expire(now_ms()) {
            if self.active.remove(&key.id) {
                self.actions.push(Action::Failed {
                    id: key.id,
                    reason: "the transfer stalled".into(),
                });
            }
        }
    }
}

/// The prefix and JSON header of a frame whose payload (`payload_len` bytes) follows as
/// Blob slices, checked against the header by the wire crate.
pub fn encode_header(header: &Header, payload_len: u64) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::new();
    framechat_wire::write_header(header, payload_len, &mut out)
        .map_err(|e| AppError::Encode(e.to_string()))?;
    Ok(out)
}

/// One planned frame as the socket takes it.
enum Outgoing {
    /// All of it, in one buffer.
    Bytes(Uint8Array),
    /// The header and slices of files, which the browser reads as it sends.
    Blob(web_sys::Blob),
}

/// Hand one planned frame to the socket (see [`build_frame`]); returns the frame's length.
fn send_frame(
    link: &Link,
    frame: &PlannedFrame,
    files: &[Body],
    sizes: &[u64],
) -> Result<u64, AppError> {
    let (out, len) = build_frame(frame, files, sizes)?;
    link.send(out, len, frame.header.id())?;
    Ok(len)
}

/// One planned frame: header bytes from WASM, then the payload, copied into one
/// `Uint8Array` when it is all in memory, else a Blob with slices of the files. Also returns
/// the frame's length.
fn build_frame(
    frame: &PlannedFrame,
    files: &[Body],
    sizes: &[u64],
) -> Result<(Outgoing, u64), AppError> {
    let payload_len = frame.range.end - frame.range.start;
    let head = encode_header(&frame.header, payload_len)?;
    count_out(head.len() as u64);
    let frame_len = head.len() as u64 + payload_len;
    if frame.range.is_empty() {
        return Ok((
            Outgoing::Bytes(Uint8Array::from(head.as_slice())),
            frame_len,
        ));
    }
    let seq = js_sys::Array::new();
    let mut in_memory = true;
    let mut base = 0u64;
    for (body, &size) in files.iter().zip(sizes) {
        let (start, end) = (base, base.saturating_add(size));
        base = end;
        let a = frame.range.start.max(start);
        let b = frame.range.end.min(end);
        if a < b {
            in_memory &= body.push_slices(a - start, b - start, &seq)?;
        }
    }
    if !in_memory {
        seq.unshift(&Uint8Array::from(head.as_slice()));
        let blob = web_sys::Blob::new_with_blob_sequence(&seq)?;
        return Ok((Outgoing::Blob(blob), frame_len));
    }
    // A frame is at most the frame budget (a few hundred KiB): its length fits in u32.
    let len =
        u32::try_from(frame_len).map_err(|_| AppError::Encode("frame larger than 4 GiB".into()))?;
    let out = Uint8Array::new_with_length(len);
    out.subarray(0, head.len() as u32).copy_from(&head);
    let mut at = head.len() as u32;
    for part in seq.iter() {
        let part = Uint8Array::from(part);
        out.set(&part, at);
        at += part.length();
    }
    Ok((Outgoing::Bytes(out), frame_len))
}

/// A received frame's header, and its payload as a view of `frame`. Only the header is
/// copied into WASM. The error says why the frame was ignored.
fn decode_frame(frame: &Uint8Array) -> Result<(Header, JsPart), String> {
    let len = frame.length();
    let mut prefix = [0u8; 3];
    if len < 3 {
        return Err(format!(
            "ignored a {len}-byte frame that could not be decoded"
        ));
    }
    frame.subarray(0, 3).copy_to(&mut prefix);
    let end = match header_end(&prefix).map(u32::try_from) {
        Ok(Ok(end)) if end <= len => end,
        Ok(_) => return Err("ignored a truncated frame".into()),
        Err(e) => return Err(format!("ignored a frame that could not be decoded: {e}")),
    };
    let head = frame.subarray(0, end).to_vec();
    count_in(head.len() as u64);
    let (header, at) = decode_header(&head)
        .map_err(|e| format!("ignored a frame that could not be decoded: {e}"))?;
    let at = u32::try_from(at).unwrap_or(end).min(len);
    Ok((header, JsPart(frame.subarray(at, len))))
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
        .map_err(|e| AppError::Encode(format!("warm-up scan: {e}")))?;
    let clean = framechat_scrub::plan(WARM_UP_JPEG)
        .map_err(|e| AppError::Encode(format!("warm-up picture: {e}")))?;
    let parts = crate::media::parts_from_plan(&Uint8Array::from(WARM_UP_JPEG), &clean.plan);
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
            removed: crate::media::removed_codes(&clean.report),
            thumb: None,
        }],
    };
    let frames = plan(&header, MIN_FRAME_BUDGET)?;
    let body = [Body::Memory(parts)];
    let mut reasm = Reassembler::<JsPart>::new(limits);
    for frame in &frames {
        let (Outgoing::Bytes(bytes), _) = build_frame(frame, &body, &[size])? else {
            return Err(AppError::Encode("warm-up frame was not in memory".into()));
        };
        let (header, payload) = decode_frame(&bytes).map_err(AppError::Decode)?;
        match reasm
            .push(header, payload, now_ms())
            .map_err(|e| AppError::Decode(e.to_string()))?
        {
            Event::Complete { parts, .. } => return Ok(parts),
            Event::Started { .. } | Event::Progress { .. } => {}
            Event::Cancelled { .. } => break,
        }
    }
    Err(AppError::Decode(
        "the warm-up message did not complete".into(),
    ))
}

/// A monotonic clock in milliseconds (`performance.now()`), for rates.
fn mono_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// How fast the socket buffer drains, from `bufferedAmount` seen over time and what was
/// handed to the socket; it sets how much chunk data may wait in the buffer.
#[derive(Debug, Default)]
struct Drain {
    /// Bytes handed to the socket so far.
    handed: u64,
    /// The last look: when (ms), and how much had left the buffer by then.
    last: Option<(f64, u64)>,
    /// Bytes per millisecond; 0 until measured.
    per_ms: f64,
}

impl Drain {
    /// Looks closer together than this are merged: timer and clock granularity.
    const MIN_WINDOW_MS: f64 = 2.0;
    /// What is left of the fastest rate seen at each later look.
    const FADE: f64 = 0.9;

    fn handed(&mut self, bytes: u64) {
        self.handed += bytes;
    }

    /// The buffer held `buffered` bytes at `now`.
    fn observe(&mut self, now: f64, buffered: u32) {
        let left = self.handed.saturating_sub(u64::from(buffered));
        let Some((then, left_then)) = self.last else {
            if buffered > 0 {
                self.last = Some((now, left));
            }
            return;
        };
        let elapsed = now - then;
        if elapsed < Self::MIN_WINDOW_MS {
            return;
        }
        // Precision loss is irrelevant for a rate.
        #[allow(clippy::cast_precision_loss)]
        let rate = left.saturating_sub(left_then) as f64 / elapsed;
        // The link's pace is what it reaches: a page too busy to feed the socket for a
        // while lowers one look's rate, not what the link can take. Older peaks fade.
        self.per_ms = (self.per_ms * Self::FADE).max(rate);
        self.last = (buffered > 0).then_some((now, left));
    }

    /// How long to wait, holding `buffered` bytes, until the buffer should be under the
    /// allowance (or empty, when only confirmations wait) at the measured rate.
    fn wait_ms(&self, buffered: u32) -> u32 {
        if self.per_ms <= 0.0 {
            return PUMP_RETRY_UNKNOWN_MS;
        }
        let allowance = self.allowance();
        let over = if buffered >= allowance {
            buffered - allowance + 1
        } else {
            buffered
        };
        // Clamped to 1..=32 ms, so the cast is in range.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ms = (f64::from(over) / self.per_ms).clamp(PUMP_RETRY_MIN_MS, PUMP_RETRY_MAX_MS);
        ms as u32
    }

    /// How much chunk data may wait in the buffer.
    fn allowance(&self) -> u32 {
        // Clamped into u32's range first.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let bytes = (self.per_ms * BUFFER_MS).clamp(f64::from(WATERMARK), f64::from(WATERMARK_MAX));
        bytes as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_allowance_follows_the_drain_rate() {
        let mut d = Drain::default();
        assert_eq!(d.allowance(), WATERMARK, "unmeasured: the least");
        // 1 MiB handed; 10 ms later half of it left: 52 KiB/ms, 200 ms of it is over 10 MiB.
        d.handed(1 << 20);
        d.observe(0.0, 1 << 20);
        d.observe(10.0, 1 << 19);
        assert_eq!(
            d.allowance(),
            (((1 << 19) as f64 / 10.0) * BUFFER_MS) as u32
        );
        // Looks within the clock's granularity change nothing.
        d.observe(11.0, 1 << 18);
        assert_eq!(
            d.allowance(),
            (((1 << 19) as f64 / 10.0) * BUFFER_MS) as u32
        );
        // Faster than the cap allows: capped.
        d.handed(64 << 20);
        d.observe(12.0, 64 << 20);
        d.observe(14.0, 0);
        assert_eq!(d.allowance(), WATERMARK_MAX);

        // Slower looks fade the peak rather than replace it.
        let mut d = Drain::default();
        d.handed(4 << 20);
        d.observe(0.0, 4 << 20);
        d.observe(10.0, (4 << 20) - (1 << 18));
        d.observe(20.0, (4 << 20) - (1 << 18) - 1024);
        let peak = (1 << 18) as f64 / 10.0;
        assert_eq!(d.allowance(), (peak * Drain::FADE * BUFFER_MS) as u32);

        // A slow link: 1 KiB/ms is 200 KiB in 200 ms, so the least applies.
        let mut slow = Drain::default();
        slow.handed(1 << 20);
        slow.observe(0.0, 1 << 20);
        slow.observe(100.0, (1 << 20) - 100 * 1024);
        assert_eq!(slow.allowance(), WATERMARK);
        // An idle buffer is no measurement.
        let mut idle = Drain::default();
        idle.observe(0.0, 0);
        idle.observe(50.0, 0);
        assert_eq!(idle.allowance(), WATERMARK);
    }

    #[test]
    fn the_pump_waits_as_long_as_the_buffer_takes_to_drain() {
        let mut d = Drain::default();
        assert_eq!(d.wait_ms(2 << 20), PUMP_RETRY_UNKNOWN_MS, "no rate yet");
        // 10 KiB/ms: the allowance is 2000 KiB.
        d.handed(4 << 20);
        d.observe(0.0, 4 << 20);
        d.observe(100.0, (4 << 20) - 1_024_000);
        assert_eq!(d.allowance(), 2_048_000);
        // 100 KiB over the allowance: 10 ms; an empty-but-not-quite buffer: 1 ms at least.
        assert_eq!(d.wait_ms(2_048_000 + 102_400 - 1), 10);
        assert_eq!(d.wait_ms(100), 1);
        // Far over: at most 32 ms, so a link that speeds up is noticed.
        assert_eq!(d.wait_ms(u32::MAX), 32);
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        assert_eq!(backoff_ms(0, 0.0), 250);
        assert_eq!(backoff_ms(0, 1.0), 500);
        assert_eq!(backoff_ms(3, 1.0), 4000);
        assert_eq!(backoff_ms(10, 1.0), 15_000);
        assert_eq!(backoff_ms(40, 0.0), 7_500);
        assert!(backoff_ms(5, 0.5) > backoff_ms(4, 0.5));
    }

    #[test]
    fn the_stretched_warm_up_picture_keeps_its_extra_bytes_as_image_data() {
        let plain = framechat_scrub::plan(WARM_UP_JPEG).unwrap();
        let long = framechat_scrub::plan(&stretched(WARM_UP_JPEG, 4096)).unwrap();
        assert_eq!(long.plan.len(), plain.plan.len() + 4096);
        assert_eq!(long.report.removed_bytes, plain.report.removed_bytes);
    }

    #[test]
    fn known_ids_are_bounded() {
        let mut k = KnownIds::default();
        for n in 0..(KNOWN_IDS as u128 + 5) {
            k.insert(Uuid::from_u128(n));
        }
        assert_eq!(k.set.len(), KNOWN_IDS);
        assert!(!k.contains(&Uuid::from_u128(0)));
        assert!(k.contains(&Uuid::from_u128(KNOWN_IDS as u128 + 4)));
    }
}
