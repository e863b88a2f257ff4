//! Cluster mode's side of the hub: frames from Redis's Pub/Sub into the
//! rooms' client queues, and a joining client's switch from "waiting for its
//! snapshot" to live (see `cluster`). The same locking rules as `hub`: the
//! room map's lock (briefly) before a room's lock.

use std::sync::atomic::Ordering;

use super::{Hub, Kick, Member, Room, RoomState, lock};
use crate::cluster::Frame;
use crate::config::close_code;
use crate::control;

/// What a node knows of a room's shared frame stream.
#[derive(Debug, Default)]
pub(super) struct Remote {
    /// The room's epoch, once a client has joined it.
    epoch: Option<String>,
    /// `seq` of the last frame received from Pub/Sub since (re)subscribing
    /// (0: none yet). Within one subscription Redis delivers every frame, so
    /// a frame that does not follow it means frames were missed.
    dispatched: u64,
    /// The newest `seq` this node has handed to its clients (by snapshot or live).
    known: u64,
}

/// Whether member `m` (live since `seq` `m.seq`) gets frame `f`.
fn wants(m: &Member, f: &Frame) -> bool {
    f.seq > m.seq && (f.upto == 0 || m.seq < f.upto)
}

impl Hub {
    /// Hands a frame from Pub/Sub to the clients of its room on this node.
    pub(crate) fn dispatch(&self, name: &str, f: Frame) {
        let Some(room) = lock(&self.rooms).get(name).cloned() else {
            return;
        };
        let mut guard = lock(&room.state);
        let state = &mut *guard;
        if state.remote.epoch.as_ref().is_some_and(|e| *e != f.epoch) {
            self.kick_all(
                &room,
                state,
                "room history was reset (new epoch): reconnect",
            );
        } else if state.remote.dispatched != 0 && f.seq != state.remote.dispatched + 1 {
            self.kick_all(&room, state, "missed messages from redis: reconnect");
        }
        let r = &mut state.remote;
        r.epoch.get_or_insert_with(|| f.epoch.clone());
        r.dispatched = f.seq;
        r.known = r.known.max(f.seq);
        let pos = (f.offset != 0).then(|| control::pos(f.offset));
        let cap = self.config.queue_messages.max(1);
        let mut removed = 0;
        state.members.retain_mut(|m| {
            if let Some(pending) = &mut m.pending {
                if pending.len() < cap {
                    pending.push(f.clone());
                    return true;
                }
                removed += 1;
                self.slow(&room, m);
                return false;
            }
            if !wants(m, &f) {
                return true;
            }
            let ok = self.offer(&room, m, &f.msg)
                && pos.as_ref().is_none_or(|p| self.offer(&room, m, p));
            if !ok {
                removed += 1;
            }
            ok
        });
        if removed > 0 {
            self.clients.fetch_sub(removed, Ordering::Relaxed);
        }
    }

    /// Client `id` got the snapshot of `epoch` up to frame `seq`: it gets
    /// the live frames after it from now on. `false`: it must reconnect (the
    /// room's epoch is another one, or it could not keep up).
    pub(crate) fn activate(&self, room: &Room, id: u64, seq: u64, epoch: &str) -> bool {
        let mut guard = lock(&room.state);
        let state = &mut *guard;
        if state.remote.epoch.as_ref().is_some_and(|e| e != epoch) {
            return false;
        }
        state.remote.epoch.get_or_insert_with(|| epoch.to_owned());
        state.remote.known = state.remote.known.max(seq);
        let Some(i) = state.members.iter().position(|m| m.id == id) else {
            return false;
        };
        let m = &mut state.members[i];
        m.seq = seq;
        let pending = m.pending.take().unwrap_or_default();
        let m = &state.members[i];
        for f in pending.iter().filter(|f| wants(m, f)) {
            let pos = (f.offset != 0).then(|| control::pos(f.offset));
            if !(self.offer(room, m, &f.msg) && pos.is_none_or(|p| self.offer(room, m, &p))) {
                state.members.remove(i);
                self.clients.fetch_sub(1, Ordering::Relaxed);
                return false;
            }
        }
        true
    }

    /// After Pub/Sub came back: a room whose shared counter moved past what
    /// this node has seen, or whose epoch changed, missed frames meanwhile.
    pub(crate) fn check_room(&self, name: &str, epoch: Option<&str>, seq: u64) {
        let Some(room) = lock(&self.rooms).get(name).cloned() else {
            return;
        };
        let mut guard = lock(&room.state);
        let state = &mut *guard;
        let r = &state.remote;
        let stale = match (&r.epoch, epoch) {
            (None, _) => false,
            (Some(mine), Some(now)) => mine != now || seq > r.known,
            (Some(_), None) => true,
        };
        if stale {
            self.kick_all(
                &room,
                state,
                "missed messages while redis was away: reconnect",
            );
        }
        state.remote.dispatched = 0;
    }

    /// Ends every connection of `room` with [`close_code::STORE_UNAVAILABLE`]
    /// and forgets the room's stream state.
    fn kick_all(&self, room: &Room, state: &mut RoomState, reason: &'static str) {
        let n = state.members.len();
        tracing::warn!(room = %room.name, clients = n, reason, "closing the room's clients");
        for m in state.members.drain(..) {
            m.shared.kick(Kick {
                code: close_code::STORE_UNAVAILABLE,
                reason,
            });
        }
        self.clients.fetch_sub(n, Ordering::Relaxed);
        state.remote = Remote::default();
    }

    /// A member whose backlog is full leaves with [`close_code::SLOW_CONSUMER`].
    fn slow(&self, room: &Room, m: &Member) {
        tracing::warn!(room = %room.name, client = m.id, "slow consumer while joining");
        self.slow_consumers.fetch_add(1, Ordering::Relaxed);
        m.shared.kick(Kick {
            code: close_code::SLOW_CONSUMER,
            reason: "slow consumer: outgoing queue full",
        });
    }
}
