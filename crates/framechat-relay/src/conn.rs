//! One WebSocket connection: join a room, replay its history, then relay in
//! both directions until someone ends it, and close with a clear code.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::sync::watch;

use crate::config::{RateMode, close_code};
use crate::control::{self, Request};
use crate::history::Snapshot;
use crate::hub::{ClientShared, ConnectionGuard, Hub, Joined, Kick, Room, message_len};
use crate::rate::{Exceeded, RateLimit};
use crate::ws::{ReadError, Reader, Writer};

/// When the relay last heard from a client (any message, pong included).
/// Shared by the reader and writer halves, which may run on different threads.
struct LastHeard {
    start: Instant,
    micros: AtomicU64,
}

impl LastHeard {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            micros: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.micros.store(now, Ordering::Relaxed);
    }

    fn elapsed(&self) -> std::time::Duration {
        let at = std::time::Duration::from_micros(self.micros.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(at)
    }
}

/// How long a connection whose read side failed stays open after our close
/// frame, so that the client can read it.
const LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// The upgraded connection.
pub(crate) type Io = TokioIo<Upgraded>;
type Sink = Writer<WriteHalf<Io>>;
type Stream = Reader<ReadHalf<Io>>;

/// How a connection's relay loop ended.
#[derive(Debug)]
enum End {
    /// The client sent a close frame (with this code, if any): we echo it.
    ClientClosed(Option<u16>),
    /// The relay closes the connection with this code.
    Kick(Kick),
    /// The transport failed; nothing more can be sent.
    Broken,
}

fn close_message(kick: Kick) -> Message {
    Message::Close(Some(CloseFrame {
        code: kick.code,
        reason: kick.reason.into(),
    }))
}

/// The close a read error deserves, if the connection can still carry one.
fn close_for(err: &ReadError) -> Option<Kick> {
    match err {
        ReadError::TooBig => Some(Kick {
            code: close_code::MESSAGE_TOO_BIG,
            reason: "message too big",
        }),
        ReadError::Utf8 => Some(Kick {
            code: close_code::INVALID_PAYLOAD,
            reason: "text message is not valid UTF-8",
        }),
        ReadError::Protocol(_) => Some(Kick {
            code: close_code::PROTOCOL_ERROR,
            reason: "protocol error",
        }),
        ReadError::Io(_) => None,
    }
}

/// The reply to a client's close frame: its code echoed (RFC 6455 §5.5.1),
/// or an empty close when it gave none.
fn close_reply(code: Option<u16>) -> Message {
    Message::Close(code.map(|code| CloseFrame {
        code,
        reason: "".into(),
    }))
}

/// Runs one upgraded connection to the end.
pub(crate) async fn run(io: Io, hub: Arc<Hub>, room: String, _guard: ConnectionGuard) {
    let (read, write) = tokio::io::split(io);
    let mut sink = Writer::new(write);
    let mut stream = Reader::new(read, hub.config.max_message_size);
    let timeout = hub.config.close_timeout;
    let mut joined = match hub.join(&room) {
        Ok(joined) => joined,
        Err(err) => {
            let (code, reason) = err.close();
            tracing::info!(room = %room, %err, code, "join refused");
            let _ = Box::pin(tokio::time::timeout(
                timeout,
                sink.send(close_message(Kick { code, reason })),
            ))
            .await;
            return;
        }
    };
    let id = joined.id;
    // The room's epoch and newest position: from this process, or (cluster
    // mode) from Redis once this node receives the room's live frames.
    let head = match hub.cluster() {
        None => Ok((joined.history.epoch.clone(), joined.history.offset)),
        Some(cluster) => cluster.open(&room, joined.subscribed.take()).await,
    };
    let end = match head {
        Err(err) => {
            tracing::warn!(room = %room, client = id, %err, "cannot join");
            End::Kick(STORE_KICK)
        }
        Ok((epoch, offset)) => {
            tracing::info!(room = %room, client = id, offset, "client joined");
            start(
                &hub,
                &room,
                &mut joined,
                &epoch,
                offset,
                &mut sink,
                &mut stream,
            )
            .await
        }
    };

    // No new messages from the room from here on.
    hub.leave(&joined.room, id);
    joined.shared.close();

    match end {
        End::Kick(kick) => {
            tracing::info!(room = %room, client = id, code = kick.code, reason = kick.reason, "closing client");
            // A slow consumer's queue is dropped (that is the point); otherwise
            // what the room already queued for this client goes out before the
            // close frame. Then read until the client's close reply (RFC 6455
            // §7.1.1: the server closes TCP after the handshake).
            let flush = kick.code != close_code::SLOW_CONSUMER;
            let _ = Box::pin(tokio::time::timeout(timeout, async {
                if flush {
                    while let Some(msg) = joined.shared.try_recv() {
                        hub.dequeued(&joined.shared, message_len(&msg));
                        sink.feed(msg);
                    }
                }
                if sink.send(close_message(kick)).await.is_err() {
                    return;
                }
                while let Some(Ok(msg)) = stream.next().await {
                    if matches!(msg, Message::Close(_)) {
                        return;
                    }
                }
                // The read side is gone (e.g. after an oversize message) and
                // the client may still be sending: closing the socket with
                // unread data makes the kernel send a reset, which can reach
                // the client before it has read our close frame (it then
                // sees 1006 instead of our code). Linger a moment first, as
                // HTTP servers do ("lingering close").
                tokio::time::sleep(LINGER.min(timeout)).await;
            }))
            .await;
        }
        End::ClientClosed(code) => {
            tracing::info!(room = %room, client = id, "client closed");
            sink.feed(close_reply(code));
            let _ = Box::pin(tokio::time::timeout(timeout, sink.close())).await;
        }
        End::Broken => tracing::info!(room = %room, client = id, "connection lost"),
    }
    while let Some(msg) = joined.shared.try_recv() {
        hub.dequeued(&joined.shared, message_len(&msg));
    }
}

/// The close for a client whose room Redis cannot serve now.
const STORE_KICK: Kick = Kick {
    code: close_code::STORE_UNAVAILABLE,
    reason: "shared store (redis) unavailable: not relayed, reconnect",
};

/// Says `hello`, reads the client's `resume`, replays, then relays.
async fn start(
    hub: &Hub,
    room: &str,
    joined: &mut Joined,
    epoch: &str,
    offset: u64,
    sink: &mut Sink,
    stream: &mut Stream,
) -> End {
    // The relay speaks first; a client that knows the control frames answers
    // with `resume` at once. Live traffic queues meanwhile (bounded).
    let hello = control::hello(epoch, offset);
    // Timers are boxed: a timer is cache-line aligned, and inline it would
    // pad every connection's task for its whole life (an idle connection's
    // memory is mostly this task).
    let timeout = hub.config.close_timeout;
    let opening = match Box::pin(tokio::time::timeout(timeout, sink.send(hello))).await {
        Ok(Ok(())) => opening(hub, stream).await,
        _ => Opening::Broken,
    };
    let (request, first) = match opening {
        Opening::Broken => return End::Broken,
        Opening::Closed(code) => return End::ClientClosed(code),
        Opening::Start { request, first } => (request, first),
    };
    if let Some(r) = &request {
        tracing::debug!(room, client = joined.id, request = ?r, "resume");
    }
    let fresh = hub.config.replay_messages;
    let history = match hub.cluster() {
        None => std::mem::replace(&mut joined.history, Snapshot::empty()),
        Some(cluster) => match cluster.snapshot(room, request.as_ref(), fresh).await {
            Ok((snap, seq)) if snap.epoch == epoch => {
                if !hub.activate(&joined.room, joined.id, seq, epoch) {
                    return End::Kick(STORE_KICK);
                }
                snap
            }
            Ok(_) => return End::Kick(STORE_KICK),
            Err(err) => {
                tracing::warn!(room, client = joined.id, %err, "cannot read history");
                return End::Kick(STORE_KICK);
            }
        },
    };
    let replay = history.replay(request.as_ref(), fresh);
    relay(hub, joined, replay, first, sink, stream).await
}

/// How a connection's opening (after `hello`) ended.
enum Opening {
    /// Go on: replay for `request` (none: recent history), then relay;
    /// `first` is a data message the client sent instead of `resume`.
    Start {
        request: Option<Request>,
        first: Option<Message>,
    },
    Closed(Option<u16>),
    Broken,
}

/// Waits up to `hello_wait` for the client's first message: a `resume`, or
/// a data message (a client that does not know the control frames).
async fn opening(hub: &Hub, stream: &mut Stream) -> Opening {
    let mut wait = Box::pin(tokio::time::sleep(hub.config.hello_wait));
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            () = &mut wait => return Opening::Start { request: None, first: None },
        };
        match next {
            Some(Ok(Message::Binary(b))) if control::is_control(&b) => {
                if let Some(request) = control::parse_request(&b) {
                    return Opening::Start {
                        request: Some(request),
                        first: None,
                    };
                }
            }
            Some(Ok(msg @ (Message::Binary(_) | Message::Text(_)))) => {
                return Opening::Start {
                    request: None,
                    first: Some(msg),
                };
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Close(frame))) => return Opening::Closed(frame.map(|f| f.code)),
            Some(Err(_)) | None => return Opening::Broken,
        }
    }
}

/// Replays history, then relays until the client leaves, breaks a limit, is
/// kicked by its room (slow consumer), or the relay shuts down.
async fn relay(
    hub: &Hub,
    joined: &mut Joined,
    history: Vec<Message>,
    first: Option<Message>,
    sink: &mut Sink,
    stream: &mut Stream,
) -> End {
    let mut shutdown = hub.shutdown_signal();
    let shared = Arc::clone(&joined.shared);
    let last_heard = LastHeard::new();
    let reader = read_loop(
        hub,
        &joined.room,
        joined.id,
        &shared,
        first,
        stream,
        &last_heard,
    );

    let writer = write_loop(hub, &shared, history, sink, &last_heard);
    tokio::select! {
        end = reader => end,
        end = writer => end,
        () = shared.kicked.notified() => match shared.kick.get() {
            Some(&kick) => End::Kick(kick),
            None => End::Broken,
        },
        () = shutting_down(&mut shutdown) => End::Kick(Kick {
            code: close_code::GOING_AWAY,
            reason: "relay shutting down",
        }),
    }
}

async fn shutting_down(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|down| *down).await.is_err() {
        // The hub (which owns the sender) is gone: never resolve.
        std::future::pending::<()>().await;
    }
}

async fn write_loop(
    hub: &Hub,
    shared: &ClientShared,
    history: Vec<Message>,
    sink: &mut Sink,
    last_heard: &LastHeard,
) -> End {
    for msg in history {
        sink.feed(msg);
    }
    if sink.flush().await.is_err() {
        return End::Broken;
    }
    let every = hub.config.ping_interval;
    let mut ping = (!every.is_zero()).then(|| {
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    loop {
        let next = tokio::select! {
            msg = shared.recv() => msg,
            _ = async { match &mut ping { Some(t) => t.tick().await, None => std::future::pending().await } } => {
                // Browsers answer pings by themselves; silence for two
                // intervals means the peer or the path is gone.
                if last_heard.elapsed() > every * 2 {
                    return End::Kick(Kick {
                        code: close_code::PING_TIMEOUT,
                        reason: "no pong: connection timed out",
                    });
                }
                Some(Message::Ping(Bytes::new()))
            }
            () = shared.pong_wanted.notified() => match shared.take_pong() {
                Some(payload) => Some(Message::Pong(payload)),
                None => continue,
            },
        };
        let Some(msg) = next else { break };
        // Write everything queued, then flush once: one flush per burst
        // rather than per message (a `pos` frame follows every message).
        let mut next = Some(msg);
        while let Some(msg) = next {
            let is_data = !matches!(msg, Message::Ping(_) | Message::Pong(_));
            let len = message_len(&msg);
            sink.feed(msg);
            if is_data {
                hub.dequeued(shared, len);
            }
            next = shared.try_recv();
        }
        if sink.flush().await.is_err() {
            return End::Broken;
        }
    }
    // The room dropped our sender: we were kicked; the select sees the kick.
    std::future::pending().await
}

async fn read_loop(
    hub: &Hub,
    room: &Room,
    id: u64,
    shared: &ClientShared,
    mut first: Option<Message>,
    stream: &mut Stream,
    last_heard: &LastHeard,
) -> End {
    let cfg = &hub.config;
    let mut rate = RateLimit::new(
        cfg.rate_messages_per_sec,
        cfg.rate_burst_messages,
        cfg.rate_bytes_per_sec,
        cfg.rate_burst_bytes,
        Instant::now(),
    );
    let mut invalid = 0_u32;
    loop {
        let next = match first.take() {
            Some(msg) => Ok(msg),
            None => match stream.next().await {
                Some(next) => next,
                None => break,
            },
        };
        last_heard.touch();
        let msg = match next {
            // Control frames are between a client and the relay: a later
            // `resume` is ignored, and none is ever relayed.
            Ok(Message::Binary(b)) if control::is_control(&b) => continue,
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => msg,
            Ok(Message::Ping(payload)) => {
                shared.pong(payload);
                continue;
            }
            Ok(Message::Pong(_)) => continue,
            Ok(Message::Close(frame)) => return End::ClientClosed(frame.map(|f| f.code)),
            Err(err) => {
                let kick = close_for(&err);
                tracing::info!(room = room.name(), client = id, %err, max_message_size = cfg.max_message_size, "read error");
                return kick.map_or(End::Broken, End::Kick);
            }
        };
        let len = message_len(&msg);
        match cfg.rate_mode {
            RateMode::Close => {
                if let Err(which) = rate.check(len, Instant::now()) {
                    hub.rate_limited.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        room = room.name(),
                        client = id,
                        ?which,
                        "rate limit exceeded, closing"
                    );
                    return End::Kick(Kick {
                        code: close_code::POLICY_VIOLATION,
                        reason: match which {
                            Exceeded::Messages => "rate limit: too many messages",
                            Exceeded::Bytes => "rate limit: too many bytes",
                        },
                    });
                }
            }
            RateMode::Throttle => {
                let wait = rate.reserve(len, Instant::now());
                if !wait.is_zero() {
                    // Not reading meanwhile is the throttle: the client's
                    // socket fills and its sends slow down.
                    hub.rate_limited.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(
                        room = room.name(),
                        client = id,
                        ?wait,
                        "rate limit: throttling"
                    );
                    Box::pin(tokio::time::sleep(wait)).await;
                    // We chose not to read meanwhile: that is not silence.
                    last_heard.touch();
                }
            }
        }
        if cfg.validate {
            if let Err(why) = crate::validate::check(&msg) {
                invalid += 1;
                hub.invalid_frames.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(room = room.name(), client = id, len, %why, invalid, "invalid frame dropped");
                if cfg.max_invalid_frames > 0 && invalid >= cfg.max_invalid_frames {
                    return End::Kick(Kick {
                        code: close_code::INVALID_PAYLOAD,
                        reason: "too many invalid frames",
                    });
                }
                continue;
            }
        }
        hub.messages_in.fetch_add(1, Ordering::Relaxed);
        match hub.cluster() {
            None => hub.broadcast(room, &msg),
            Some(cluster) => {
                if let Err(err) = cluster.publish(hub, room.name(), &msg).await {
                    tracing::warn!(room = room.name(), client = id, %err, "send failed, closing");
                    return End::Kick(STORE_KICK);
                }
            }
        }
    }
    End::Broken
}
