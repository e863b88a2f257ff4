//! The outbox: own messages on their way to the socket, and the order they go in.
//!
//! Text-only messages and cancels sit in the `urgent` queue and always go first; messages with
//! attachments sit in `bulk`, and their frames are handed over only while the socket buffers
//! less than the [`Drain`] allowance. A message is confirmed once the socket buffer drained
//! after its last frame, or its echo came back; unconfirmed and half-sent messages are re-sent
//! from their first frame after a reconnect, with the same id (receivers dedupe and restart).
//!
//! Delivery is a separate question: a message is *delivered* once the relay shows it has it
//! — its echo of the message's last frame, or framechat-relay's `pos` for a message whose
//! echo this page did not see (the socket worker drops a private room's own echoes), in the
//! order the messages' last frames were handed over ([`Outbox::on_pos`]). Only then is it
//! no longer kept as pending in the browser ([`Outbox::take_delivered`]). A link that can
//! tell neither (a host's own connection, Socket.IO) counts a drained buffer as delivery.
//! Until it is delivered, a confirmed message is kept: should the connection be lost first
//! (the relay went down with the message in its socket), it is re-sent like an unconfirmed
//! one, in order, and a relay's replay of it (an echo) drops the copy still queued.
//!
//! Pure: frames go through a [`Sink`] (the socket in the browser, a recorder in the tests),
//! and time is passed in.

use std::collections::VecDeque;

use framechat_wire::{CancelHeader, Header, PlannedFrame, Uuid};

use super::known::KnownIds;
use super::pacing::Drain;
use crate::error::AppError;
use crate::state::Action;

/// Pause before the outbox resumes after a reconnect: the other clients of the room lost the
/// same relay and need a moment to come back, or they would miss the start of a re-sent
/// transfer (a relay's history replay covers only short messages).
pub const RESUME_GRACE_MS: u64 = 1_500;

/// Where the outbox's frames go.
pub trait Sink<B> {
    /// Bytes handed over that have not left yet (the socket's `bufferedAmount`, and whatever
    /// is on its way to it).
    fn buffered(&self) -> u32;
    /// Hands over one planned frame of a message whose attachments are `bodies` (of `sizes`
    /// bytes); returns the frame's length.
    fn send_frame(
        &mut self,
        frame: &PlannedFrame,
        bodies: &[B],
        sizes: &[u64],
    ) -> Result<u64, AppError>;
    /// Hands over a cancel frame; returns its length.
    fn send_cancel(&mut self, cancel: &CancelHeader) -> Result<u64, AppError>;
}

/// A message in the outbox: its planned frames, its attachments' bodies, and how far it got.
#[derive(Debug)]
pub struct OutMsg<B> {
    id: Uuid,
    from: String,
    frames: Vec<PlannedFrame>,
    bodies: Vec<B>,
    sizes: Vec<u64>,
    total: u64,
    /// Index of the next frame to hand to the socket.
    next: usize,
    /// Some frame of it went out at some point (a cancel must then be announced).
    started: bool,
}

impl<B> OutMsg<B> {
    /// A message of `frames` (from `framechat_wire::plan`) with one body per attachment.
    pub fn new(id: Uuid, from: String, frames: Vec<PlannedFrame>, bodies: Vec<(B, u64)>) -> Self {
        let (bodies, sizes): (Vec<B>, Vec<u64>) = bodies.into_iter().unzip();
        let total = sizes.iter().sum();
        Self {
            id,
            from,
            frames,
            bodies,
            sizes,
            total,
            next: 0,
            started: false,
        }
    }

    fn cancel_header(&self) -> CancelHeader {
        CancelHeader {
            id: self.id,
            from: self.from.clone(),
        }
    }

    /// Bytes of the stream in frames handed over so far.
    fn handed(&self) -> u64 {
        self.next
            .checked_sub(1)
            .and_then(|i| self.frames.get(i))
            .map_or(0, |f| f.range.end)
    }
}

#[derive(Debug)]
enum Urgent<B> {
    Text(OutMsg<B>),
    Cancel(CancelHeader),
}

/// What the pump wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pump {
    /// Nothing to do until something changes (a send, a reconnect).
    Idle,
    /// Look again in this many milliseconds (the buffer is draining, or the resume grace runs).
    RetryIn(u32),
}

/// Own messages, queued, in flight and waiting for confirmation.
#[derive(Debug)]
pub struct Outbox<B> {
    urgent: VecDeque<Urgent<B>>,
    bulk: VecDeque<OutMsg<B>>,
    unconfirmed: Vec<OutMsg<B>>,
    /// Confirmed (all drained) but not yet delivered, oldest first: re-sent after a lost
    /// connection. Always empty when a drained buffer counts as delivery.
    undelivered: Vec<OutMsg<B>>,
    own: KnownIds,
    drain: Drain,
    /// After a reconnect the outbox resumes only from this time (unix ms).
    resume_at: u64,
    /// Confirmed since last asked ([`Outbox::take_confirmed`]).
    confirmed: Vec<Uuid>,
    /// Messages whose last frame was handed over, oldest first, waiting for the relay's
    /// echo or `pos`.
    acks: VecDeque<Uuid>,
    /// Delivered since last asked ([`Outbox::take_delivered`]).
    delivered: Vec<Uuid>,
    /// A drained buffer counts as delivery (a link whose server neither echoes nor numbers
    /// messages).
    pub drain_delivers: bool,
}

impl<B> Default for Outbox<B> {
    fn default() -> Self {
        Self {
            urgent: VecDeque::new(),
            bulk: VecDeque::new(),
            unconfirmed: Vec::new(),
            undelivered: Vec::new(),
            own: KnownIds::default(),
            drain: Drain::default(),
            resume_at: 0,
            confirmed: Vec::new(),
            acks: VecDeque::new(),
            delivered: Vec::new(),
            drain_delivers: false,
        }
    }
}

impl<B> Outbox<B> {
    /// Queues a message: a text-only one jumps ahead of every attachment's frames.
    pub fn push(&mut self, msg: OutMsg<B>) {
        self.own.insert(msg.id);
        if msg.bodies.is_empty() {
            self.urgent.push_back(Urgent::Text(msg));
        } else {
            self.bulk.push_back(msg);
        }
    }

    /// Whether `id` is a message this outbox sent.
    pub fn is_own(&self, id: &Uuid) -> bool {
        self.own.contains(id)
    }

    /// Stops sending `id`; receivers that saw part of it get a `cancel` frame. Returns
    /// whether the pump has something new to do.
    pub fn cancel(&mut self, id: Uuid, actions: &mut Vec<Action>) -> bool {
        let mut found = None;
        if let Some(pos) = self.bulk.iter().position(|m| m.id == id) {
            found = self.bulk.remove(pos);
        } else if let Some(pos) = self
            .urgent
            .iter()
            .position(|u| matches!(u, Urgent::Text(m) if m.id == id))
        {
            if let Some(Urgent::Text(m)) = self.urgent.remove(pos) {
                found = Some(m);
            }
        }
        match found {
            Some(m) => {
                if m.started {
                    self.urgent.push_back(Urgent::Cancel(m.cancel_header()));
                }
                actions.push(Action::Cancelled { id });
                true
            }
            // Every frame is with the socket already, which cannot call them back (the
            // message's Cancel button is gone by the next render).
            None if self.unconfirmed.iter().any(|m| m.id == id) => {
                actions.push(Action::Notice(
                    "too late to cancel: the message is already on its way".into(),
                ));
                false
            }
            None => false,
        }
    }

    /// The link came back after being lost: resume after [`RESUME_GRACE_MS`].
    pub fn reconnected(&mut self, now: u64) {
        self.resume_at = now.saturating_add(RESUME_GRACE_MS);
    }

    /// After a lost connection: everything not confirmed goes back, in order, to be re-sent
    /// whole.
    pub fn requeue(&mut self, actions: &mut Vec<Action>) {
        // Positions of the lost connection mean nothing to the next one.
        self.acks.clear();
        let mut texts = Vec::new();
        let mut files = Vec::new();
        let unconfirmed = std::mem::take(&mut self.unconfirmed);
        for mut m in self.undelivered.drain(..).chain(unconfirmed) {
            m.next = 0;
            if m.bodies.is_empty() {
                texts.push(m);
            } else {
                files.push(m);
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
        let texts = self.urgent.iter().filter_map(|u| match u {
            Urgent::Text(m) => Some(m.id),
            Urgent::Cancel(_) => None,
        });
        actions.extend(
            texts
                .chain(self.bulk.iter().map(|m| m.id))
                .map(|id| Action::Requeued { id }),
        );
    }

    /// Hands `sink` what the queues and its buffer allow, at `now` (unix ms) and `mono` (a
    /// monotonic clock, ms). A message that cannot be framed fails on its own; the queue goes
    /// on.
    pub fn pump(
        &mut self,
        sink: &mut impl Sink<B>,
        now: u64,
        mono: f64,
        actions: &mut Vec<Action>,
    ) -> Pump {
        if now < self.resume_at && !(self.urgent.is_empty() && self.bulk.is_empty()) {
            let wait = u32::try_from(self.resume_at - now).unwrap_or(u32::MAX);
            return Pump::RetryIn(wait);
        }
        while let Some(u) = self.urgent.pop_front() {
            self.send_urgent(u, sink, actions);
        }
        loop {
            // Texts queued by the actions' side effects are picked up by the next pump.
            let buffered = sink.buffered();
            self.drain.observe(mono, buffered);
            let Some(m) = self.bulk.front_mut() else {
                break;
            };
            if buffered >= self.drain.allowance() {
                let sent = m.handed().saturating_sub(u64::from(buffered));
                actions.push(Action::SendProgress {
                    id: m.id,
                    sent,
                    total: m.total,
                    all_handed: false,
                });
                return Pump::RetryIn(self.drain.wait_ms(buffered));
            }
            let Some(frame) = m.frames.get(m.next) else {
                self.finish_front();
                continue;
            };
            match sink.send_frame(frame, &m.bodies, &m.sizes) {
                Ok(n) => self.drain.handed(n),
                Err(e) => {
                    if let Some(m) = self.bulk.pop_front() {
                        if m.started {
                            self.urgent.push_back(Urgent::Cancel(m.cancel_header()));
                        }
                        actions.push(Action::Failed {
                            id: m.id,
                            reason: e.to_string(),
                        });
                    }
                    while let Some(u) = self.urgent.pop_front() {
                        self.send_urgent(u, sink, actions);
                    }
                    continue;
                }
            }
            m.next += 1;
            m.started = true;
            let all_handed = m.next == m.frames.len();
            actions.push(Action::SendProgress {
                id: m.id,
                sent: m.handed().saturating_sub(u64::from(sink.buffered())),
                total: m.total,
                all_handed,
            });
            if all_handed {
                self.acks.push_back(m.id);
                self.finish_front();
            }
        }
        self.confirm_drained(sink, actions)
    }

    /// Everything handed over: confirm once the buffer has drained.
    fn confirm_drained(&mut self, sink: &impl Sink<B>, actions: &mut Vec<Action>) -> Pump {
        if self.unconfirmed.is_empty() {
            return Pump::Idle;
        }
        let buffered = sink.buffered();
        if buffered == 0 {
            for m in std::mem::take(&mut self.unconfirmed) {
                actions.push(Action::SendProgress {
                    id: m.id,
                    sent: m.total,
                    total: m.total,
                    all_handed: true,
                });
                self.confirm(m.id, actions);
                if self.drain_delivers {
                    self.delivered.push(m.id);
                } else {
                    self.undelivered.push(m);
                }
            }
            return Pump::Idle;
        }
        if let Some(m) = self.unconfirmed.last() {
            actions.push(Action::SendProgress {
                id: m.id,
                sent: m.total.saturating_sub(u64::from(buffered)),
                total: m.total,
                all_handed: true,
            });
        }
        Pump::RetryIn(self.drain.wait_ms(buffered))
    }

    fn finish_front(&mut self) {
        if let Some(done) = self.bulk.pop_front() {
            self.unconfirmed.push(done);
        }
    }

    fn send_urgent(&mut self, u: Urgent<B>, sink: &mut impl Sink<B>, actions: &mut Vec<Action>) {
        match u {
            Urgent::Text(mut m) => {
                let mut sent = Ok(());
                for frame in &m.frames {
                    match sink.send_frame(frame, &m.bodies, &m.sizes) {
                        Ok(n) => self.drain.handed(n),
                        Err(e) => {
                            sent = Err(e);
                            break;
                        }
                    }
                }
                match sent {
                    Ok(()) => {
                        m.next = m.frames.len();
                        m.started = true;
                        self.acks.push_back(m.id);
                        self.unconfirmed.push(m);
                    }
                    Err(e) => actions.push(Action::Failed {
                        id: m.id,
                        reason: e.to_string(),
                    }),
                }
            }
            Urgent::Cancel(c) => match sink.send_cancel(&c) {
                Ok(n) => self.drain.handed(n),
                Err(e) => {
                    actions.push(Action::Notice(format!("could not announce a cancel: {e}")));
                }
            },
        }
    }

    /// An own frame came back (servers that echo); `ends`: it is the last of its message,
    /// which proves delivery.
    pub fn on_echo(&mut self, header: &Header, ends: bool, actions: &mut Vec<Action>) {
        if ends && !matches!(header, Header::Cancel(_)) {
            self.on_delivered(header.id(), actions);
        }
    }

    /// The relay has own message `id` (the echo of its last frame, seen by the page or by a
    /// link that sealed it).
    pub fn on_delivered(&mut self, id: Uuid, actions: &mut Vec<Action>) {
        self.acks.retain(|a| *a != id);
        self.undelivered.retain(|m| m.id != id);
        self.delivered.push(id);
        // Re-sent after a reload but already with the relay (its replay brought it back):
        // it need not go again.
        let queued = self.urgent.len() + self.bulk.len();
        self.urgent
            .retain(|u| !matches!(u, Urgent::Text(m) if m.id == id && !m.started));
        self.bulk.retain(|m| m.id != id || m.started);
        if queued != self.urgent.len() + self.bulk.len() {
            self.confirm(id, actions);
        } else if let Some(pos) = self.unconfirmed.iter().position(|m| m.id == id) {
            let m = self.unconfirmed.remove(pos);
            actions.push(Action::SendProgress {
                id,
                sent: m.total,
                total: m.total,
                all_handed: true,
            });
            self.confirm(id, actions);
        }
    }

    /// framechat-relay numbered a message this page did not see arrive (`pos` with no frame
    /// before it since the last one): its own oldest message not yet delivered.
    pub fn on_pos(&mut self) {
        if let Some(id) = self.acks.pop_front() {
            self.undelivered.retain(|m| m.id != id);
            self.delivered.push(id);
        }
    }

    fn confirm(&mut self, id: Uuid, actions: &mut Vec<Action>) {
        actions.push(Action::Sent { id });
        self.confirmed.push(id);
    }

    /// Ids confirmed since the last call.
    pub fn take_confirmed(&mut self) -> Vec<Uuid> {
        std::mem::take(&mut self.confirmed)
    }

    /// Ids delivered since the last call.
    pub fn take_delivered(&mut self) -> Vec<Uuid> {
        std::mem::take(&mut self.delivered)
    }
}
