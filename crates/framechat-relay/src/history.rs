//! Whole-message history of one room, and message positions.
//!
//! A *message* is what a client shows as one entry: a v1 `msg` frame with
//! all its `chunk`s (grouped by `(from, id)`, ended by the `last` chunk or a
//! `cancel`), an encrypted 0xFD message (grouped by its message tag, from the
//! frame with the begin flag to the one with the end flag), or any other
//! binary or text message on its own. Every message that ends gets the
//! room's next position (offset). History keeps whole messages in position
//! order and evicts whole messages only; a message still in progress is kept
//! aside (bounded) until it ends, so a frame of a message is never stored
//! without the frame that begins it.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::extract::ws::Message;
use framechat_wire::{Header, decode_header};

use crate::control::{self, Request};
use crate::hub::message_len;

/// First byte of an encrypted envelope (the encrypted-rooms issue).
pub const SEALED: u8 = 0xFD;
/// Shortest valid envelope: magic, flags, tag, nonce, GCM tag.
pub const SEALED_MIN_LEN: usize = 1 + 1 + 16 + 12 + 16;

/// Which message a frame belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    /// A v1 frame's `(from, id)`.
    Plain { from: String, id: u128 },
    /// An envelope's message tag.
    Sealed([u8; 16]),
}

/// What a frame does to its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// A message on its own (not a frame of a longer message).
    Whole,
    /// Begins message `0`; `complete` when it is also its last frame.
    Begin(Key, bool),
    /// A middle frame.
    Middle(Key),
    /// The last frame (or a cancel).
    End(Key),
}

/// An envelope's flags and tag, if `bytes` is a well-formed envelope (length
/// and flags only: the relay cannot look inside).
pub(crate) fn envelope(bytes: &[u8]) -> Option<(u8, [u8; 16])> {
    if bytes.first() != Some(&SEALED) || bytes.len() < SEALED_MIN_LEN {
        return None;
    }
    let flags = *bytes.get(1)?;
    if flags & !0x03 != 0 {
        return None;
    }
    let tag: [u8; 16] = bytes.get(2..18)?.try_into().ok()?;
    Some((flags, tag))
}

/// Which message `msg` belongs to, from its first bytes and v1 header.
pub(crate) fn classify(msg: &Message) -> Part {
    let Message::Binary(bytes) = msg else {
        return Part::Whole;
    };
    match bytes.first() {
        Some(&SEALED) => match envelope(bytes) {
            Some((0x03, tag)) => Part::Begin(Key::Sealed(tag), true),
            Some((0x01, tag)) => Part::Begin(Key::Sealed(tag), false),
            Some((0x02, tag)) => Part::End(Key::Sealed(tag)),
            Some((_, tag)) => Part::Middle(Key::Sealed(tag)),
            None => Part::Whole,
        },
        Some(&0xFC) => match decode_header(bytes) {
            Ok((Header::Msg(h), end)) => {
                let payload = bytes.len().saturating_sub(end) as u64;
                let complete = h.total().is_ok_and(|total| payload >= total);
                let key = Key::Plain {
                    from: h.from,
                    id: h.id.as_u128(),
                };
                Part::Begin(key, complete)
            }
            Ok((Header::Chunk(c), _)) => {
                let key = Key::Plain {
                    from: c.from,
                    id: c.id.as_u128(),
                };
                if c.last {
                    Part::End(key)
                } else {
                    Part::Middle(key)
                }
            }
            Ok((Header::Cancel(c), _)) => Part::End(Key::Plain {
                from: c.from,
                id: c.id.as_u128(),
            }),
            Err(_) => Part::Whole,
        },
        _ => Part::Whole,
    }
}

/// Per-room history limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Most finished messages kept.
    pub messages: usize,
    /// Most bytes of finished messages kept; also the most bytes of
    /// unfinished messages kept aside.
    pub bytes: usize,
    /// Most unfinished messages tracked at once.
    pub open_messages: usize,
}

/// A finished message in history. `frames` is `None` for a message too big
/// to keep (a hole: it has a position but cannot be replayed).
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub offset: u64,
    pub frames: Option<Arc<[Message]>>,
    bytes: usize,
}

impl Stored {
    /// A finished message read back from shared storage (`cluster`).
    pub fn new(offset: u64, frames: Option<Vec<Message>>) -> Self {
        let bytes = frames
            .as_ref()
            .map_or(0, |f| f.iter().map(message_len).sum());
        Self {
            offset,
            frames: frames.map(Arc::from),
            bytes,
        }
    }
}

/// A message in progress.
#[derive(Debug)]
struct Open {
    key: Key,
    /// Its frames so far; `None` once it grew past the byte limit.
    frames: Option<Vec<Message>>,
    bytes: usize,
    /// The room's join count when its frames were dropped: clients that
    /// joined later never got its start, so they do not get the rest.
    dropped_at: Option<u64>,
}

/// What recording a frame decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pushed {
    /// The position of the message this frame finished.
    pub finished: Option<u64>,
    /// Only clients whose join number is at most this get the frame (and
    /// its `pos`): the others joined after its message's start was dropped.
    pub upto: Option<u64>,
}

/// One room's messages: position counter, history, messages in progress.
#[derive(Debug)]
pub(crate) struct Log {
    pub epoch: String,
    /// Position of the newest finished message (0: none yet).
    pub offset: u64,
    done: VecDeque<Stored>,
    done_bytes: usize,
    open: VecDeque<Open>,
    open_bytes: usize,
    /// Clients that joined so far (each gets the next number).
    joins: u64,
}

impl Log {
    /// Numbers a joining client (see [`Pushed::upto`]).
    pub fn join(&mut self) -> u64 {
        self.joins += 1;
        self.joins
    }

    pub fn new(epoch: String) -> Self {
        Self {
            epoch,
            offset: 0,
            done: VecDeque::new(),
            done_bytes: 0,
            open: VecDeque::new(),
            open_bytes: 0,
            joins: 0,
        }
    }

    /// Bytes this log holds (finished and unfinished messages).
    pub fn bytes(&self) -> usize {
        self.done_bytes + self.open_bytes
    }

    /// Whether the log holds nothing at all.
    pub fn is_empty(&self) -> bool {
        self.offset == 0 && self.open.is_empty()
    }

    /// Records one relayed frame: the position of the message it finished,
    /// if any, and who may get it.
    pub fn push(&mut self, part: Part, msg: &Message, lim: Limits) -> Pushed {
        let len = message_len(msg);
        match part {
            Part::Middle(key) => {
                let upto = match self.find(&key) {
                    Some(_) => {
                        self.move_last(&key);
                        self.append_open(msg, len, lim);
                        self.open.back().and_then(|o| o.dropped_at)
                    }
                    None => None,
                };
                Pushed {
                    finished: None,
                    upto,
                }
            }
            Part::End(key) => {
                let upto = self
                    .find(&key)
                    .and_then(|i| self.open.get(i))
                    .and_then(|o| o.dropped_at);
                Pushed {
                    finished: self.record(Part::End(key), msg, len, lim),
                    upto,
                }
            }
            part => Pushed {
                finished: self.record(part, msg, len, lim),
                upto: None,
            },
        }
    }

    fn record(&mut self, part: Part, msg: &Message, len: usize, lim: Limits) -> Option<u64> {
        match part {
            Part::Whole => Some(self.finish(Some(vec![msg.clone()]), len, lim)),
            Part::Begin(key, complete) => {
                // A resend restarts its message.
                self.abandon(&key);
                if complete {
                    return Some(self.finish(Some(vec![msg.clone()]), len, lim));
                }
                if lim.open_messages == 0 {
                    return None;
                }
                while self.open.len() >= lim.open_messages {
                    if let Some(old) = self.open.pop_front() {
                        self.open_bytes -= old.bytes;
                    }
                }
                self.open.push_back(Open {
                    key,
                    frames: Some(Vec::new()),
                    bytes: 0,
                    dropped_at: None,
                });
                self.append_open(msg, len, lim);
                None
            }
            // Handled by `push`.
            Part::Middle(_) => None,
            Part::End(key) => {
                let i = self.find(&key)?;
                let open = self.open.remove(i)?;
                self.open_bytes -= open.bytes;
                let frames = open.frames.map(|mut f| {
                    f.push(msg.clone());
                    f
                });
                Some(self.finish(frames, open.bytes + len, lim))
            }
        }
    }

    fn find(&self, key: &Key) -> Option<usize> {
        self.open.iter().position(|o| o.key == *key)
    }

    fn abandon(&mut self, key: &Key) {
        if let Some(old) = self.find(key).and_then(|i| self.open.remove(i)) {
            self.open_bytes -= old.bytes;
        }
    }

    /// Moves the message `key` to the back (the most recently active one),
    /// so that the open-message cap drops the stalest first.
    fn move_last(&mut self, key: &Key) {
        if let Some(o) = self.find(key).and_then(|i| self.open.remove(i)) {
            self.open.push_back(o);
        }
    }

    /// Appends to the newest open message (the one `msg` belongs to), then
    /// drops the frames of open messages past the byte limit, oldest first.
    fn append_open(&mut self, msg: &Message, len: usize, lim: Limits) {
        let Some(open) = self.open.back_mut() else {
            return;
        };
        if let Some(frames) = &mut open.frames {
            frames.push(msg.clone());
            open.bytes += len;
            self.open_bytes += len;
        }
        for o in &mut self.open {
            if self.open_bytes <= lim.bytes {
                break;
            }
            if o.frames.take().is_some() {
                self.open_bytes -= o.bytes;
                o.bytes = 0;
                o.dropped_at = Some(self.joins);
            }
        }
    }

    /// Gives the next position to a finished message and keeps it (or a
    /// hole), evicting whole messages from the front past the limits.
    fn finish(&mut self, frames: Option<Vec<Message>>, len: usize, lim: Limits) -> u64 {
        self.offset += 1;
        let keep = frames.filter(|_| len <= lim.bytes && lim.messages > 0);
        let bytes = if keep.is_some() { len } else { 0 };
        self.done.push_back(Stored {
            offset: self.offset,
            frames: keep.map(Arc::from),
            bytes,
        });
        self.done_bytes += bytes;
        while self.done.len() > lim.messages.max(1) || self.done_bytes > lim.bytes {
            if !self.pop_oldest() {
                break;
            }
        }
        self.offset
    }

    /// Evicts the oldest finished message; `false` if there is none.
    pub fn pop_oldest(&mut self) -> bool {
        match self.done.pop_front() {
            Some(old) => {
                self.done_bytes -= old.bytes;
                true
            }
            None => false,
        }
    }

    /// Position of the oldest message history can replay whole.
    fn first_kept(&self) -> u64 {
        self.done
            .iter()
            .find(|s| s.frames.is_some())
            .map_or(self.offset + 1, |s| s.offset)
    }

    /// What a client joining now would be replayed.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            epoch: self.epoch.clone(),
            offset: self.offset,
            first_kept: self.first_kept(),
            done: self.done.iter().cloned().collect(),
            open: self
                .open
                .iter()
                .filter_map(|o| o.frames.as_ref())
                .flatten()
                .cloned()
                .collect(),
        }
    }
}

/// A room's history at the moment a client joined.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub epoch: String,
    pub offset: u64,
    first_kept: u64,
    done: Vec<Stored>,
    open: Vec<Message>,
}

impl Snapshot {
    /// A snapshot read back from shared storage (`cluster`): `done` in
    /// position order, `first_kept` the oldest position history can replay
    /// whole, `open` the frames so far of messages in progress.
    pub fn new(
        epoch: String,
        offset: u64,
        first_kept: u64,
        done: Vec<Stored>,
        open: Vec<Message>,
    ) -> Self {
        Self {
            epoch,
            offset,
            first_kept,
            done,
            open,
        }
    }

    /// Nothing (what is left after a snapshot was taken for replay).
    pub fn empty() -> Self {
        Self {
            epoch: String::new(),
            offset: 0,
            first_kept: 1,
            done: Vec::new(),
            open: Vec::new(),
        }
    }

    /// The messages to send, in order, before live traffic: finished
    /// messages (each followed by its `pos`), preceded by `lost` when the
    /// request cannot be met exactly, then the frames so far of messages
    /// still in progress.
    /// Without a position, the newest `fresh` messages are replayed.
    pub fn replay(self, request: Option<&Request>, fresh: usize) -> Vec<Message> {
        let mut out = Vec::new();
        let after = match request {
            None | Some(Request::Fresh) => {
                let skip = self.done.len().saturating_sub(fresh);
                self.done.get(skip).map_or(self.offset, |s| s.offset - 1)
            }
            Some(Request::After { epoch, offset }) => {
                let exact = *epoch == self.epoch
                    && *offset <= self.offset
                    && !self
                        .done
                        .iter()
                        .any(|s| s.offset > *offset && s.frames.is_none())
                    && offset.saturating_add(1) >= self.first_kept;
                if exact {
                    *offset
                } else {
                    let first = self
                        .done
                        .iter()
                        .find(|s| {
                            s.frames.is_some() && (*epoch != self.epoch || s.offset > *offset)
                        })
                        .map_or(self.offset + 1, |s| s.offset);
                    out.push(control::lost(&self.epoch, first));
                    if *epoch == self.epoch && *offset <= self.offset {
                        *offset
                    } else {
                        0
                    }
                }
            }
        };
        for stored in self.done.into_iter().filter(|s| s.offset > after) {
            if let Some(frames) = stored.frames {
                out.extend(frames.iter().cloned());
                out.push(control::pos(stored.offset));
            }
        }
        out.extend(self.open);
        out
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
