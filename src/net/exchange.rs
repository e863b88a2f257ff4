//! [`Exchange`]: the outbox and the inbox of one connection, and the routing of each received
//! frame to the one it belongs to (an echo of an own message, a message already shown, or
//! someone else's frame).

use framechat_wire::{Header, Part};

use super::inbox::Inbox;
use super::outbox::Outbox;
use crate::state::Action;

pub struct Exchange<B, P: Part> {
    pub outbox: Outbox<B>,
    pub inbox: Inbox<P>,
}

impl<B, P: Part> Exchange<B, P> {
    pub fn new(inbox: Inbox<P>) -> Self {
        Self {
            outbox: Outbox::default(),
            inbox,
        }
    }

    /// One received frame, decoded, at `now` (unix ms).
    pub fn on_frame(&mut self, header: Header, payload: P, now: u64, actions: &mut Vec<Action>) {
        let id = header.id();
        if self.outbox.is_own(&id) {
            let ends = match &header {
                Header::Msg(m) => payload.byte_len() >= m.files.iter().map(|f| f.size).sum(),
                Header::Chunk(c) => c.last,
                Header::Cancel(_) => false,
            };
            self.outbox.on_echo(&header, ends, actions);
        } else if !self.inbox.is_done(&id) {
            self.inbox.on_frame(header, payload, now, actions);
        }
    }
}
