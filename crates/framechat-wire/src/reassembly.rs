//! Reassembling chunked messages on the receiving side: bounded, keyed by sender and
//! message, tolerant of other senders' frames in between.
//!
//! The reassembler keeps only bookkeeping; the payload bytes stay in whatever
//! the caller stores them in (a `Vec<u8>` natively, a view of a JavaScript
//! buffer in the browser), anything that implements [`Part`].
//!
//! ```
//! use framechat_wire::{Attachment, Event, Frame, Limits, MessageHeader, Reassembler, Uuid};
//!
//! let header = MessageHeader {
//!     id: Uuid::from_u128(7),
//!     from: "ann".into(),
//!     ts: 0,
//!     text: String::new(),
//!     files: vec![Attachment {
//!         name: "a.bin".into(),
//!         mime: "application/octet-stream".into(),
//!         size: 3000,
//!         width: None,
//!         height: None,
//!         removed: vec![],
//!         thumb: None,
//!     }],
//! };
//! let file = vec![42u8; 3000];
//! let mut rx = Reassembler::<Vec<u8>>::new(Limits::default());
//! let mut complete = None;
//! for planned in framechat_wire::plan(&header, 1024)? {
//!     let payload = framechat_wire::stream_slices(&[&file], planned.range.clone()).concat();
//!     if let Event::Complete { parts, .. } = rx.push(planned.header, payload, 0)? {
//!         complete = Some(parts.concat());
//!     }
//! }
//! assert_eq!(complete, Some(file));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;

use uuid::Uuid;

use crate::error::ReassemblyError;
use crate::header::{ChunkHeader, Header, MessageHeader};

/// A received payload the reassembler can count.
pub trait Part {
    /// Length in bytes.
    fn byte_len(&self) -> u64;
}

impl Part for Vec<u8> {
    fn byte_len(&self) -> u64 {
        self.len() as u64
    }
}

impl Part for &[u8] {
    fn byte_len(&self) -> u64 {
        self.len() as u64
    }
}

impl Part for Box<[u8]> {
    fn byte_len(&self) -> u64 {
        self.len() as u64
    }
}

/// Identifies a transfer: the sender and the message id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferKey {
    /// Sender name as in the frames.
    pub from: String,
    /// Message id.
    pub id: Uuid,
}

impl fmt::Display for TransferKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.from, self.id)
    }
}

/// Bounds on what a [`Reassembler`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, its attachments added up.
    pub max_message_bytes: u64,
    /// Most unfinished transfers at once, from all senders.
    pub max_transfers: usize,
    /// Most unfinished transfers at once from one sender.
    pub max_transfers_per_sender: usize,
    /// Most payload bytes held across unfinished transfers.
    pub max_buffered_bytes: u64,
    /// A transfer with no frame for this long is dropped by [`Reassembler::expire`].
    pub stale_after_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 100 * 1024 * 1024,
            max_transfers: 16,
            max_transfers_per_sender: 4,
            max_buffered_bytes: 256 * 1024 * 1024,
            stale_after_ms: 60_000,
        }
    }
}

/// What a frame did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<P> {
    /// A chunked message began: its header, and how much of its stream came
    /// with the `msg` frame.
    Started {
        /// The message header.
        header: MessageHeader,
        /// Bytes received so far.
        received: u64,
        /// Bytes in the whole stream.
        total: u64,
    },
    /// A chunk arrived; the message is not complete yet.
    Progress {
        /// The transfer.
        key: TransferKey,
        /// Bytes received so far.
        received: u64,
        /// Bytes in the whole stream.
        total: u64,
    },
    /// A message is complete. `parts` are the payloads in stream order; use
    /// [`split_parts`](crate::split_parts) with the header's sizes to find the
    /// attachments in them.
    Complete {
        /// The message header.
        header: MessageHeader,
        /// The payloads, in stream order (empty payloads left out).
        parts: Vec<P>,
    },
    /// The sender cancelled a message; whatever had arrived of it is dropped.
    Cancelled {
        /// The transfer.
        key: TransferKey,
    },
}

#[derive(Debug)]
struct Transfer<P> {
    header: MessageHeader,
    total: u64,
    received: u64,
    parts: Vec<P>,
    last_seen_ms: u64,
}

/// Reassembles messages from frames, under [`Limits`].
#[derive(Debug)]
pub struct Reassembler<P> {
    limits: Limits,
    transfers: HashMap<TransferKey, Transfer<P>>,
    buffered: u64,
}

impl<P: Part> Reassembler<P> {
    /// An empty reassembler.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            transfers: HashMap::new(),
            buffered: 0,
        }
    }

    /// Takes one frame's header and payload, received at `now_ms`.
    ///
    /// A `msg` whose whole stream came with it gives [`Event::Complete`] at
    /// once; a chunked one gives [`Event::Started`], then [`Event::Progress`]
    /// per chunk, then [`Event::Complete`]. A `msg` for a transfer already in
    /// progress restarts it (the sender resends from the start after a
    /// reconnect). Frames of other transfers may come in between.
    ///
    /// # Errors
    /// A [`ReassemblyError`]; when [`ReassemblyError::key`] names a transfer,
    /// that transfer has been dropped and its message failed as a whole.
    pub fn push(
        &mut self,
        header: Header,
        payload: P,
        now_ms: u64,
    ) -> Result<Event<P>, ReassemblyError> {
        match header {
            Header::Msg(msg) => self.start(msg, payload, now_ms),
            Header::Chunk(chunk) => {
                let key = TransferKey {
                    from: chunk.from.clone(),
                    id: chunk.id,
                };
                let len = payload.byte_len();
                if let Err(e) = self.accept_chunk(&key, &chunk, len) {
                    if e.key().is_some() {
                        self.remove(&key);
                    }
                    return Err(e);
                }
                let Some(transfer) = self.transfers.get_mut(&key) else {
                    return Err(ReassemblyError::UnknownTransfer(key));
                };
                transfer.received += len;
                transfer.last_seen_ms = now_ms;
                if len > 0 {
                    transfer.parts.push(payload);
                }
                self.buffered += len;
                if transfer.received == transfer.total {
                    let Some(done) = self.remove(&key) else {
                        return Err(ReassemblyError::UnknownTransfer(key));
                    };
                    return Ok(Event::Complete {
                        header: done.header,
                        parts: done.parts,
                    });
                }
                Ok(Event::Progress {
                    received: transfer.received,
                    total: transfer.total,
                    key,
                })
            }
            Header::Cancel(cancel) => {
                let key = TransferKey {
                    from: cancel.from,
                    id: cancel.id,
                };
                self.remove(&key);
                Ok(Event::Cancelled { key })
            }
        }
    }

    /// Drops every transfer that has seen no frame for longer than
    /// [`Limits::stale_after_ms`]; returns their keys, sorted.
    pub fn expire(&mut self, now_ms: u64) -> Vec<TransferKey> {
        let stale_after = self.limits.stale_after_ms;
        let mut stale: Vec<TransferKey> = self
            .transfers
            .iter()
            .filter(|(_, t)| now_ms.saturating_sub(t.last_seen_ms) > stale_after)
            .map(|(k, _)| k.clone())
            .collect();
        // An insertion sort: a few transfers at most, and no copy of the standard library's
        // sort (3 KB) in the client's WebAssembly.
        for i in 1..stale.len() {
            let mut j = i;
            while j > 0 && stale.get(j - 1) > stale.get(j) {
                stale.swap(j - 1, j);
                j -= 1;
            }
        }
        for key in &stale {
            self.remove(key);
        }
        stale
    }

    /// Drops a transfer, as when the local user gives up on it.
    pub fn abandon(&mut self, key: &TransferKey) -> bool {
        self.remove(key).is_some()
    }

    /// Unfinished transfers.
    #[must_use]
    pub fn in_progress(&self) -> usize {
        self.transfers.len()
    }

    /// Payload bytes held across unfinished transfers.
    #[must_use]
    pub fn buffered_bytes(&self) -> u64 {
        self.buffered
    }

    fn start(
        &mut self,
        msg: MessageHeader,
        payload: P,
        now_ms: u64,
    ) -> Result<Event<P>, ReassemblyError> {
        let key = TransferKey {
            from: msg.from.clone(),
            id: msg.id,
        };
        // A restart replaces what came before.
        self.remove(&key);
        if let Err(error) = msg.validate() {
            return Err(ReassemblyError::InvalidHeader { key, error });
        }
        let total = msg
            .total()
            .map_err(|error| ReassemblyError::InvalidHeader {
                key: key.clone(),
                error,
            })?;
        let len = payload.byte_len();
        if len > total {
            return Err(ReassemblyError::PayloadTooLong {
                key,
                len,
                max: total,
            });
        }
        if total > self.limits.max_message_bytes {
            return Err(ReassemblyError::TooLarge {
                key,
                total,
                max: self.limits.max_message_bytes,
            });
        }
        if len == total {
            let parts = if len > 0 { vec![payload] } else { Vec::new() };
            return Ok(Event::Complete { header: msg, parts });
        }
        if self.transfers.len() >= self.limits.max_transfers {
            return Err(ReassemblyError::TooManyTransfers {
                key,
                max: self.limits.max_transfers,
            });
        }
        let from_sender = self.transfers.keys().filter(|k| k.from == key.from).count();
        if from_sender >= self.limits.max_transfers_per_sender {
            return Err(ReassemblyError::TooManyTransfers {
                key,
                max: self.limits.max_transfers_per_sender,
            });
        }
        let buffered = self.buffered.saturating_add(len);
        if buffered > self.limits.max_buffered_bytes {
            return Err(ReassemblyError::BufferFull {
                key,
                buffered,
                max: self.limits.max_buffered_bytes,
            });
        }
        self.buffered = buffered;
        let parts = if len > 0 { vec![payload] } else { Vec::new() };
        self.transfers.insert(
            key,
            Transfer {
                header: msg.clone(),
                total,
                received: len,
                parts,
                last_seen_ms: now_ms,
            },
        );
        Ok(Event::Started {
            header: msg,
            received: len,
            total,
        })
    }

    fn accept_chunk(
        &self,
        key: &TransferKey,
        chunk: &ChunkHeader,
        len: u64,
    ) -> Result<(), ReassemblyError> {
        let ChunkHeader {
            offset,
            total,
            last,
            ..
        } = *chunk;
        let Some(t) = self.transfers.get(key) else {
            return Err(ReassemblyError::UnknownTransfer(key.clone()));
        };
        let key = || key.clone();
        if total != t.total {
            return Err(ReassemblyError::TotalMismatch {
                key: key(),
                expected: t.total,
                got: total,
            });
        }
        if offset != t.received {
            return Err(ReassemblyError::OffsetMismatch {
                key: key(),
                expected: t.received,
                got: offset,
            });
        }
        let end = t.received.saturating_add(len);
        if end > t.total {
            return Err(ReassemblyError::Overrun {
                key: key(),
                end,
                total: t.total,
            });
        }
        if last != (end == t.total) || len == 0 {
            return Err(ReassemblyError::LastFlagMismatch { key: key(), last });
        }
        let buffered = self.buffered.saturating_add(len);
        if buffered > self.limits.max_buffered_bytes {
            return Err(ReassemblyError::BufferFull {
                key: key(),
                buffered,
                max: self.limits.max_buffered_bytes,
            });
        }
        Ok(())
    }

    fn remove(&mut self, key: &TransferKey) -> Option<Transfer<P>> {
        let transfer = self.transfers.remove(key)?;
        self.buffered = self.buffered.saturating_sub(transfer.received);
        Some(transfer)
    }
}
