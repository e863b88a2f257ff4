//! Rooms, their clients' bounded queues, history, and the relay's counters.
//!
//! Locking: the room map's lock is taken before a room's lock (join, leave);
//! a broadcast takes only its room's lock. A room's lock is held while a
//! message is appended to the history and handed to every client's queue,
//! so every client of a room sees the room's messages in one order, and a
//! joining client's history snapshot and its subscription happen atomically:
//! no gap and no duplicate between replay and live traffic.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use axum::extract::ws::Message;
use tokio::sync::{Notify, oneshot, watch};

use crate::cluster::{Cluster, Frame};
use crate::config::{Config, close_code};
use crate::control;
use crate::error::JoinError;
use crate::history::{self, Limits, Log, Snapshot};

#[path = "hub_remote.rs"]
mod remote;

/// Takes a lock even if a thread panicked while holding it: every critical
/// section below leaves the data consistent at each step.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Payload size of a data message (what the queue and history limits count).
pub(crate) fn message_len(msg: &Message) -> usize {
    match msg {
        Message::Text(t) => t.len(),
        Message::Binary(b) => b.len(),
        Message::Ping(b) | Message::Pong(b) => b.len(),
        Message::Close(_) => 0,
    }
}

/// Why the relay ends a connection: the close code and reason it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kick {
    pub code: u16,
    pub reason: &'static str,
}

/// What the room's broadcaster and the connection task share about one client.
#[derive(Debug, Default)]
pub(crate) struct ClientShared {
    /// Bytes in this client's queue.
    pub queued_bytes: AtomicUsize,
    /// Set once, by whoever decides the relay ends this connection.
    pub kick: OnceLock<Kick>,
    /// Wakes the connection task after `kick` is set.
    pub kicked: Notify,
    /// The payload of the client's latest ping, to answer with a pong.
    pong: Mutex<Option<axum::body::Bytes>>,
    /// Wakes the writer when `pong` is set.
    pub pong_wanted: Notify,
    /// Messages waiting to be written to this client. A `VecDeque` holds no
    /// memory until used (a channel would hold a block of slots per idle
    /// connection).
    queue: Mutex<Queue>,
    /// Wakes the writer when `queue` gets a message or is closed.
    queued: Notify,
}

#[derive(Debug, Default)]
struct Queue {
    items: std::collections::VecDeque<Message>,
    /// No more messages will come (the client left its room or was kicked).
    closed: bool,
}

/// Why a message could not be queued.
enum Offer {
    Full,
    Closed,
}

impl ClientShared {
    /// Asks the writer to answer a ping with `payload` (only the latest
    /// ping is answered, as RFC 6455 §5.5.3 allows).
    pub fn pong(&self, payload: axum::body::Bytes) {
        *lock(&self.pong) = Some(payload);
        self.pong_wanted.notify_one();
    }

    /// Queues `msg` unless the queue holds `max` messages or is closed.
    fn push(&self, msg: Message, max: usize) -> Result<(), Offer> {
        let mut q = lock(&self.queue);
        if q.closed {
            return Err(Offer::Closed);
        }
        if q.items.len() >= max {
            return Err(Offer::Full);
        }
        q.items.push_back(msg);
        drop(q);
        self.queued.notify_one();
        Ok(())
    }

    /// The next queued message, without waiting.
    pub fn try_recv(&self) -> Option<Message> {
        let mut q = lock(&self.queue);
        let msg = q.items.pop_front();
        if q.items.is_empty() && q.items.capacity() > 64 {
            // A burst is over: give its memory back.
            q.items = std::collections::VecDeque::new();
        }
        msg
    }

    /// The next queued message; `None` once the queue is closed and empty.
    pub async fn recv(&self) -> Option<Message> {
        loop {
            if let Some(msg) = self.try_recv() {
                return Some(msg);
            }
            if lock(&self.queue).closed {
                return None;
            }
            // A notification sent after the checks above is kept as a
            // permit, so none is missed.
            self.queued.notified().await;
        }
    }

    /// No more messages will be queued.
    pub fn close(&self) {
        lock(&self.queue).closed = true;
        self.queued.notify_one();
    }

    /// The pong to send, if one is due.
    pub fn take_pong(&self) -> Option<axum::body::Bytes> {
        lock(&self.pong).take()
    }

    /// Asks the connection task to close with `kick` (the first reason wins).
    pub fn kick(&self, kick: Kick) {
        let _ = self.kick.set(kick);
        self.close();
        self.kicked.notify_one();
    }
}

/// A room's handle on one client.
#[derive(Debug)]
struct Member {
    id: u64,
    /// Its join number in the room's log (see `history::Pushed::upto`).
    seq: u64,
    shared: Arc<ClientShared>,
    /// Cluster mode, before the client's snapshot is read: the live frames
    /// that came meanwhile (see `remote`).
    pending: Option<Vec<Frame>>,
}

#[derive(Debug)]
struct RoomState {
    members: Vec<Member>,
    log: Log,
    /// Since when the room has had no clients (`None` while it has some).
    idle_since: Option<Instant>,
    /// Cluster mode: what this node knows of the room's shared stream.
    remote: remote::Remote,
}

/// A fresh epoch: 16 hex digits, unpredictable enough that two incarnations
/// of a room (or two relay processes) never share one.
pub(crate) fn new_epoch() -> String {
    use std::hash::BuildHasher as _;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let h = std::collections::hash_map::RandomState::new().hash_one((now, n));
    format!("{h:016x}")
}

/// One chat room.
#[derive(Debug)]
pub(crate) struct Room {
    name: String,
    state: Mutex<RoomState>,
}

impl Room {
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Counters, readable at any time (`/healthz`, tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Rooms alive now.
    pub rooms: usize,
    /// Clients joined now.
    pub clients: usize,
    /// Bytes of history held by all rooms (idle ones included).
    pub history_bytes: usize,
    /// Bytes queued for all clients now (a message shared by n clients counts n times).
    pub queued_bytes: usize,
    /// Highest `queued_bytes` seen since start.
    pub peak_queued_bytes: usize,
    /// Data messages received from clients and relayed.
    pub messages_in: u64,
    /// Clients disconnected because their queue was full.
    pub slow_consumers: u64,
    /// Messages delayed by the rate limit (throttle mode), or clients closed
    /// for breaking it (close mode).
    pub rate_limited: u64,
    /// Binary messages dropped by `--validate`.
    pub invalid_frames: u64,
}

/// A client that has joined a room.
pub(crate) struct Joined {
    pub id: u64,
    pub room: Arc<Room>,
    pub shared: Arc<ClientShared>,
    /// The room's history at the moment of joining (in-memory mode).
    pub history: Snapshot,
    /// Cluster mode: answers once the node receives the room's live frames.
    pub subscribed: Option<oneshot::Receiver<bool>>,
}

/// All rooms, the limits, and the counters.
#[derive(Debug)]
pub(crate) struct Hub {
    pub config: Config,
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    next_id: AtomicU64,
    clients: AtomicUsize,
    /// Bytes of history held by all rooms.
    history_bytes: AtomicUsize,
    queued_bytes: AtomicUsize,
    peak_queued_bytes: AtomicUsize,
    pub messages_in: AtomicU64,
    slow_consumers: AtomicU64,
    pub rate_limited: AtomicU64,
    pub invalid_frames: AtomicU64,
    /// `true` once shutdown has begun.
    shutdown: watch::Sender<bool>,
    /// Live WebSocket connections (including ones still upgrading).
    connections: watch::Sender<usize>,
    /// Live connections per client IP.
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    /// Set when rooms are shared through Redis (`--redis`).
    pub cluster: OnceLock<Arc<Cluster>>,
}

/// Counts one connection (in total and for its client IP) for as long as it lives.
#[derive(Debug)]
pub(crate) struct ConnectionGuard {
    hub: Arc<Hub>,
    ip: Option<IpAddr>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Some(ip) = self.ip {
            let mut per_ip = lock(&self.hub.per_ip);
            if let Some(n) = per_ip.get_mut(&ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    per_ip.remove(&ip);
                }
            }
        }
        self.hub
            .connections
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Why a WebSocket was refused before the upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `max_connections` reached.
    Total,
    /// `max_connections_per_ip` reached for this client IP.
    PerIp,
}

impl Hub {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            rooms: Mutex::default(),
            next_id: AtomicU64::new(1),
            clients: AtomicUsize::new(0),
            history_bytes: AtomicUsize::new(0),
            queued_bytes: AtomicUsize::new(0),
            peak_queued_bytes: AtomicUsize::new(0),
            messages_in: AtomicU64::new(0),
            slow_consumers: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            invalid_frames: AtomicU64::new(0),
            shutdown: watch::Sender::new(false),
            connections: watch::Sender::new(0),
            per_ip: Mutex::default(),
            cluster: OnceLock::new(),
        }
    }

    /// The Redis connections, in cluster mode.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.get()
    }

    pub fn stats(&self) -> Stats {
        Stats {
            rooms: lock(&self.rooms).len(),
            clients: self.clients.load(Ordering::Relaxed),
            history_bytes: self.history_bytes.load(Ordering::Relaxed),
            queued_bytes: self.queued_bytes.load(Ordering::Relaxed),
            peak_queued_bytes: self.peak_queued_bytes.load(Ordering::Relaxed),
            messages_in: self.messages_in.load(Ordering::Relaxed),
            slow_consumers: self.slow_consumers.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            invalid_frames: self.invalid_frames.load(Ordering::Relaxed),
        }
    }

    /// Counts a new connection from `ip`, or refuses it over the caps.
    pub fn admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Result<ConnectionGuard, Refused> {
        let max = self.config.max_connections;
        let mut admitted = false;
        self.connections.send_if_modified(|n| {
            admitted = *n < max;
            if admitted {
                *n += 1;
            }
            admitted
        });
        if !admitted {
            return Err(Refused::Total);
        }
        // From here on the guard undoes the count, whatever happens.
        let mut guard = ConnectionGuard {
            hub: Arc::clone(self),
            ip: None,
        };
        if let Some(ip) = ip {
            let mut per_ip = lock(&self.per_ip);
            let n = per_ip.entry(ip).or_insert(0);
            if *n >= self.config.max_connections_per_ip {
                if *n == 0 {
                    per_ip.remove(&ip);
                }
                return Err(Refused::PerIp);
            }
            *n += 1;
            guard.ip = Some(ip);
        }
        Ok(guard)
    }

    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves once every WebSocket connection has ended.
    pub async fn connections_closed(&self) {
        let mut rx = self.connections.subscribe();
        // Err only if the sender is gone, and the hub owns it.
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Joins `name`, creating the room if needed. Returns the history
    /// snapshot and the receiving end of the client's bounded queue.
    pub fn join(&self, name: &str) -> Result<Joined, JoinError> {
        if *self.shutdown.borrow() {
            return Err(JoinError::ShuttingDown);
        }
        let mut rooms = lock(&self.rooms);
        let now = Instant::now();
        self.sweep_idle(&mut rooms, now);
        let room = match rooms.get(name) {
            Some(room) => Arc::clone(room),
            None => {
                if rooms.len() >= self.config.max_rooms && !self.evict_one_idle(&mut rooms) {
                    return Err(JoinError::TooManyRooms {
                        max: self.config.max_rooms,
                    });
                }
                let room = Arc::new(Room {
                    name: name.to_owned(),
                    state: Mutex::new(RoomState {
                        members: Vec::new(),
                        log: Log::new(new_epoch()),
                        idle_since: Some(now),
                        remote: remote::Remote::default(),
                    }),
                });
                rooms.insert(name.to_owned(), Arc::clone(&room));
                tracing::info!(room = name, "room created");
                room
            }
        };
        let mut state = lock(&room.state);
        if state.members.len() >= self.config.max_clients_per_room {
            let unused = state.members.is_empty() && state.log.is_empty();
            drop(state);
            if unused {
                rooms.remove(name);
            }
            return Err(JoinError::RoomFull {
                room: name.to_owned(),
                max: self.config.max_clients_per_room,
            });
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(ClientShared::default());
        let seq = state.log.join();
        let cluster = self.cluster();
        state.members.push(Member {
            id,
            seq,
            shared: Arc::clone(&shared),
            pending: cluster.map(|_| Vec::new()),
        });
        state.idle_since = None;
        let history = state.log.snapshot();
        drop(state);
        // Under the room map's lock: subscriptions and unsubscriptions of a
        // room name reach the Pub/Sub task in the order rooms come and go.
        let subscribed = cluster.map(|c| c.subscribe(name));
        drop(rooms);
        self.clients.fetch_add(1, Ordering::Relaxed);
        Ok(Joined {
            id,
            room,
            shared,
            history,
            subscribed,
        })
    }

    /// Removes client `id` from `room`. A room left without clients keeps
    /// its history for `history_idle` (an empty history: removed at once).
    pub fn leave(&self, room: &Arc<Room>, id: u64) {
        let mut rooms = lock(&self.rooms);
        let mut state = lock(&room.state);
        let before = state.members.len();
        state.members.retain(|m| m.id != id);
        if state.members.len() < before {
            self.clients.fetch_sub(1, Ordering::Relaxed);
        }
        if state.members.is_empty() {
            let ours = rooms.get(&room.name).is_some_and(|r| Arc::ptr_eq(r, room));
            if ours && (state.log.is_empty() || self.config.history_idle.is_zero()) {
                let bytes = state.log.bytes();
                self.history_bytes.fetch_sub(bytes, Ordering::Relaxed);
                drop(state);
                rooms.remove(&room.name);
                if let Some(cluster) = self.cluster() {
                    cluster.unsubscribe(&room.name);
                }
                tracing::info!(room = %room.name, "room removed (no clients, no history kept)");
            } else {
                state.idle_since = Some(Instant::now());
            }
        }
    }

    /// Removes the rooms idle for longer than `history_idle`.
    fn sweep_idle(&self, rooms: &mut HashMap<String, Arc<Room>>, now: Instant) {
        let ttl = self.config.history_idle;
        rooms.retain(|name, room| {
            let state = lock(&room.state);
            let expired = state
                .idle_since
                .is_some_and(|t| now.saturating_duration_since(t) >= ttl);
            if expired {
                self.history_bytes
                    .fetch_sub(state.log.bytes(), Ordering::Relaxed);
                tracing::info!(room = %name, "idle room expired with its history");
            }
            !expired
        });
    }

    /// Removes the room idle the longest; `false` if no room is idle.
    fn evict_one_idle(&self, rooms: &mut HashMap<String, Arc<Room>>) -> bool {
        let oldest = rooms
            .iter()
            .filter_map(|(name, room)| {
                let state = lock(&room.state);
                state
                    .idle_since
                    .map(|t| (t, name.clone(), state.log.bytes()))
            })
            .min();
        match oldest {
            Some((_, name, bytes)) => {
                rooms.remove(&name);
                self.history_bytes.fetch_sub(bytes, Ordering::Relaxed);
                tracing::info!(room = %name, "idle room evicted to make room");
                true
            }
            None => false,
        }
    }

    /// Brings the history of all rooms under `history_total_bytes`: idle
    /// rooms go first (longest idle first), then the oldest whole messages
    /// of the rooms with the most history.
    fn enforce_total(&self) {
        let cap = self.config.history_total_bytes;
        let mut rooms = lock(&self.rooms);
        while self.history_bytes.load(Ordering::Relaxed) > cap {
            if self.evict_one_idle(&mut rooms) {
                continue;
            }
            let biggest = rooms
                .values()
                .max_by_key(|r| lock(&r.state).log.bytes())
                .cloned();
            let Some(room) = biggest else { break };
            let mut state = lock(&room.state);
            let before = state.log.bytes();
            if !state.log.pop_oldest() {
                break;
            }
            let freed = before - state.log.bytes();
            self.history_bytes.fetch_sub(freed, Ordering::Relaxed);
        }
    }

    /// Periodic upkeep: expires idle rooms.
    pub fn tick(&self) {
        let mut rooms = lock(&self.rooms);
        self.sweep_idle(&mut rooms, Instant::now());
    }

    /// Records `msg` in the room's history and queues it for every client of
    /// the room, the sender included, followed by a `pos` control frame when
    /// it finishes a message. A client whose queue is full (count or bytes)
    /// is removed from the room and told to close with
    /// [`close_code::SLOW_CONSUMER`].
    pub fn broadcast(&self, room: &Room, msg: &Message) {
        let part = history::classify(msg);
        let cfg = &self.config;
        let limits = Limits {
            messages: cfg.history_messages,
            bytes: cfg.history_bytes,
            open_messages: cfg.open_messages,
        };
        let mut guard = lock(&room.state);
        let state = &mut *guard;
        let before = state.log.bytes();
        let pushed = state.log.push(part, msg, limits);
        let after = state.log.bytes();
        let total = if after >= before {
            self.history_bytes
                .fetch_add(after - before, Ordering::Relaxed)
                + (after - before)
        } else {
            self.history_bytes
                .fetch_sub(before - after, Ordering::Relaxed)
                - (before - after)
        };
        let pos = pushed.finished.map(control::pos);
        let mut removed = 0;
        state.members.retain(|m| {
            if pushed.upto.is_some_and(|upto| m.seq > upto) {
                // Joined after this message's start was dropped from
                // history: it never got the start, so not the rest either.
                return true;
            }
            let ok =
                self.offer(room, m, msg) && pos.as_ref().is_none_or(|p| self.offer(room, m, p));
            if !ok {
                removed += 1;
            }
            ok
        });
        if removed > 0 {
            self.clients.fetch_sub(removed, Ordering::Relaxed);
        }
        if total > cfg.history_total_bytes {
            // Lock order: the room map before a room.
            drop(guard);
            self.enforce_total();
        }
    }

    /// Queues `msg` for member `m`; `false` if it must leave the room.
    fn offer(&self, room: &Room, m: &Member, msg: &Message) -> bool {
        let cfg = &self.config;
        let len = message_len(msg);
        let queued = m.shared.queued_bytes.load(Ordering::Acquire);
        let fits = queued.saturating_add(len) <= cfg.queue_bytes;
        // Counted before the push: the writer may take the message (and
        // uncount it) as soon as it is in the queue.
        let outcome = if fits {
            m.shared.queued_bytes.fetch_add(len, Ordering::AcqRel);
            let total = self.queued_bytes.fetch_add(len, Ordering::Relaxed) + len;
            let pushed = m.shared.push(msg.clone(), cfg.queue_messages.max(1));
            if pushed.is_err() {
                self.dequeued(&m.shared, len);
            } else {
                self.peak_queued_bytes.fetch_max(total, Ordering::Relaxed);
            }
            pushed
        } else {
            Ok(())
        };
        match (fits, outcome) {
            (true, Ok(())) => true,
            // The connection task is already gone; leave() will follow.
            (true, Err(Offer::Closed)) => false,
            (false, _) | (true, Err(Offer::Full)) => {
                tracing::warn!(
                    room = %room.name,
                    client = m.id,
                    queued_bytes = queued,
                    queue_bytes = cfg.queue_bytes,
                    queue_messages = cfg.queue_messages,
                    "slow consumer: outgoing queue full, disconnecting with {}",
                    close_code::SLOW_CONSUMER
                );
                self.slow_consumers.fetch_add(1, Ordering::Relaxed);
                m.shared.kick(Kick {
                    code: close_code::SLOW_CONSUMER,
                    reason: "slow consumer: outgoing queue full",
                });
                false
            }
        }
    }

    /// Accounts for `len` bytes that left a client's queue.
    pub fn dequeued(&self, shared: &ClientShared, len: usize) {
        shared.queued_bytes.fetch_sub(len, Ordering::AcqRel);
        self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
    }
}
