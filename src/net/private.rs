//! Private rooms on the wire: every frame leaves sealed in a 0xFD envelope and arrives opened,
//! between the outbox and the link (PROTOCOL.md, "Private rooms").
//!
//! Sending ([`Sealer`]): the outbox's frames are built as for any room, at the inner budget
//! (the frame budget less the envelope's 46 bytes). A message's tag is drawn once and kept for
//! its resends; frame indexes count from its `msg` frame. The socket worker seals each frame
//! itself, right before its socket takes it ([`Link::send_to_seal`]): the page's thread hands
//! over a private room's frame as it does a plain one (sealing here cost the bench's 12 MP
//! photo a page-thread task per frame, held up by the sender's own render). Any other link
//! (a socket on this thread, a Socket.IO or host connection) gets envelopes sealed here, by
//! WebCrypto in JS memory, several at once and handed over in the outbox's order; the bytes
//! waiting to be sealed count as buffered, so pacing and confirmation see them. When the
//! browser keeps the chat, an own message goes to the socket worker whole at Send
//! ([`seal_whole`]): it is sealed once, for its socket and for the store (`net/kept.rs`), and
//! its frames are then sent by their place ([`Link::send_kept`]). Sealing the kept copy
//! apart, on the page, cost a 12 MP photo 1.21-1.35× a plain room's latency.
//!
//! Receiving ([`Opener`]): every link event passes through one queue, so frames are opened
//! and reported in the order they came (on the page's thread, for every link: measured in
//! the latency bench, opening in the socket worker instead gained nothing). A frame that is
//! not sealed is dropped with a notice (nobody without the key can post into a private room),
//! so is one that fails to authenticate (another key, or tampered with): one notice per
//! message at most. When the browser keeps the chat, a message is also handed on as the
//! envelopes it came in ([`LinkEvent::Arrived`]), for the store to keep as they are: opening
//! it and sealing it again with the store key cost a received 12 MP photo a 4 MB read, a seal
//! and a copy, in the time the browser decodes it. Those envelopes are held until their
//! message ends (its bytes held twice meanwhile, opened and not), at most the largest message
//! the client takes at once.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use framechat_wire::{
    CancelHeader, ENVELOPE_OVERHEAD, Flags, FrameIndexes, Header, PREFIX_LEN, PlannedFrame,
    TAG_LEN, Uuid, header_len, is_envelope, write_frame,
};
use js_sys::{Array, Uint8Array};
use wasm_bindgen_futures::JsFuture;

use super::frames;
use super::kept::Keeping;
use super::known::KnownIds;
use super::link::{Events, Link, LinkEvent, Outgoing, SealAt};
use super::outbox::Sink;
use crate::error::AppError;
use crate::media::{Body, count_out};
use crate::platform::webcrypto::{CryptoError, EnvelopeHead, FrameKey, new_message_tag};

/// A private room's frame key and name, which every frame's additional data binds.
#[derive(Clone, Debug)]
pub struct PrivateRoom {
    pub key: FrameKey,
    pub room: String,
}

impl PartialEq for PrivateRoom {
    fn eq(&self, other: &Self) -> bool {
        self.room == other.room && self.key.crypto_key() == other.key.crypto_key()
    }
}

struct Job {
    out: Outgoing,
    at: SealAt,
    /// The inner frame's length: what it counts in the sealer's queue.
    len: u64,
}

/// A frame being sealed (or opened): filled when WebCrypto is done, taken in order.
struct Slot<T> {
    done: RefCell<Option<T>>,
    /// What it counts in the sealer's buffered bytes.
    cost: u64,
}

/// An envelope, or why its frame could not be sealed.
type Sealed = Result<Uint8Array, AppError>;

/// Seals the frames of one link: each as soon as the outbox hands it over (WebCrypto works
/// on several at once, off the page's thread), handed to the link in the outbox's order.
pub struct Sealer {
    room: PrivateRoom,
    link: Rc<dyn Link>,
    /// Message id → its tag and the index of its next frame.
    tags: RefCell<HashMap<Uuid, ([u8; TAG_LEN], u32)>>,
    queue: RefCell<VecDeque<Rc<Slot<Sealed>>>>,
    /// Bytes queued and not yet handed to the link.
    pending: Cell<u64>,
    /// Why the last frame could not be sealed (reported by the next `send_frame`).
    failed: RefCell<Option<AppError>>,
}

impl Sealer {
    pub fn new(room: PrivateRoom, link: Rc<dyn Link>) -> Rc<Self> {
        Rc::new(Self {
            room,
            link,
            tags: RefCell::new(HashMap::new()),
            queue: RefCell::new(VecDeque::new()),
            pending: Cell::new(0),
            failed: RefCell::new(None),
        })
    }

    /// The own message sealed under `tag`.
    pub fn id_of(&self, tag: &[u8; TAG_LEN]) -> Option<Uuid> {
        let tags = self.tags.borrow();
        tags.iter().find(|(_, (t, _))| t == tag).map(|(id, _)| *id)
    }

    /// The tag and index of the next frame of message `id` with these flags: a `msg` frame
    /// starts the message (again, after a reconnect) at index 0, under the message's tag
    /// (`tag`, if it has one already).
    fn position(
        &self,
        id: Uuid,
        flags: Flags,
        tag: Option<[u8; TAG_LEN]>,
    ) -> Result<([u8; TAG_LEN], u32), AppError> {
        let mut tags = self.tags.borrow_mut();
        let entry = match tags.get_mut(&id) {
            Some(entry) => entry,
            None => {
                let tag = match tag {
                    Some(tag) => tag,
                    None => new_message_tag().map_err(crypto)?,
                };
                tags.entry(id).or_insert((tag, 0))
            }
        };
        if flags.begins() {
            entry.1 = 0;
        }
        let at = *entry;
        entry.1 = entry.1.saturating_add(1);
        Ok(at)
    }

    fn enqueue(self: &Rc<Self>, job: Job) {
        let cost = job.len + ENVELOPE_OVERHEAD as u64;
        self.pending.set(self.pending.get() + cost);
        let slot = Rc::new(Slot {
            done: RefCell::new(None),
            cost,
        });
        self.queue.borrow_mut().push_back(slot.clone());
        let sealer = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let sealed = sealer.seal(job).await;
            *slot.done.borrow_mut() = Some(sealed);
            sealer.hand_over();
        });
    }

    /// Hands the link every sealed frame at the front of the queue, in order.
    fn hand_over(&self) {
        loop {
            let Some(sealed) = ({
                let mut queue = self.queue.borrow_mut();
                match queue.front().map(|slot| slot.done.borrow_mut().take()) {
                    Some(Some(sealed)) => queue.pop_front().map(|slot| (sealed, slot.cost)),
                    _ => None,
                }
            }) else {
                break;
            };
            let (sealed, cost) = sealed;
            let sent = sealed.and_then(|envelope| {
                // Only links that do not seal get here, and none of them drops echoes.
                let len = u64::from(envelope.length());
                self.link.send(Outgoing::Bytes(envelope), len, None)
            });
            self.pending.set(self.pending.get().saturating_sub(cost));
            if let Err(e) = sent {
                // The link's close follows, and the outbox re-sends what was not confirmed.
                *self.failed.borrow_mut() = Some(e);
            }
        }
    }

    async fn seal(&self, job: Job) -> Result<Uint8Array, AppError> {
        let inner = match job.out {
            Outgoing::Bytes(bytes) => bytes,
            // A plain file's frame: the browser reads its slices now.
            Outgoing::Blob(blob) => {
                let buffer = JsFuture::from(blob.array_buffer()).await?;
                Uint8Array::new(&buffer)
            }
        };
        self.room
            .key
            .seal_view(
                job.at.flags,
                &job.at.tag,
                job.at.index,
                &self.room.room,
                &inner,
            )
            .await
            .map_err(|e| AppError::Crypto(e.to_string()))
    }
}

/// Own message `frames` (with attachments `bodies`) handed whole to a socket worker `link`,
/// to seal now, once, under a new tag ([`Link::keep`]): the tag, or `None` for a link that
/// does not seal frames itself.
pub fn seal_whole(
    link: &dyn Link,
    frames: &[PlannedFrame],
    bodies: &[(Body, u64)],
) -> Result<Option<[u8; TAG_LEN]>, AppError> {
    if !link.in_worker() {
        return Ok(None);
    }
    let tag = new_message_tag().map_err(crypto)?;
    let (bodies, sizes): (Vec<Body>, Vec<u64>) = bodies.iter().cloned().unzip();
    let (built, seals, buffers) = (Array::new(), Array::new(), Array::new());
    for (index, frame) in (0u32..).zip(frames) {
        let flags = Flags::of_header(&frame.header, frame.range.end - frame.range.start)?;
        built.push(&match frames::build(frame, &bodies, &sizes)?.out {
            Outgoing::Bytes(bytes) => {
                buffers.push(&bytes.buffer());
                bytes.into()
            }
            Outgoing::Blob(blob) => blob.into(),
        });
        let at = SealAt { flags, tag, index };
        seals.push(&Uint8Array::from(at.bytes().as_slice()));
    }
    Ok(link.keep([&built, &seals, &buffers])?.then_some(tag))
}

fn crypto(e: CryptoError) -> AppError {
    AppError::Crypto(e.to_string())
}

/// The outbox's frames, built at the inner budget and sealed before they go; `.1`: the own
/// messages the link sealed whole already ([`seal_whole`]).
pub struct SealedSink<'a>(pub(super) &'a Rc<Sealer>, pub(super) &'a [Keeping]);

impl SealedSink<'_> {
    /// Hands over frame `header` of `len` bytes (`payload` of them its payload): `out`, or,
    /// without it, the envelope the link sealed already.
    fn push(
        &mut self,
        header: &Header,
        out: Option<Outgoing>,
        len: u64,
        payload: u64,
    ) -> Result<u64, AppError> {
        if let Some(e) = self.0.failed.borrow_mut().take() {
            return Err(e);
        }
        let flags = Flags::of_header(header, payload)?;
        let id = header.id();
        let whole = self.1.iter().find(|k| k.id == id).map(|k| k.tag);
        let (tag, index) = self.0.position(id, flags, whole)?;
        let at = SealAt { flags, tag, index };
        let Some(out) = out else {
            self.0.link.send_kept(at, len)?;
            return Ok(len + ENVELOPE_OVERHEAD as u64);
        };
        // A link that seals frames itself takes it as it is; the queue is then always empty.
        if let Some(out) = self.0.link.send_to_seal(out, len, at)? {
            self.0.enqueue(Job { out, at, len });
        }
        Ok(len + ENVELOPE_OVERHEAD as u64)
    }
}

impl Sink<Body> for SealedSink<'_> {
    fn buffered(&self) -> u32 {
        let waiting = u32::try_from(self.0.pending.get()).unwrap_or(u32::MAX);
        self.0.link.buffered_amount().saturating_add(waiting)
    }

    fn send_frame(
        &mut self,
        frame: &PlannedFrame,
        bodies: &[Body],
        sizes: &[u64],
    ) -> Result<u64, AppError> {
        let payload = frame.range.end - frame.range.start;
        let header = &frame.header;
        if self.1.iter().any(|k| k.id == header.id()) {
            let len = (PREFIX_LEN + header_len(header)?) as u64 + payload;
            return self.push(header, None, len, payload);
        }
        let built = frames::build(frame, bodies, sizes)?;
        self.push(header, Some(built.out), built.len, payload)
    }

    fn send_cancel(&mut self, cancel: &CancelHeader) -> Result<u64, AppError> {
        let header = Header::Cancel(cancel.clone());
        let mut bytes = Vec::new();
        write_frame(&header, &[], &mut bytes)?;
        count_out(bytes.len() as u64);
        let len = bytes.len() as u64;
        let out = Outgoing::Bytes(Uint8Array::from(bytes.as_slice()));
        self.push(&header, Some(out), len, 0)
    }
}

/// Opens what one link receives, several frames at once, and reports them on in the order
/// they came.
pub struct Opener {
    room: PrivateRoom,
    out: Events,
    indexes: RefCell<FrameIndexes>,
    queue: RefCell<VecDeque<Rc<Slot<Opened>>>>,
    /// Messages (by tag or id) already given a notice.
    noticed: RefCell<KnownIds>,
    /// The envelopes of the messages under way, oldest begun first, for the store: JS views of
    /// the buffers they came in, not copies.
    gathering: RefCell<Vec<Gathering>>,
    /// The most bytes of envelopes gathered at once (0: the browser keeps nothing).
    gather_up_to: u64,
}

/// A frame, done: the event to report, and for an envelope, its flags, tag and (if it opened)
/// bytes.
type Opened = (
    Option<LinkEvent>,
    Option<(Flags, [u8; TAG_LEN], Option<Uint8Array>)>,
);

/// One message's envelopes so far, each after its length (u32, little-endian).
struct Gathering {
    tag: [u8; TAG_LEN],
    parts: Array,
    bytes: u64,
}

impl Opener {
    /// The events a link reports go through the returned callback, and come out opened on
    /// `out`. With `gather_up_to` > 0 (the browser keeps the chat), a message is also
    /// reported as the envelopes it came in ([`LinkEvent::Arrived`]), for the store to keep
    /// it as it came instead of sealing it again; messages past that many bytes under way
    /// are not (the oldest begun go first).
    pub fn wrap(room: PrivateRoom, gather_up_to: u64, out: Events) -> Events {
        let opener = Rc::new(Self {
            room,
            out,
            indexes: RefCell::new(FrameIndexes::default()),
            queue: RefCell::new(VecDeque::new()),
            noticed: RefCell::new(KnownIds::default()),
            gathering: RefCell::new(Vec::new()),
            gather_up_to,
        });
        Rc::new(move |event| opener.push(event))
    }

    fn push(self: &Rc<Self>, event: LinkEvent) {
        let slot = Rc::new(Slot {
            done: RefCell::new(None),
            cost: 0,
        });
        self.queue.borrow_mut().push_back(slot.clone());
        match event {
            LinkEvent::Frame(buffer) => match self.read(buffer) {
                Reading::Ready(event) => *slot.done.borrow_mut() = Some((event, None)),
                Reading::Open(head, bytes, index) => {
                    let opener = self.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let event = opener.open(head, &bytes, index).await;
                        let opened = matches!(event, Some(LinkEvent::Frame(_)));
                        let envelope = (head.flags, head.tag, opened.then_some(bytes));
                        *slot.done.borrow_mut() = Some((event, Some(envelope)));
                        opener.report();
                    });
                    return;
                }
            },
            other => *slot.done.borrow_mut() = Some((Some(other), None)),
        }
        self.report();
    }

    /// Reports every finished event at the front of the queue, in order: a frame that ends
    /// a message gathered whole comes after its envelopes.
    fn report(&self) {
        loop {
            let (event, envelope) = {
                let mut queue = self.queue.borrow_mut();
                match queue.front().map(|slot| slot.done.borrow_mut().take()) {
                    Some(Some(done)) => {
                        queue.pop_front();
                        done
                    }
                    _ => break,
                }
            };
            let gathered =
                envelope.and_then(|(flags, tag, bytes)| self.gather(flags, tag, bytes.as_ref()));
            if let Some(envelopes) = gathered {
                (self.out)(LinkEvent::Arrived(envelopes));
            }
            if let Some(event) = event {
                (self.out)(event);
            }
        }
    }

    /// Adds the envelope of an opened frame to its message's: all of them, each after its
    /// length, once it ends the message. One that did not open (`None`) ends the gathering of
    /// its message.
    fn gather(
        &self,
        flags: Flags,
        tag: [u8; TAG_LEN],
        envelope: Option<&Uint8Array>,
    ) -> Option<Array> {
        let mut gathering = self.gathering.borrow_mut();
        if flags.begins() && self.gather_up_to > 0 {
            // A resend starts its message again.
            gathering.retain(|g| g.tag != tag);
            gathering.push(Gathering {
                tag,
                parts: Array::new(),
                bytes: 0,
            });
        }
        let at = gathering.iter().position(|g| g.tag == tag)?;
        let Some(envelope) = envelope else {
            gathering.remove(at);
            return None;
        };
        let g = &mut gathering[at];
        g.parts
            .push(&Uint8Array::from(&envelope.length().to_le_bytes()[..]));
        g.parts.push(envelope);
        g.bytes += 4 + u64::from(envelope.length());
        let whole = flags.ends().then(|| gathering.remove(at));
        let mut total: u64 = gathering.iter().map(|g| g.bytes).sum();
        while total > self.gather_up_to {
            total -= gathering.remove(0).bytes;
        }
        whole
            .filter(|g| g.bytes <= self.gather_up_to)
            .map(|g| g.parts)
    }

    /// What to do with a received frame: pass it on, drop it with a notice, or open it as
    /// frame `index` of its message (counted now, in arrival order).
    fn read(&self, buffer: js_sys::ArrayBuffer) -> Reading {
        let bytes = Uint8Array::new(&buffer);
        let first = (bytes.length() > 0).then(|| bytes.get_index(0));
        // The relay's control frames are between it and this client: never sealed.
        if super::control::is_control(first) {
            return Reading::Ready(Some(LinkEvent::Frame(buffer)));
        }
        if !first.is_some_and(|b| is_envelope(&[b])) {
            // Anything readable without the key was not sent by someone who has it.
            let id = frames::decode(&bytes).ok().map(|(h, _)| h.id());
            return Reading::Ready(self.notice(
                id.unwrap_or_default(),
                "ignored a message that was not encrypted: this room is private".into(),
            ));
        }
        let head = match EnvelopeHead::read(&bytes) {
            Ok(head) => head,
            Err(e) => {
                return Reading::Ready(Some(LinkEvent::Notice(format!(
                    "ignored an encrypted frame: {e}"
                ))));
            }
        };
        let mut indexes = self.indexes.borrow_mut();
        let Some(index) = indexes.expected(head.flags, &head.tag) else {
            drop(indexes);
            // A message already under way when this page joined: its start is missing.
            return Reading::Ready(self.notice(
                Uuid::from_bytes(head.tag),
                "ignored part of an encrypted message that began before you joined".into(),
            ));
        };
        indexes.opened(head.flags, &head.tag, index);
        Reading::Open(head, bytes, index)
    }

    /// The frame inside an envelope, or a notice (once per message).
    async fn open(&self, head: EnvelopeHead, bytes: &Uint8Array, index: u32) -> Option<LinkEvent> {
        let tag_id = Uuid::from_bytes(head.tag);
        match self
            .room
            .key
            .open_view(&head, bytes, index, &self.room.room)
            .await
        {
            Ok(inner) => {
                // The envelope's flags must say what the frame inside is.
                let view = Uint8Array::new(&inner);
                let agrees = frames::decode(&view).ok().and_then(|(header, payload)| {
                    Flags::of_header(&header, u64::from(payload.0.length())).ok()
                }) == Some(head.flags);
                if agrees {
                    Some(LinkEvent::Frame(inner))
                } else {
                    self.notice(
                        tag_id,
                        "ignored an encrypted frame that lies about its role".into(),
                    )
                }
            }
            Err(_) => {
                self.indexes.borrow_mut().forget(&head.tag);
                self.notice(
                    tag_id,
                    "an encrypted message you cannot read (it was sealed with another key)".into(),
                )
            }
        }
    }

    fn notice(&self, id: Uuid, text: String) -> Option<LinkEvent> {
        let mut noticed = self.noticed.borrow_mut();
        if noticed.contains(&id) {
            return None;
        }
        noticed.insert(id);
        Some(LinkEvent::Notice(text))
    }
}

/// A received frame, read: an event at once, or an envelope to open.
enum Reading {
    Ready(Option<LinkEvent>),
    Open(EnvelopeHead, Uint8Array, u32),
}
