//! The inbox: received frames become chat actions. Reassembly of chunked messages
//! (`framechat_wire::Reassembler`), dedupe of messages already shown (the relay's history
//! replay, a sender's resend), one notice per stray transfer, and an own message from before
//! a reload shown as own once the relay replays it whole.
//!
//! Pure: payloads are any [`Part`] (views of JS memory in the browser, bytes in the tests),
//! turned into media by the function the inbox is made with; time is passed in.

use std::collections::HashSet;

use framechat_wire::{Attachment, Event, Header, Limits, Part, Reassembler, ReassemblyError, Uuid};

use super::known::KnownIds;
use crate::state::{Action, Media};

/// Turns a complete message's parts into one media per attachment.
pub type ToMedia<P> = fn(&[Attachment], &[P]) -> Vec<Option<Media>>;

pub struct Inbox<P: Part> {
    reasm: Reassembler<P>,
    /// Completed incoming messages.
    done: KnownIds,
    /// Incoming transfers announced to the chat (so a failure marks an existing message).
    active: HashSet<Uuid>,
    /// Ids already given a notice (one per stray transfer).
    noticed: KnownIds,
    /// Own messages sent before this page (re)loaded.
    earlier_own: HashSet<Uuid>,
    to_media: ToMedia<P>,
}

impl<P: Part> Inbox<P> {
    pub fn new(limits: Limits, earlier_own: HashSet<Uuid>, to_media: ToMedia<P>) -> Self {
        Self {
            reasm: Reassembler::new(limits),
            done: KnownIds::default(),
            active: HashSet::new(),
            noticed: KnownIds::default(),
            earlier_own,
            to_media,
        }
    }

    /// Whether the message `id` was received whole already.
    pub fn is_done(&self, id: &Uuid) -> bool {
        self.done.contains(id)
    }

    /// Message `id` is shown already (kept in the browser): a replay of it is skipped.
    pub fn mark_done(&mut self, id: Uuid) {
        self.done.insert(id);
    }

    /// One received frame of someone else's message, at `now` (unix ms).
    pub fn on_frame(&mut self, header: Header, payload: P, now: u64, actions: &mut Vec<Action>) {
        let from = match &header {
            Header::Msg(m) => m.from.clone(),
            Header::Chunk(c) => c.from.clone(),
            Header::Cancel(c) => c.from.clone(),
        };
        match self.reasm.push(header, payload, now) {
            // An own message from before a reload shows up once complete, as own (below).
            Ok(Event::Started { header, .. }) if self.earlier_own.contains(&header.id) => {}
            Ok(Event::Started {
                header,
                received,
                total,
            }) => {
                self.active.insert(header.id);
                actions.push(Action::Started {
                    header,
                    received,
                    total,
                });
            }
            Ok(Event::Progress {
                key,
                received,
                total,
            }) => actions.push(Action::Progress {
                id: key.id,
                received,
                total,
            }),
            Ok(Event::Complete { header, parts }) => {
                self.active.remove(&header.id);
                self.done.insert(header.id);
                let media = (self.to_media)(&header.files, &parts);
                if self.earlier_own.contains(&header.id) {
                    let id = header.id;
                    actions.push(Action::Local {
                        header,
                        media,
                        queued: false,
                    });
                    actions.push(Action::Sent { id });
                } else {
                    actions.push(Action::Complete { header, media });
                }
            }
            Ok(Event::Cancelled { key }) => {
                self.active.remove(&key.id);
                actions.push(Action::Cancelled { id: key.id });
            }
            // Chunks of a message never seen (it started before this page joined, or the
            // relay's history kept only its tail) give one notice for the whole message.
            Err(e) => match e.key().or(match &e {
                ReassemblyError::UnknownTransfer(key) => Some(key),
                _ => None,
            }) {
                Some(key) if self.active.remove(&key.id) => actions.push(Action::Failed {
                    id: key.id,
                    reason: e.to_string(),
                }),
                Some(key) => {
                    if !self.noticed.contains(&key.id) {
                        self.noticed.insert(key.id);
                        actions.push(Action::Notice(format!(
                            "ignored part of a message from {from}: {e}"
                        )));
                    }
                }
                None => actions.push(Action::Notice(format!("ignored a frame: {e}"))),
            },
        }
    }

    /// Transfers with no frame for too long fail.
    pub fn expire(&mut self, now: u64, actions: &mut Vec<Action>) {
        for key in self.reasm.expire(now) {
            if self.active.remove(&key.id) {
                actions.push(Action::Failed {
                    id: key.id,
                    reason: "the transfer stalled".into(),
                });
            }
        }
    }
}
