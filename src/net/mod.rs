//! The connection to one room: a [`Link`] that carries frames, the outbox and inbox that
//! decide what goes and what is shown ([`Exchange`]), reconnect with backoff, and rendering
//! in bursts.
//!
//! Sending: a message becomes planned frames (`framechat_wire::plan`), queued in the
//! [`outbox`], which hands them to the link through [`frames::LinkSink`] as the socket's
//! buffer allows ([`pacing`]). Receiving: only a frame's header is copied into WASM
//! ([`frames::decode`]); payloads stay in JS as `Uint8Array` views until
//! `media::received_media` turns them into Blobs.
//!
//! Kept in the browser ([`Store`], when the app gives one): every message sent, as pending
//! until the relay has it ([`Outbox::take_delivered`]), and every message shown, up to the
//! room's limits. A new client reads them back before its link opens: the kept history
//! shows at once (a replay of it is then skipped), and pending messages go out again
//! first, in their order, with their ids. Any failure of the store turns it off for this
//! client with a one-line notice; the chat goes on in memory.
//!
//! A message this browser sent before a reload (its id is remembered in localStorage) that
//! the relay replays from its history is shown as the user's own, sent message, once it is
//! complete.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use framechat_wire::{Header, Limits, MessageHeader, Uuid};
use futures_channel::oneshot;
use gloo::events::EventListener;
use gloo::timers::callback::{Interval, Timeout};
use js_sys::Uint8Array;
use yew::Callback;

use crate::error::AppError;
use crate::media::{Body, JsPart, OffThreadReader, ReadResult, Sendable, received_media};
use crate::platform::clock::{mono_ms, new_id, now_ms};
use crate::platform::storage;
use crate::state::{Action, Conn};
use crate::store::{Op, Store, finish};
use kept::{after_outbox, keep_going, restore};
use known::KnownIds;

pub mod control;
mod exchange;
pub mod frames;
pub mod host;
mod inbox;
mod kept;
mod known;
pub mod link;
pub mod outbox;
pub mod pacing;
pub mod private;
mod socket;
pub mod socketio;
#[cfg(test)]
mod tests;
mod worker;

pub use exchange::Exchange;
pub use inbox::Inbox;
pub use link::{Link, LinkEvent};
pub use outbox::{OutMsg, Outbox, Pump, Sink};
pub use pacing::{WATERMARK, WATERMARK_MAX, backoff_ms};

/// Progress, incoming or outgoing, is rendered at most this often: a render per frame
/// kept the page busy while the next frames waited (latency bench: rendering each
/// incoming frame held the last frame of a 12 MP photo 341 ms on page B; rendering each
/// outgoing one cost the sending page about 50 ms).
const PROGRESS_RENDER_MS: u32 = 100;
/// After this many failed attempts in a row the badge says offline (retries continue).
const OFFLINE_AFTER: u32 = 4;
const EXPIRE_EVERY_MS: u32 = 5_000;

#[derive(Clone, Debug, PartialEq)]
pub struct NetConfig {
    /// Where the link connects (unused by a host's own connection).
    pub url: String,
    pub frame_budget: usize,
    pub max_message_bytes: u64,
    pub link: LinkKind,
    /// A private room: every frame sealed and opened with its key.
    pub private: Option<private::PrivateRoom>,
}

impl NetConfig {
    /// The budget messages are planned at: the frame budget, less a private room's envelope.
    pub fn plan_budget(&self) -> Result<usize, AppError> {
        match self.private {
            None => Ok(self.frame_budget),
            Some(_) => framechat_wire::inner_budget(self.frame_budget).ok_or_else(|| {
                AppError::Config(format!(
                    "a private room needs a frame budget of at least {} bytes",
                    framechat_wire::MIN_PRIVATE_FRAME_BUDGET
                ))
            }),
        }
    }
}

/// Which [`Link`] carries the frames.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkKind {
    /// A WebSocket, owned by a dedicated worker ([`worker`]) when `worker` and the page
    /// allow; else on this thread ([`socket`]).
    WebSocket { worker: bool },
    /// A Socket.IO server ([`socketio`]); frames travel as `event`.
    SocketIo { event: String },
    /// The host page's own connection ([`host`]).
    Host(host::HostTransport),
}

struct Inner {
    cfg: NetConfig,
    dispatch: Callback<Action>,
    /// Actions not rendered yet.
    actions: Vec<Action>,
    link: Option<Rc<dyn Link>>,
    /// A private room's sealer for the current link.
    sealer: Option<Rc<private::Sealer>>,
    /// Encrypted messages this client has no key for, given a notice (by tag).
    unreadable: KnownIds,
    /// Where this client stands in the room, as framechat-relay numbers messages.
    recovery: control::Recovery,
    open: bool,
    attempt: u32,
    closed: bool,
    /// A socket worker failed to run: this client's sockets live on the main thread.
    worker_failed: bool,
    exchange: Exchange<Body, JsPart>,
    timers: Timers,
    /// What the browser keeps of the room; `None` without, or once it failed.
    store: Option<Store>,
    /// A data frame arrived since the last `pos` (else the `pos` is of an own message whose
    /// echo this page did not see).
    saw_frame: bool,
    /// The next own message's place in the order the user sent (kept with pending ones).
    seq: u64,
    /// A private room's own messages the socket worker seals whole, to send and to keep.
    keeping: Vec<kept::Keeping>,
    /// The envelopes of the private-room message the next frame from the link ends, as it
    /// came ([`LinkEvent::Arrived`]): kept as they are, if it completes.
    arrived: Option<js_sys::Array>,
}

/// What keeps the connection ticking; dropped on close.
#[derive(Default)]
struct Timers {
    reconnect: Option<Timeout>,
    pump: Option<Timeout>,
    /// Pending render of progress-only updates.
    flush: Option<Timeout>,
    expiry: Option<Interval>,
    online: Option<EventListener>,
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
    /// Start connecting; every change is reported through `dispatch`. With `store` (the
    /// store being opened), what it keeps of the room is shown and pending messages are
    /// queued first, before the link opens.
    pub fn connect(cfg: NetConfig, dispatch: Callback<Action>, store: Option<Op>) -> Client {
        let limits = Limits {
            max_message_bytes: cfg.max_message_bytes,
            ..Limits::default()
        };
        let earlier_own = storage::stored_own_ids()
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let inbox = Inbox::new(limits, earlier_own, received_media);
        let mut exchange = Exchange::new(inbox);
        // Neither echoes nor positions come back through these.
        exchange.outbox.drain_delivers = !matches!(cfg.link, LinkKind::WebSocket { .. });
        let inner = Rc::new(RefCell::new(Inner {
            cfg,
            dispatch,
            actions: Vec::new(),
            link: None,
            sealer: None,
            unreadable: KnownIds::default(),
            recovery: control::Recovery::default(),
            open: false,
            attempt: 0,
            closed: false,
            worker_failed: false,
            exchange,
            timers: Timers::default(),
            store: None,
            saw_frame: false,
            // Above any earlier page's: milliseconds since 1970, times 1000.
            seq: now_ms().saturating_mul(1000),
            keeping: Vec::new(),
            arrived: None,
        }));
        let weak = Rc::downgrade(&inner);
        let expiry = Interval::new(EXPIRE_EVERY_MS, move || {
            with(&weak, |i| i.exchange.inbox.expire(now_ms(), &mut i.actions));
        });
        let weak = Rc::downgrade(&inner);
        let online = web_sys::window().map(|w| {
            EventListener::new(&w, "online", move |_| {
                if let Some(rc) = weak.upgrade() {
                    let idle = rc.borrow().link.is_none();
                    if idle {
                        open_link(&rc);
                    }
                }
            })
        });
        {
            let mut i = inner.borrow_mut();
            i.timers.expiry = Some(expiry);
            i.timers.online = online;
        }
        match store {
            Some(open) => {
                let weak = Rc::downgrade(&inner);
                wasm_bindgen_futures::spawn_local(async move {
                    let store = finish(open).await.map(Store);
                    if let Some(rc) = weak.upgrade() {
                        let loaded = match store {
                            Ok(store) => {
                                rc.borrow_mut().store = Some(store.clone());
                                store.load().await
                            }
                            Err(e) => Err(e),
                        };
                        restore(&rc, loaded);
                        open_link(&rc);
                    }
                });
            }
            None => open_link(&inner),
        }
        Client { inner }
    }

    /// What the browser keeps of the room, if it does.
    pub fn store(&self) -> Option<Store> {
        self.inner.borrow().store.clone()
    }

    /// Queue a message; returns its id. Only [`Sendable`] attachments can be given: the
    /// scrubber's output, a file that is not an image, or an original the user released.
    pub fn send(&self, from: &str, text: String, files: &[Sendable]) -> Result<Uuid, AppError> {
        let id = new_id()?;
        let header = MessageHeader {
            id,
            from: from.to_string(),
            ts: now_ms(),
            text,
            files: files.iter().map(|f| f.attachment().clone()).collect(),
        };
        let bodies = files
            .iter()
            .map(|f| (f.body().clone(), f.attachment().size))
            .collect();
        let media = files.iter().map(|f| f.preview().cloned()).collect();
        {
            let mut i = self.inner.borrow_mut();
            i.queue(header, bodies, media, Some(&self.inner))?;
        }
        pump(&self.inner);
        Ok(id)
    }

    /// Stop sending an own message; receivers that saw part of it get a `cancel` frame.
    pub fn cancel(&self, id: Uuid) {
        let changed = {
            let mut i = self.inner.borrow_mut();
            let Inner {
                exchange, actions, ..
            } = &mut *i;
            exchange.outbox.cancel(id, actions)
        };
        if changed {
            self.inner.borrow_mut().keeping.retain(|k| k.id != id);
            let store = self.inner.borrow().store.clone();
            if let Some(store) = store {
                keep_going(&self.inner, store.sent(&[id], true));
            }
            pump(&self.inner);
        } else {
            flush(&self.inner);
        }
    }

    /// Close the socket and stop reconnecting (unmount).
    pub fn close(&self) {
        let mut i = self.inner.borrow_mut();
        i.closed = true;
        i.link = None;
        i.open = false;
        i.timers = Timers::default();
        i.actions.clear();
    }

    /// Whether the socket is owned by a worker (diagnostics and tests).
    pub fn in_worker(&self) -> bool {
        self.inner
            .borrow()
            .link
            .as_ref()
            .is_some_and(|l| l.in_worker())
    }

    /// Bytes waiting in the socket's send buffer (diagnostics and tests).
    pub fn buffered_amount(&self) -> u32 {
        self.inner
            .borrow()
            .link
            .as_ref()
            .map_or(0, |l| l.buffered_amount())
    }
}

/// Picked files are read by the socket worker while there is one.
impl OffThreadReader for Client {
    fn read_whole(&self, file: &web_sys::Blob) -> Option<oneshot::Receiver<ReadResult>> {
        self.inner.borrow().link.as_ref()?.read_whole(file)
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
    if i.timers.flush.is_some() || i.actions.is_empty() {
        return;
    }
    let weak = Rc::downgrade(rc);
    i.timers.flush = Some(Timeout::new(PROGRESS_RENDER_MS, move || {
        if let Some(rc) = weak.upgrade() {
            flush(&rc);
        }
    }));
}

fn flush(rc: &Rc<RefCell<Inner>>) {
    let (actions, dispatch) = {
        let mut i = rc.borrow_mut();
        i.timers.flush = None;
        (std::mem::take(&mut i.actions), i.dispatch.clone())
    };
    // One render per burst of socket events, not one per event.
    if let Some(action) = crate::state::coalesce(actions) {
        dispatch.emit(action);
    }
}

fn open_link(rc: &Rc<RefCell<Inner>>) {
    {
        let mut i = rc.borrow_mut();
        if i.closed {
            return;
        }
        i.timers.reconnect = None;
        i.link = None;
        let conn = if i.attempt == 0 {
            Conn::Connecting
        } else {
            i.lost_conn()
        };
        i.actions.push(Action::Conn(conn));
        let weak = Rc::downgrade(rc);
        let events: link::Events = Rc::new(move |event| {
            if let Some(rc) = weak.upgrade() {
                on_event(&rc, event);
            }
        });
        // A private room's frames are opened before the connection sees them.
        let events = match &i.cfg.private {
            Some(room) => {
                let gather = if i.store.is_some() {
                    i.cfg.max_message_bytes
                } else {
                    0
                };
                private::Opener::wrap(room.clone(), gather, events)
            }
            None => events,
        };
        match make_link(&i.cfg, i.worker_failed, &events) {
            Ok(link) => {
                i.sealer = i
                    .cfg
                    .private
                    .clone()
                    .map(|room| private::Sealer::new(room, link.clone()));
                i.link = Some(link);
            }
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

/// A new link of the configured kind.
fn make_link(
    cfg: &NetConfig,
    worker_failed: bool,
    events: &link::Events,
) -> Result<Rc<dyn Link>, AppError> {
    let url = &cfg.url;
    Ok(match &cfg.link {
        LinkKind::WebSocket { worker } => {
            // A Content Security Policy that forbids Blob workers throws when the worker is
            // made: then this socket lives on this thread.
            match (*worker && !worker_failed)
                .then(|| worker::WorkerSocket::open(url, events, cfg.private.as_ref()).ok())
                .flatten()
            {
                Some(w) => Rc::new(w),
                None => Rc::new(socket::DirectSocket::open(url, events)?),
            }
        }
        LinkKind::SocketIo { event } => Rc::new(socketio::SocketIo::open(url, event, events)?),
        LinkKind::Host(host) => Rc::new(host::HostLink::open(host, events)),
    })
}

fn on_event(rc: &Rc<RefCell<Inner>>, event: LinkEvent) {
    match event {
        LinkEvent::Open => opened(rc),
        LinkEvent::Frame(buffer) => {
            received(rc, &Uint8Array::new(&buffer), Source::Link);
            flush_soon(rc);
        }
        LinkEvent::Closed => closed(rc),
        LinkEvent::SealedEcho(tag) => kept::sealed_echo(rc, &tag),
        LinkEvent::Kept(tag, envelopes) => kept::on_kept(rc, &tag, envelopes),
        LinkEvent::Arrived(envelopes) => rc.borrow_mut().arrived = Some(envelopes),
        LinkEvent::Notice(text) => {
            let mut i = rc.borrow_mut();
            i.saw_frame = true;
            i.actions.push(Action::Notice(text));
            drop(i);
            flush(rc);
        }
        LinkEvent::Unreachable(reason) => cannot_connect(rc, &reason),
        // No worker from now on, and a socket on this thread in its place: at once if this
        // one never opened.
        LinkEvent::WorkerFailed { was_open } => {
            rc.borrow_mut().worker_failed = true;
            if was_open {
                closed(rc);
            } else {
                open_link(rc);
            }
        }
    }
}

fn opened(rc: &Rc<RefCell<Inner>>) {
    {
        let mut i = rc.borrow_mut();
        i.open = true;
        i.recovery.connected();
        if i.attempt > 0 {
            i.exchange.outbox.reconnected(now_ms());
        }
        i.attempt = 0;
        i.actions.push(Action::Conn(Conn::Online));
    }
    pump(rc);
}

/// Where a frame [`received`] comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Link,
    /// The browser kept it: shown as the relay's would be.
    Kept,
    /// The browser kept it as pending: sent again.
    Pending,
}

/// One frame from the link, or one the browser kept.
fn received(rc: &Rc<RefCell<Inner>>, frame: &Uint8Array, source: Source) {
    if frame.length() > 0 && control::is_control(Some(frame.get_index(0))) {
        on_control(rc, &frame.to_vec());
        return;
    }
    let mut i = rc.borrow_mut();
    i.saw_frame = true;
    let arrived = i.arrived.take();
    let start = i.actions.len();
    let Inner {
        exchange,
        actions,
        unreadable,
        ..
    } = &mut *i;
    match frames::decode(frame) {
        Ok((Header::Msg(header), payload)) if source == Source::Pending => {
            // The frame's payload: every attachment's bytes, one body.
            let total = u64::from(payload.0.length());
            let body = (Body::Memory(Rc::from([payload.0.clone()])), total);
            let bodies = if total > 0 { vec![body] } else { Vec::new() };
            let media = received_media(&header.files, std::slice::from_ref(&payload));
            // It was planned once already: it plans again.
            let _ = i.queue(header, bodies, media, None);
        }
        Ok((header, payload)) => exchange.on_frame(header, payload, now_ms(), actions),
        // A private room's frame on a page whose link has no key (a private room's own frames
        // are opened before they get here): one notice per message.
        Err(_) if frames::is_sealed(frame) => {
            if let Some(tag) = frames::sealed_tag(frame).filter(|t| !unreadable.contains(t)) {
                unreadable.insert(tag);
                actions.push(Action::Notice(
                    "an encrypted message you cannot read: this room's link has no key".into(),
                ));
            }
        }
        Err(e) => actions.push(Action::Notice(format!("ignored a frame: {e}"))),
    }
    if source == Source::Link {
        kept::keep_received(rc, &i, start, arrived);
    }
    after_outbox(rc, &mut i);
}

/// A relay control frame (small: copied whole): the answer to `hello` goes out at once,
/// ahead of anything else, straight to the link (control frames are never sealed).
fn on_control(rc: &Rc<RefCell<Inner>>, bytes: &[u8]) {
    let mut i = rc.borrow_mut();
    let Some(control) = control::decode(bytes) else {
        return;
    };
    if matches!(control, control::Control::Pos { .. }) {
        if !i.saw_frame {
            i.exchange.outbox.on_pos();
            after_outbox(rc, &mut i);
        }
        i.saw_frame = false;
    }
    match i.recovery.on_control(control) {
        control::Step::Send(answer) => {
            let len = answer.len() as u64;
            let sent = i.link.as_ref().map(|link| {
                link.send(
                    link::Outgoing::Bytes(Uint8Array::from(answer.as_slice())),
                    len,
                    None,
                )
            });
            if let Some(Err(e)) = sent {
                i.actions.push(Action::Notice(format!(
                    "could not ask for missed messages: {e}"
                )));
            }
        }
        control::Step::Lost => i.actions.push(Action::Notice(
            "some messages could not be recovered: the relay no longer has them".into(),
        )),
        control::Step::Nothing => {}
    }
}

/// The socket can never connect to the configured URL: say so, and stop trying.
fn cannot_connect(rc: &Rc<RefCell<Inner>>, reason: &str) {
    {
        let mut i = rc.borrow_mut();
        i.link = None;
        let notice = format!("cannot connect to {}: {reason}", i.cfg.url);
        i.actions.push(Action::Notice(notice));
        i.actions.push(Action::Conn(Conn::Offline));
    }
    flush(rc);
}

fn closed(rc: &Rc<RefCell<Inner>>) {
    {
        let mut i = rc.borrow_mut();
        if i.closed {
            return;
        }
        i.link = None;
        i.open = false;
        i.timers.pump = None;
        kept::link_lost(rc, &mut i);
        let Inner {
            exchange, actions, ..
        } = &mut *i;
        exchange.outbox.requeue(actions);
        i.attempt = i.attempt.saturating_add(1);
        let delay = backoff_ms(i.attempt - 1, js_sys::Math::random());
        let conn = i.lost_conn();
        i.actions.push(Action::Conn(conn));
        let weak = Rc::downgrade(rc);
        i.timers.reconnect = Some(Timeout::new(delay, move || {
            if let Some(rc) = weak.upgrade() {
                open_link(&rc);
            }
        }));
    }
    flush(rc);
}

/// Send what the outbox and the socket buffer allow; re-arm a timer when waiting.
fn pump(rc: &Rc<RefCell<Inner>>) {
    let mut i = rc.borrow_mut();
    i.timers.pump = None;
    let Inner {
        exchange,
        actions,
        link,
        sealer,
        open,
        keeping,
        ..
    } = &mut *i;
    let (now, mono) = (now_ms(), mono_ms());
    let next = match (link.as_deref(), sealer.as_ref()) {
        (Some(link), _) if !(*open && link.is_open()) => Pump::Idle,
        (Some(_), Some(sealer)) => {
            let mut sink = private::SealedSink(sealer, keeping);
            exchange.outbox.pump(&mut sink, now, mono, actions)
        }
        (Some(link), None) => {
            let mut sink = frames::LinkSink(link);
            exchange.outbox.pump(&mut sink, now, mono, actions)
        }
        (None, _) => Pump::Idle,
    };
    after_outbox(rc, &mut i);
    if let Pump::RetryIn(ms) = next {
        let weak = Rc::downgrade(rc);
        i.timers.pump = Some(Timeout::new(ms, move || {
            if let Some(rc) = weak.upgrade() {
                pump(&rc);
            }
        }));
    }
    drop(i);
    flush_soon(rc);
}

impl Inner {
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
}
