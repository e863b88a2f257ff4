//! Rooms, their clients' bounded queues, history, and the relay's counters.
//!
//! Locking: the room map's lock is taken before a room's lock (join, leave);
//! a broadcast takes only its room's lock. A room's lock is held while a
//! message is appended to the history and handed to every client's queue,
//! so every client of a room sees the room's messages in one order, and a
//! joining client's history snapshot and its subscription happen atomically:
//! no gap and no duplicate between replay and live traffic.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::extract::ws::Message;
use tokio::sync::{Notify, mpsc, watch};

use crate::config::{Config, close_code};
use crate::error::JoinError;

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
}

impl ClientShared {
    /// Asks the connection task to close with `kick` (the first reason wins).
    pub fn kick(&self, kick: Kick) {
        let _ = self.kick.set(kick);
        self.kicked.notify_one();
    }
}

/// A room's handle on one client.
#[derive(Debug)]
struct Member {
    id: u64,
    tx: mpsc::Sender<Message>,
    shared: Arc<ClientShared>,
}

#[derive(Debug, Default)]
struct RoomState {
    members: Vec<Member>,
    history: VecDeque<Message>,
    history_bytes: usize,
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
    pub rx: mpsc::Receiver<Message>,
    /// The room's history at the moment of joining, oldest first.
    pub history: Vec<Message>,
}

/// All rooms, the limits, and the counters.
#[derive(Debug)]
pub(crate) struct Hub {
    pub config: Config,
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    next_id: AtomicU64,
    clients: AtomicUsize,
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
}

/// Counts one connection for as long as it lives.
#[derive(Debug)]
pub(crate) struct ConnectionGuard(Arc<Hub>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Hub {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            rooms: Mutex::default(),
            next_id: AtomicU64::new(1),
            clients: AtomicUsize::new(0),
            queued_bytes: AtomicUsize::new(0),
            peak_queued_bytes: AtomicUsize::new(0),
            messages_in: AtomicU64::new(0),
            slow_consumers: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            invalid_frames: AtomicU64::new(0),
            shutdown: watch::Sender::new(false),
            connections: watch::Sender::new(0),
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            rooms: lock(&self.rooms).len(),
            clients: self.clients.load(Ordering::Relaxed),
            queued_bytes: self.queued_bytes.load(Ordering::Relaxed),
            peak_queued_bytes: self.peak_queued_bytes.load(Ordering::Relaxed),
            messages_in: self.messages_in.load(Ordering::Relaxed),
            slow_consumers: self.slow_consumers.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            invalid_frames: self.invalid_frames.load(Ordering::Relaxed),
        }
    }

    pub fn connection_guard(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.send_modify(|n| *n += 1);
        ConnectionGuard(Arc::clone(self))
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
        let room = match rooms.get(name) {
            Some(room) => Arc::clone(room),
            None => {
                if rooms.len() >= self.config.max_rooms {
                    return Err(JoinError::TooManyRooms {
                        max: self.config.max_rooms,
                    });
                }
                let room = Arc::new(Room {
                    name: name.to_owned(),
                    state: Mutex::default(),
                });
                rooms.insert(name.to_owned(), Arc::clone(&room));
                tracing::info!(room = name, "room created");
                room
            }
        };
        let mut state = lock(&room.state);
        if state.members.len() >= self.config.max_clients_per_room {
            let empty = state.members.is_empty();
            drop(state);
            if empty {
                rooms.remove(name);
            }
            return Err(JoinError::RoomFull {
                room: name.to_owned(),
                max: self.config.max_clients_per_room,
            });
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.config.queue_messages.max(1));
        let shared = Arc::new(ClientShared::default());
        state.members.push(Member {
            id,
            tx,
            shared: Arc::clone(&shared),
        });
        let history = state.history.iter().cloned().collect();
        drop(state);
        drop(rooms);
        self.clients.fetch_add(1, Ordering::Relaxed);
        Ok(Joined {
            id,
            room,
            shared,
            rx,
            history,
        })
    }

    /// Removes client `id` from `room`; removes the room (and its history)
    /// once it has no clients.
    pub fn leave(&self, room: &Arc<Room>, id: u64) {
        let mut rooms = lock(&self.rooms);
        let mut state = lock(&room.state);
        let before = state.members.len();
        state.members.retain(|m| m.id != id);
        if state.members.len() < before {
            self.clients.fetch_sub(1, Ordering::Relaxed);
        }
        if state.members.is_empty() && rooms.get(&room.name).is_some_and(|r| Arc::ptr_eq(r, room)) {
            rooms.remove(&room.name);
            tracing::info!(room = %room.name, "room removed (no clients left), history dropped");
        }
    }

    /// Appends `msg` to the room's history and queues it for every client of
    /// the room, the sender included. A client whose queue is full (count or
    /// bytes) is removed from the room and told to close with
    /// [`close_code::SLOW_CONSUMER`].
    pub fn broadcast(&self, room: &Room, msg: &Message) {
        let len = message_len(msg);
        let cfg = &self.config;
        let mut state = lock(&room.state);
        let state = &mut *state;

        if cfg.history_messages > 0 && len <= cfg.history_bytes {
            state.history.push_back(msg.clone());
            state.history_bytes += len;
            while state.history.len() > cfg.history_messages
                || state.history_bytes > cfg.history_bytes
            {
                match state.history.pop_front() {
                    Some(old) => state.history_bytes -= message_len(&old),
                    None => break,
                }
            }
        }

        let mut removed = 0;
        state.members.retain(|m| {
            let queued = m.shared.queued_bytes.load(Ordering::Acquire);
            let fits = queued.saturating_add(len) <= cfg.queue_bytes;
            let outcome = if fits {
                m.tx.try_send(msg.clone())
            } else {
                Ok(())
            };
            match (fits, outcome) {
                (true, Ok(())) => {
                    m.shared.queued_bytes.fetch_add(len, Ordering::AcqRel);
                    let total = self.queued_bytes.fetch_add(len, Ordering::Relaxed) + len;
                    self.peak_queued_bytes.fetch_max(total, Ordering::Relaxed);
                    true
                }
                (true, Err(mpsc::error::TrySendError::Closed(_))) => {
                    // The connection task is already gone; leave() will follow.
                    removed += 1;
                    false
                }
                (false, _) | (true, Err(mpsc::error::TrySendError::Full(_))) => {
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
                    removed += 1;
                    false
                }
            }
        });
        if removed > 0 {
            self.clients.fetch_sub(removed, Ordering::Relaxed);
        }
    }

    /// Accounts for `len` bytes that left a client's queue.
    pub fn dequeued(&self, shared: &ClientShared, len: usize) {
        shared.queued_bytes.fetch_sub(len, Ordering::AcqRel);
        self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
    }
}
