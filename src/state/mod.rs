//! Pure chat state: the message list, the connection status, and the reducer that changes them.
//!
//! Nothing in here touches the browser. Media (blob: URLs) appear only as [`Media`], an opaque
//! handle whose owner revokes the URL when the last clone is dropped — so evicting a message
//! from the list is what frees its images.

use std::rc::Rc;

use framechat_wire::{Attachment, MessageHeader, Uuid};
use yew::Reducible;

mod config;
mod format;
mod media;

pub use config::{Config, Keep, Transport};
pub use format::{category_label, clock, file_tag, fit_field, human_size, removed_labels};
pub use media::Media;

/// Messages kept in the list; older ones are dropped (and their media revoked).
pub const DEFAULT_MAX_ENTRIES: usize = 300;
/// Live media URLs kept; older messages keep their text but show "no longer available".
pub const DEFAULT_MAX_MEDIA: usize = 120;
/// Default cap on one attachment (bytes).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 100 * 1024 * 1024;

/// Connection badge states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conn {
    Connecting,
    Online,
    Reconnecting { attempt: u32 },
    Offline,
}

impl Conn {
    pub fn label(self) -> &'static str {
        match self {
            Conn::Connecting => "connecting",
            Conn::Online => "online",
            Conn::Reconnecting { .. } => "reconnecting",
            Conn::Offline => "offline",
        }
    }
}

/// Where a message is in its life.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Own message waiting for a connection.
    Queued,
    /// Own message: `sent` bytes of the attachment stream handed to the socket; `cancellable`
    /// until every frame is with the socket, which cannot call them back.
    Sending {
        sent: u64,
        total: u64,
        cancellable: bool,
    },
    /// Own message: all frames handed over (and the buffer drained or the echo seen).
    Sent,
    /// Incoming message still arriving.
    Receiving {
        received: u64,
        total: u64,
    },
    /// Incoming message complete.
    Received,
    Failed(String),
    Cancelled,
}

/// One attachment as the list shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct FileEntry {
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Category codes the sender's scrubber removed.
    pub removed: Vec<String>,
    pub media: Option<Media>,
    /// The media was dropped to bound memory.
    pub evicted: bool,
    /// The sender's ThumbHash of the picture (base64url), painted until the picture shows.
    pub thumb: Option<String>,
}

impl FileEntry {
    fn from_attachment(a: &Attachment, media: Option<Media>) -> Self {
        Self {
            name: a.name.clone(),
            mime: a.mime.clone(),
            size: a.size,
            width: a.width,
            height: a.height,
            removed: a.removed.clone(),
            media,
            evicted: false,
            thumb: a.thumb.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: Uuid,
    pub from: String,
    /// Unix milliseconds, as the sender said.
    pub ts: u64,
    pub text: String,
    pub mine: bool,
    pub files: Vec<FileEntry>,
    pub status: Status,
}

impl Message {
    /// Byte offset of each file in the message's attachment stream.
    pub fn file_offsets(&self) -> Vec<u64> {
        let mut at = 0u64;
        self.files
            .iter()
            .map(|f| {
                let start = at;
                at = at.saturating_add(f.size);
                start
            })
            .collect()
    }

    /// Bytes of file `index` that have been sent or received, from the stream progress.
    pub fn file_progress(&self, index: usize) -> Option<(u64, u64)> {
        let done = match self.status {
            Status::Sending { sent, .. } => sent,
            Status::Receiving { received, .. } => received,
            _ => return None,
        };
        let offsets = self.file_offsets();
        let start = *offsets.get(index)?;
        let size = self.files.get(index)?.size;
        Some((done.saturating_sub(start).min(size), size))
    }

    pub fn in_transfer(&self) -> bool {
        matches!(
            self.status,
            Status::Sending { .. } | Status::Receiving { .. } | Status::Queued
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Message(Rc<Message>),
    /// A small inline note, e.g. a frame that failed to decode.
    Notice {
        key: u64,
        text: String,
    },
}

/// Which entry an [`Entry`] is, whatever its state (progress, sent, failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKey {
    Message(Uuid),
    Notice(u64),
}

impl Entry {
    pub fn key(&self) -> EntryKey {
        match self {
            Entry::Message(m) => EntryKey::Message(m.id),
            Entry::Notice { key, .. } => EntryKey::Notice(*key),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChatState {
    pub conn: Conn,
    pub entries: Vec<Entry>,
    pub max_entries: usize,
    pub max_media: usize,
    next_notice: u64,
}

impl Default for ChatState {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_ENTRIES, DEFAULT_MAX_MEDIA)
    }
}

/// Every change to the chat is one of these; each incoming frame is its own action.
#[derive(Debug)]
pub enum Action {
    Conn(Conn),
    /// Own message composed; `media` per file (the scrubbed bytes the sender shows).
    Local {
        header: MessageHeader,
        media: Vec<Option<Media>>,
        queued: bool,
    },
    SendProgress {
        id: Uuid,
        sent: u64,
        total: u64,
        /// Every frame is with the socket: a cancel can no longer stop the message.
        all_handed: bool,
    },
    /// Own message fully handed over, or its echo came back.
    Sent {
        id: Uuid,
    },
    /// Own message waits again (connection lost before it was confirmed).
    Requeued {
        id: Uuid,
    },
    /// First frame of a chunked message (or its restart after the sender reconnected).
    Started {
        header: MessageHeader,
        received: u64,
        total: u64,
    },
    Progress {
        id: Uuid,
        received: u64,
        total: u64,
    },
    Complete {
        header: MessageHeader,
        media: Vec<Option<Media>>,
    },
    Failed {
        id: Uuid,
        reason: String,
    },
    Cancelled {
        id: Uuid,
    },
    Notice(String),
    /// Several actions applied in order as one change of state, so a burst of
    /// socket events costs one render (see [`coalesce`]).
    Batch(Vec<Action>),
}

/// Turns a burst of actions into at most one: progress updates that a later
/// update of the same message supersedes are dropped, the rest keep their order.
pub fn coalesce(actions: Vec<Action>) -> Option<Action> {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<Action> = actions
        .into_iter()
        .rev()
        .filter(|a| match a {
            Action::SendProgress { id, .. } => seen.insert((true, *id)),
            Action::Progress { id, .. } => seen.insert((false, *id)),
            _ => true,
        })
        .collect();
    kept.reverse();
    match kept.len() {
        0 => None,
        1 => kept.pop(),
        _ => Some(Action::Batch(kept)),
    }
}

impl ChatState {
    pub fn new(max_entries: usize, max_media: usize) -> Self {
        Self {
            conn: Conn::Connecting,
            entries: Vec::new(),
            max_entries,
            max_media,
            next_notice: 0,
        }
    }

    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Message(m) => Some(m.as_ref()),
            Entry::Notice { .. } => None,
        })
    }

    pub fn message(&self, id: Uuid) -> Option<&Message> {
        self.messages().find(|m| m.id == id)
    }

    /// Number of attachments currently holding a live media URL.
    pub fn live_media(&self) -> usize {
        self.messages()
            .flat_map(|m| m.files.iter())
            .filter(|f| f.media.is_some())
            .count()
    }

    fn position(&self, id: Uuid) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| matches!(e, Entry::Message(m) if m.id == id))
    }

    fn update(&mut self, id: Uuid, f: impl FnOnce(&mut Message)) {
        if let Some(Entry::Message(m)) = self.position(id).and_then(|i| self.entries.get_mut(i)) {
            f(Rc::make_mut(m));
        }
    }

    fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
        let excess = self.entries.len().saturating_sub(self.max_entries);
        if excess > 0 {
            self.entries.drain(..excess);
        }
        self.bound_media();
    }

    /// Keep at most `max_media` live URLs, newest first; older files lose their media.
    fn bound_media(&mut self) {
        let mut live = 0usize;
        let max = self.max_media;
        for entry in self.entries.iter_mut().rev() {
            let Entry::Message(m) = entry else { continue };
            let count = m.files.iter().filter(|f| f.media.is_some()).count();
            if count == 0 {
                continue;
            }
            if live.saturating_add(count) <= max {
                live += count;
                continue;
            }
            let m = Rc::make_mut(m);
            for f in m.files.iter_mut().filter(|f| f.media.is_some()) {
                if live < max {
                    live += 1;
                } else {
                    f.media = None;
                    f.evicted = true;
                }
            }
        }
    }

    fn notice(&mut self, text: String) {
        let key = self.next_notice;
        self.next_notice = self.next_notice.wrapping_add(1);
        self.push(Entry::Notice { key, text });
    }

    /// Apply one action in place.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Batch(actions) => {
                for a in actions {
                    self.apply(a);
                }
            }
            Action::Conn(c) => self.conn = c,
            Action::Local {
                header,
                media,
                queued,
            } => {
                if self.position(header.id).is_some() {
                    return;
                }
                let total: u64 = header.files.iter().map(|f| f.size).sum();
                let status = if queued {
                    Status::Queued
                } else {
                    Status::Sending {
                        sent: 0,
                        total,
                        cancellable: true,
                    }
                };
                self.push(Entry::Message(Rc::new(message(
                    header, media, true, status,
                ))));
            }
            Action::SendProgress {
                id,
                sent,
                total,
                all_handed,
            } => self.update(id, |m| {
                if m.mine && matches!(m.status, Status::Queued | Status::Sending { .. }) {
                    m.status = Status::Sending {
                        sent,
                        total,
                        cancellable: !all_handed,
                    };
                }
            }),
            Action::Sent { id } => self.update(id, |m| {
                if m.mine && matches!(m.status, Status::Queued | Status::Sending { .. }) {
                    m.status = Status::Sent;
                }
            }),
            Action::Requeued { id } => self.update(id, |m| {
                if m.mine && !matches!(m.status, Status::Cancelled | Status::Failed(_)) {
                    m.status = Status::Queued;
                }
            }),
            Action::Started {
                header,
                received,
                total,
            } => match self.position(header.id) {
                // A restart (the sender reconnected and sends again from the start).
                Some(_) => self.update(header.id, |m| {
                    if !m.mine && matches!(m.status, Status::Receiving { .. } | Status::Failed(_)) {
                        m.status = Status::Receiving { received, total };
                    }
                }),
                None => {
                    let media = vec![None; header.files.len()];
                    let status = Status::Receiving { received, total };
                    self.push(Entry::Message(Rc::new(message(
                        header, media, false, status,
                    ))));
                }
            },
            Action::Progress {
                id,
                received,
                total,
            } => self.update(id, |m| {
                if matches!(m.status, Status::Receiving { .. }) {
                    m.status = Status::Receiving { received, total };
                }
            }),
            Action::Complete { header, media } => match self.position(header.id) {
                Some(_) => {
                    self.update(header.id, |m| {
                        if !m.mine && !matches!(m.status, Status::Received) {
                            *m = message(header, media, false, Status::Received);
                        }
                    });
                    self.bound_media();
                }
                None => {
                    self.push(Entry::Message(Rc::new(message(
                        header,
                        media,
                        false,
                        Status::Received,
                    ))));
                }
            },
            Action::Failed { id, reason } => self.update(id, |m| {
                if m.in_transfer() {
                    m.status = Status::Failed(reason);
                }
            }),
            Action::Cancelled { id } => self.update(id, |m| {
                if m.mine {
                    if m.in_transfer() {
                        m.status = Status::Cancelled;
                    }
                } else if m.in_transfer() {
                    m.status = Status::Failed("cancelled by the sender".into());
                }
            }),
            Action::Notice(text) => self.notice(text),
        }
    }
}

fn message(
    header: MessageHeader,
    media: Vec<Option<Media>>,
    mine: bool,
    status: Status,
) -> Message {
    let mut media = media.into_iter();
    let files = header
        .files
        .iter()
        .map(|a| FileEntry::from_attachment(a, media.next().flatten()))
        .collect();
    Message {
        id: header.id,
        from: header.from,
        ts: header.ts,
        text: header.text,
        mine,
        files,
        status,
    }
}

impl Reducible for ChatState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = Rc::unwrap_or_clone(self);
        next.apply(action);
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests;
