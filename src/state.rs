//! Pure chat state: the message list, the connection status, and the reducer that changes them.
//!
//! Nothing in here touches the browser. Media (blob: URLs) appear only as [`Media`], an opaque
//! handle whose owner revokes the URL when the last clone is dropped — so evicting a message
//! from the list is what frees its images.

use std::any::Any;
use std::cell::LazyCell;
use std::fmt;
use std::rc::Rc;

use framechat_wire::{Attachment, MessageHeader, Uuid};
use yew::Reducible;

/// Messages kept in the list; older ones are dropped (and their media revoked).
pub const DEFAULT_MAX_ENTRIES: usize = 300;
/// Live media URLs kept; older messages keep their text but show "no longer available".
pub const DEFAULT_MAX_MEDIA: usize = 120;
/// Default cap on one attachment (bytes).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 100 * 1024 * 1024;

/// How the client finds its server and who it is; built by `embed` from the page or options.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Full WebSocket URL of the room.
    pub ws_url: String,
    pub room: String,
    /// Display name, if already known (option, `?name=` or localStorage).
    pub name: Option<String>,
    /// Upper bound of one whole frame, bytes.
    pub frame_budget: usize,
    /// Upper bound of one attachment, bytes.
    pub max_file_size: u64,
    /// Own the socket in a dedicated worker when the page allows (the default).
    pub socket_worker: bool,
}

/// A blob: URL and whatever keeps it alive (revoked when the last clone drops).
///
/// The URL may be made when it is first asked for ([`Media::lazy`]): a picture's preview
/// costs the browser a few round trips to make, which a picture sent as soon as it is
/// ready should not wait for.
#[derive(Clone)]
pub struct Media {
    /// true: a sniffed image format the browser renders (shown as `<img>`); false: download link.
    pub inline: bool,
    /// Shared by clones.
    url: Rc<LazyCell<Made, MakeUrl>>,
}

/// A URL and what keeps it alive.
type Made = (String, Rc<dyn Any>);
type MakeUrl = Box<dyn FnOnce() -> Made>;

impl Media {
    pub fn new(url: String, inline: bool, owner: Rc<dyn Any>) -> Self {
        Self::lazy(inline, move || (url, owner))
    }

    /// A media whose URL `make` makes when [`Media::url`] is first called, on any clone.
    pub fn lazy(inline: bool, make: impl FnOnce() -> Made + 'static) -> Self {
        Self {
            inline,
            url: Rc::new(LazyCell::new(Box::new(make))),
        }
    }

    /// The URL, made now if it was not yet.
    pub fn url(&self) -> &str {
        &LazyCell::force(&self.url).0
    }
}

/// Clones are equal; media made apart are not (each blob: URL is unique).
impl PartialEq for Media {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.url, &other.url) && self.inline == other.inline
    }
}

impl fmt::Debug for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: asking for it would make it.
        f.debug_struct("Media")
            .field("inline", &self.inline)
            .finish_non_exhaustive()
    }
}

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

/// Human-readable byte size: "812 B", "4.2 KB", "11.9 MB".
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let name = UNITS.get(unit).copied().unwrap_or("TB");
    if value < 10.0 {
        format!("{value:.1} {name}")
    } else {
        format!("{value:.0} {name}")
    }
}

/// "14:05" from unix milliseconds and the local offset in minutes (as JS `getTimezoneOffset`, negated).
pub fn clock(ts_ms: u64, offset_minutes: i64) -> String {
    let minutes = (ts_ms / 60_000) as i64 + offset_minutes;
    let of_day = minutes.rem_euclid(24 * 60);
    format!("{:02}:{:02}", of_day / 60, of_day % 60)
}

/// Human text for a scrubber category code (as sent in `Attachment::removed`).
pub fn category_label(code: &str) -> &'static str {
    framechat_scrub::Category::ALL
        .iter()
        .find(|c| c.code() == code)
        .map_or("other metadata", |c| c.label())
}

/// Distinct labels for a list of category codes, in first-seen order.
pub fn removed_labels<'a>(codes: impl IntoIterator<Item = &'a String>) -> Vec<&'static str> {
    let mut labels: Vec<&'static str> = Vec::new();
    for code in codes {
        let label = category_label(code);
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    labels
}

/// `s` without control characters, cut at a char boundary to at most `max` bytes (the
/// header's field limits); `fallback` if nothing is left.
pub fn fit_field(s: &str, max: usize, fallback: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

/// A short tag for a file shown as a download ("PDF", "ZIP", "FILE").
pub fn file_tag(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((_, ext))
            if (1..=4).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            ext.to_ascii_uppercase()
        }
        _ => "FILE".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn id(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn att(name: &str, size: u64) -> Attachment {
        Attachment {
            name: name.into(),
            mime: "image/jpeg".into(),
            size,
            width: Some(4),
            height: Some(3),
            removed: vec!["location".into()],
            thumb: None,
        }
    }

    fn header(n: u8, files: Vec<Attachment>) -> MessageHeader {
        MessageHeader {
            id: id(n),
            from: "ann".into(),
            ts: 1_700_000_000_000,
            text: format!("m{n}"),
            files,
        }
    }

    /// Media whose owner counts drops, standing in for an ObjectUrl.
    struct Counted(Rc<Cell<u32>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    fn media(n: u32, drops: &Rc<Cell<u32>>) -> Media {
        Media::new(
            format!("blob:test/{n}"),
            true,
            Rc::new(Counted(drops.clone())),
        )
    }

    fn reduce(state: Rc<ChatState>, action: Action) -> Rc<ChatState> {
        state.reduce(action)
    }

    #[test]
    fn coalesce_keeps_the_last_progress_per_message_and_the_order_of_the_rest() {
        let actions = vec![
            Action::SendProgress {
                id: id(1),
                sent: 1,
                total: 9,
                all_handed: false,
            },
            Action::Progress {
                id: id(1),
                received: 2,
                total: 9,
            },
            Action::SendProgress {
                id: id(2),
                sent: 5,
                total: 9,
                all_handed: false,
            },
            Action::Notice("n".into()),
            Action::SendProgress {
                id: id(1),
                sent: 3,
                total: 9,
                all_handed: false,
            },
            Action::Sent { id: id(2) },
            Action::SendProgress {
                id: id(1),
                sent: 9,
                total: 9,
                all_handed: true,
            },
        ];
        let Some(Action::Batch(kept)) = coalesce(actions) else {
            panic!("a batch");
        };
        let shape: Vec<String> = kept
            .iter()
            .map(|a| match a {
                Action::SendProgress { id, sent, .. } => {
                    format!("send {} {sent}", id.as_bytes()[0])
                }
                Action::Progress { id, received, .. } => {
                    format!("recv {} {received}", id.as_bytes()[0])
                }
                Action::Notice(n) => format!("notice {n}"),
                Action::Sent { id } => format!("sent {}", id.as_bytes()[0]),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            shape,
            ["recv 1 2", "send 2 5", "notice n", "sent 2", "send 1 9"]
        );
        assert!(coalesce(Vec::new()).is_none());
        assert!(matches!(
            coalesce(vec![Action::Sent { id: id(3) }]),
            Some(Action::Sent { .. })
        ));
    }

    #[test]
    fn a_batch_is_the_same_as_its_actions_one_by_one() {
        let actions = || {
            vec![
                Action::Local {
                    header: header(1, vec![att("a.jpg", 10)]),
                    media: vec![None],
                    queued: false,
                },
                Action::SendProgress {
                    id: id(1),
                    sent: 4,
                    total: 10,
                    all_handed: false,
                },
                Action::Complete {
                    header: header(2, vec![]),
                    media: vec![],
                },
                Action::SendProgress {
                    id: id(1),
                    sent: 10,
                    total: 10,
                    all_handed: true,
                },
                Action::Sent { id: id(1) },
            ]
        };
        let mut one_by_one = ChatState::default();
        for a in actions() {
            one_by_one.apply(a);
        }
        let mut batched = ChatState::default();
        batched.apply(Action::Batch(actions()));
        let view = |s: &ChatState| -> Vec<String> {
            s.messages()
                .map(|m| format!("{:?} {:?}", m.id, m.status))
                .collect()
        };
        assert_eq!(view(&batched), view(&one_by_one));
        assert_eq!(batched.messages().count(), 2);
    }

    #[test]
    fn text_message_arrives_once_even_when_repeated() {
        let mut s = ChatState::default();
        s.apply(Action::Complete {
            header: header(1, vec![]),
            media: vec![],
        });
        s.apply(Action::Complete {
            header: header(1, vec![]),
            media: vec![],
        });
        assert_eq!(s.messages().count(), 1);
        assert_eq!(
            s.message(id(1)).map(|m| m.status.clone()),
            Some(Status::Received)
        );
    }

    #[test]
    fn own_echo_does_not_duplicate_or_overwrite() {
        let mut s = ChatState::default();
        s.apply(Action::Local {
            header: header(1, vec![]),
            media: vec![],
            queued: false,
        });
        s.apply(Action::Complete {
            header: header(1, vec![]),
            media: vec![],
        });
        s.apply(Action::Started {
            header: header(1, vec![att("a.jpg", 10)]),
            received: 1,
            total: 10,
        });
        assert_eq!(s.messages().count(), 1);
        let m = s.message(id(1)).cloned();
        assert!(m.as_ref().is_some_and(|m| m.mine));
        assert_eq!(
            m.map(|m| m.status),
            Some(Status::Sending {
                sent: 0,
                total: 0,
                cancellable: true
            })
        );
    }

    #[test]
    fn chunked_message_progresses_then_completes() {
        let drops = Rc::new(Cell::new(0));
        let mut s = ChatState::default();
        let h = header(2, vec![att("a.jpg", 100), att("b.jpg", 50)]);
        s.apply(Action::Started {
            header: h.clone(),
            received: 40,
            total: 150,
        });
        s.apply(Action::Progress {
            id: id(2),
            received: 120,
            total: 150,
        });
        let m = s.message(id(2)).cloned();
        assert_eq!(
            m.as_ref().and_then(|m| m.file_progress(0)),
            Some((100, 100))
        );
        assert_eq!(m.as_ref().and_then(|m| m.file_progress(1)), Some((20, 50)));
        s.apply(Action::Complete {
            header: h,
            media: vec![Some(media(1, &drops)), Some(media(2, &drops))],
        });
        let m = s.message(id(2)).cloned();
        assert_eq!(m.as_ref().map(|m| m.status.clone()), Some(Status::Received));
        assert_eq!(s.live_media(), 2);
        assert_eq!(s.messages().count(), 1);
    }

    #[test]
    fn each_frame_is_its_own_action_and_neighbours_survive() {
        let mut s = ChatState::default();
        s.apply(Action::Started {
            header: header(1, vec![att("a", 10)]),
            received: 0,
            total: 10,
        });
        s.apply(Action::Complete {
            header: header(2, vec![]),
            media: vec![],
        });
        s.apply(Action::Notice("a frame could not be decoded".into()));
        s.apply(Action::Progress {
            id: id(1),
            received: 5,
            total: 10,
        });
        assert_eq!(s.entries.len(), 3);
        assert_eq!(s.message(id(2)).map(|m| m.text.as_str()), Some("m2"));
        assert_eq!(
            s.message(id(1)).map(|m| m.status.clone()),
            Some(Status::Receiving {
                received: 5,
                total: 10
            })
        );
    }

    #[test]
    fn restart_after_reconnect_resets_progress_without_duplicate() {
        let mut s = ChatState::default();
        let h = header(3, vec![att("a", 10)]);
        s.apply(Action::Started {
            header: h.clone(),
            received: 0,
            total: 10,
        });
        s.apply(Action::Progress {
            id: id(3),
            received: 8,
            total: 10,
        });
        s.apply(Action::Started {
            header: h,
            received: 2,
            total: 10,
        });
        assert_eq!(s.messages().count(), 1);
        assert_eq!(
            s.message(id(3)).map(|m| m.status.clone()),
            Some(Status::Receiving {
                received: 2,
                total: 10
            })
        );
    }

    #[test]
    fn failure_and_cancel_mark_only_that_message() {
        let mut s = ChatState::default();
        s.apply(Action::Started {
            header: header(1, vec![att("a", 10)]),
            received: 0,
            total: 10,
        });
        s.apply(Action::Started {
            header: header(2, vec![att("b", 10)]),
            received: 0,
            total: 10,
        });
        s.apply(Action::Complete {
            header: header(3, vec![]),
            media: vec![],
        });
        s.apply(Action::Failed {
            id: id(1),
            reason: "stalled".into(),
        });
        s.apply(Action::Cancelled { id: id(2) });
        s.apply(Action::Failed {
            id: id(3),
            reason: "late".into(),
        });
        assert_eq!(
            s.message(id(1)).map(|m| m.status.clone()),
            Some(Status::Failed("stalled".into()))
        );
        assert_eq!(
            s.message(id(2)).map(|m| m.status.clone()),
            Some(Status::Failed("cancelled by the sender".into()))
        );
        assert_eq!(
            s.message(id(3)).map(|m| m.status.clone()),
            Some(Status::Received)
        );
    }

    #[test]
    fn own_message_lifecycle() {
        let mut s = ChatState::default();
        s.apply(Action::Local {
            header: header(1, vec![att("a", 100)]),
            media: vec![None],
            queued: true,
        });
        assert_eq!(
            s.message(id(1)).map(|m| m.status.clone()),
            Some(Status::Queued)
        );
        s.apply(Action::SendProgress {
            id: id(1),
            sent: 60,
            total: 100,
            all_handed: false,
        });
        s.apply(Action::Requeued { id: id(1) });
        assert_eq!(
            s.message(id(1)).map(|m| m.status.clone()),
            Some(Status::Queued)
        );
        s.apply(Action::SendProgress {
            id: id(1),
            sent: 40,
            total: 100,
            all_handed: false,
        });
        assert_eq!(
            s.message(id(1)).map(|m| m.status.clone()),
            Some(Status::Sending {
                sent: 40,
                total: 100,
                cancellable: true
            })
        );
        // Every frame with the socket, the rest of it still in its buffer: sending, for good.
        s.apply(Action::SendProgress {
            id: id(1),
            sent: 70,
            total: 100,
            all_handed: true,
        });
        assert_eq!(
            s.message(id(1)).map(|m| m.status.clone()),
            Some(Status::Sending {
                sent: 70,
                total: 100,
                cancellable: false
            })
        );
        s.apply(Action::SendProgress {
            id: id(1),
            sent: 100,
            total: 100,
            all_handed: true,
        });
        s.apply(Action::Sent { id: id(1) });
        s.apply(Action::Cancelled { id: id(1) });
        assert_eq!(
            s.message(id(1)).map(|m| m.status.clone()),
            Some(Status::Sent)
        );
    }

    #[test]
    fn own_cancel_while_sending() {
        let mut s = ChatState::default();
        s.apply(Action::Local {
            header: header(1, vec![att("a", 100)]),
            media: vec![None],
            queued: false,
        });
        s.apply(Action::SendProgress {
            id: id(1),
            sent: 30,
            total: 100,
            all_handed: false,
        });
        s.apply(Action::Cancelled { id: id(1) });
        s.apply(Action::Sent { id: id(1) });
        assert_eq!(
            s.message(id(1)).map(|m| m.status.clone()),
            Some(Status::Cancelled)
        );
    }

    #[test]
    fn list_is_bounded_and_evicted_media_is_released() {
        let drops = Rc::new(Cell::new(0));
        let mut state = Rc::new(ChatState::new(10, 4));
        for n in 0..30u8 {
            let h = header(n, vec![att("a.jpg", 1)]);
            state = reduce(
                state,
                Action::Complete {
                    header: h,
                    media: vec![Some(media(u32::from(n), &drops))],
                },
            );
        }
        assert_eq!(state.messages().count(), 10);
        assert_eq!(state.live_media(), 4);
        // 30 created, 4 alive: the other 26 owners were dropped (their URLs revoked).
        assert_eq!(drops.get(), 26);
        let newest: Vec<bool> = state
            .messages()
            .map(|m| m.files.iter().all(|f| f.media.is_some()))
            .collect();
        assert_eq!(
            newest,
            [
                false, false, false, false, false, false, true, true, true, true
            ]
        );
        assert!(
            state
                .messages()
                .take(6)
                .all(|m| m.files.iter().all(|f| f.evicted))
        );
        drop(state);
        assert_eq!(drops.get(), 30);
    }

    #[test]
    fn notices_are_bounded_too() {
        let mut s = ChatState::new(5, 5);
        for n in 0..8 {
            s.apply(Action::Notice(format!("bad frame {n}")));
        }
        assert_eq!(s.entries.len(), 5);
        assert!(
            matches!(s.entries.first(), Some(Entry::Notice { text, .. }) if text == "bad frame 3")
        );
    }

    #[test]
    fn conn_badge() {
        let mut s = ChatState::default();
        assert_eq!(s.conn.label(), "connecting");
        s.apply(Action::Conn(Conn::Reconnecting { attempt: 2 }));
        assert_eq!(s.conn.label(), "reconnecting");
    }

    #[test]
    fn helpers() {
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(4300), "4.2 KB");
        assert_eq!(human_size(12_500_000), "12 MB");
        assert_eq!(clock(0, 0), "00:00");
        assert_eq!(clock(3_600_000 * 13 + 60_000 * 5, 60), "14:05");
        assert_eq!(clock(0, -30), "23:30");
        assert_eq!(
            category_label("device"),
            "camera make, model and serial number"
        );
        assert_eq!(category_label("no-such-code"), "other metadata");
        let codes = [
            "location".to_string(),
            "other".to_string(),
            "xmp".to_string(),
            "other".to_string(),
        ];
        assert_eq!(
            removed_labels(&codes),
            ["location", "other metadata", "XMP metadata"]
        );
        assert_eq!(file_tag("report.pdf"), "PDF");
        assert_eq!(file_tag("archive.tar.gz"), "GZ");
        assert_eq!(file_tag("README"), "FILE");
        assert_eq!(fit_field("  ann\u{7}  ", 64, "x"), "ann");
        assert_eq!(fit_field("ééé", 5, "x"), "éé");
        assert_eq!(fit_field("\n", 5, "x"), "x");
    }
}
