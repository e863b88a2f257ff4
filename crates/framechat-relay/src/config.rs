//! Relay settings: every limit with its default, and the close codes the relay sends.

use std::path::PathBuf;
use std::time::Duration;

/// One mebibyte.
pub const MIB: usize = 1024 * 1024;

/// Close codes the relay sends, and why.
///
/// Standard codes are from RFC 6455 §7.4.1; 4000–4999 are "reserved for
/// private use" (§7.4.2), which is where the application codes live.
pub mod close_code {
    /// "indicates that an endpoint is going away, such as a server going down"
    /// (RFC 6455 §7.4.1): sent to every client on graceful shutdown.
    pub const GOING_AWAY: u16 = 1001;
    /// "terminating the connection due to a protocol error": the client sent
    /// something the WebSocket layer could not parse.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// "received data within a message that was not consistent with the type of
    /// the message": a text message that is not UTF-8, or too many frames
    /// that failed `--validate`.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// "received a message that violates its policy": with
    /// [`RateMode::Close`](super::RateMode::Close), the client exceeded its
    /// rate limit (messages/s or bytes/s beyond its burst).
    pub const POLICY_VIOLATION: u16 = 1008;
    /// "received a message that is too big for it to process": a message
    /// larger than `max_message_size`.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// "Try Again Later" (IANA registry): the room is full, or the relay
    /// already has `max_rooms` rooms. Reconnecting later may work.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// Application code: this client could not keep up. Its outgoing queue
    /// (count or bytes) was full, so it was disconnected instead of slowing
    /// the room down or buffering without bound. Reconnecting replays the
    /// room's history.
    pub const SLOW_CONSUMER: u16 = 4000;
    /// Application code: nothing (not even a pong) came from this client for
    /// two ping intervals; the peer or the path to it is gone.
    pub const PING_TIMEOUT: u16 = 4001;
    /// Application code, cluster mode (`--redis`) only: the relay's shared
    /// store is unavailable or lost frames of this room. Sent when a client
    /// sends while Redis is away (that message was not relayed), when a
    /// client joins while Redis is away, and to the clients of a room whose
    /// live frames this node missed (its Pub/Sub connection dropped) or
    /// whose history Redis lost (new epoch). Reconnect with backoff and
    /// resend; `resume` recovers what was missed, or says `lost`.
    pub const STORE_UNAVAILABLE: u16 = 4002;
}

/// What the relay does with a client that sends faster than its rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateMode {
    /// Stop reading from that client until its buckets refill. TCP
    /// backpressure slows the sender (a browser's `bufferedAmount` grows and
    /// framechat's outbox waits); nothing is dropped and nobody is closed.
    /// Right for an image chat, whose bursts are legitimate.
    #[default]
    Throttle,
    /// Close the client with 1008 (policy violation) as soon as a message
    /// exceeds the burst.
    Close,
}

/// Every knob of the relay. [`Config::default`] lets a room of image-sharing
/// clients (256 KiB frames, bursts of several pictures) through untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Directory served at `/` (the built client). `index.html` is the
    /// fallback for unknown paths. `None`: `/` answers with a short text.
    pub static_dir: Option<PathBuf>,
    /// Largest message (text or binary) a client may send, in bytes. Larger
    /// ones close that client with 1009. Default 1 MiB, like daphne.
    pub max_message_size: usize,
    /// Most rooms alive at once; joining a new room beyond it closes with 1013.
    pub max_rooms: usize,
    /// Most clients in one room; one more closes with 1013.
    pub max_clients_per_room: usize,
    /// Throttle or close a client over its rate limit.
    pub rate_mode: RateMode,
    /// Sustained messages per second a client may send (token bucket). 0 = no limit.
    pub rate_messages_per_sec: u32,
    /// Messages a client may send in a burst above the sustained rate.
    pub rate_burst_messages: u32,
    /// Sustained bytes per second a client may send (token bucket). 0 = no limit.
    pub rate_bytes_per_sec: usize,
    /// Bytes a client may send in a burst above the sustained rate.
    pub rate_burst_bytes: usize,
    /// Most messages waiting to be written to one client. Full: close 4000.
    pub queue_messages: usize,
    /// Most bytes waiting to be written to one client. Full: close 4000.
    /// Messages are shared between clients (reference counted), so this caps
    /// what one client can pin, not a copy per client.
    pub queue_bytes: usize,
    /// Most whole messages of history kept per room (oldest whole message
    /// evicted first); a resuming client can recover this far back.
    pub history_messages: usize,
    /// Most bytes of history kept per room (whole messages); also the most
    /// bytes of unfinished messages a room keeps aside.
    pub history_bytes: usize,
    /// Whole messages replayed to a client that joins without a position
    /// (the newest ones).
    pub replay_messages: usize,
    /// Unfinished messages a room tracks at once (oldest dropped beyond).
    pub open_messages: usize,
    /// How long a room without clients keeps its history.
    pub history_idle: Duration,
    /// Most bytes of history across all rooms: beyond it, idle rooms go
    /// first, then the oldest messages of the biggest rooms.
    pub history_total_bytes: usize,
    /// How long the relay waits, after its `hello`, for the client's
    /// `resume` before replaying recent history (clients that do not know
    /// the control frames never send one).
    pub hello_wait: Duration,
    /// Origins allowed besides the relay's own (`Origin` equal to
    /// `http(s)://<Host>`), e.g. `http://127.0.0.1:8081`; `*` allows any.
    pub allow_origins: Vec<String>,
    /// Most WebSocket connections at once; beyond: HTTP 503.
    pub max_connections: usize,
    /// Most WebSocket connections from one client IP; beyond: HTTP 429.
    pub max_connections_per_ip: usize,

    /// Check that binary messages decode as framechat frames; drop those that don't.
    pub validate: bool,
    /// With `validate`: invalid frames from one client before it is closed
    /// with 1007. 0 = never close, only drop.
    pub max_invalid_frames: u32,
    /// The relay pings every client this often (keeping proxies from closing
    /// idle chats) and closes one it has not heard from for two intervals
    /// with 4001. Zero: no pings.
    pub ping_interval: Duration,
    /// How long a close handshake (ours or the client's) may take before the
    /// connection is dropped, and how long shutdown waits for connections.
    pub close_timeout: Duration,
    /// Most bytes a client's socket holds that TCP has not sent yet
    /// (`TCP_NOTSENT_LOWAT`, Linux); the rest waits in the client's queue
    /// here, and the relay writes more as the socket sends. Without it the
    /// kernel takes megabytes per socket ahead of what the network carries:
    /// a burst then goes out in small pieces, each clocked by an
    /// acknowledgement, which costs more CPU per byte on both ends and delays
    /// everything queued behind it. Only unsent bytes count, so a fast or
    /// distant client still has its whole window in flight. 0: the kernel's
    /// default (no limit).
    pub send_lowat: usize,
    /// Share rooms with other relay processes through the Redis at this URL
    /// (`redis://HOST:PORT/`): live frames through its Pub/Sub, history in
    /// it (capped by `history_messages` and `history_bytes`, kept for
    /// `history_idle` after the room's last message or join). `None`: rooms
    /// live in this process's memory.
    pub redis_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            static_dir: None,
            max_message_size: MIB,
            max_rooms: 256,
            max_clients_per_room: 64,
            rate_mode: RateMode::Throttle,
            rate_messages_per_sec: 50,
            rate_burst_messages: 200,
            rate_bytes_per_sec: 8 * MIB,
            rate_burst_bytes: 32 * MIB,
            queue_messages: 1024,
            queue_bytes: 64 * MIB,
            history_messages: 500,
            history_bytes: 32 * MIB,
            replay_messages: 50,
            open_messages: 64,
            history_idle: Duration::from_secs(24 * 3600),
            history_total_bytes: 512 * MIB,
            hello_wait: Duration::from_secs(1),
            allow_origins: Vec::new(),
            max_connections: 20_000,
            max_connections_per_ip: 1_000,
            validate: false,
            max_invalid_frames: 10,
            ping_interval: Duration::from_secs(30),
            close_timeout: Duration::from_secs(5),
            send_lowat: 64 * 1024,
            redis_url: None,
        }
    }
}

/// Longest room name accepted in `/ws/chat/<room>/`.
pub const MAX_ROOM_NAME_LEN: usize = 64;

/// Whether `name` is an acceptable room name: 1 to [`MAX_ROOM_NAME_LEN`]
/// bytes of ASCII letters, digits, `-`, `_` and `.` (the Django Channels
/// tutorial's room names, which end up in group names, allow the same).
#[must_use]
pub fn valid_room_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ROOM_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names() {
        for ok in ["lobby", "a", "room-1_b.c", &"x".repeat(MAX_ROOM_NAME_LEN)] {
            assert!(valid_room_name(ok), "{ok:?} should be valid");
        }
        for bad in [
            "",
            "a b",
            "a/b",
            "é",
            "%2e",
            "<script>",
            &"x".repeat(MAX_ROOM_NAME_LEN + 1),
        ] {
            assert!(!valid_room_name(bad), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn default_fits_a_256_kib_image_chat() {
        let c = Config::default();
        let frame = 256 * 1024;
        assert!(c.max_message_size >= frame);
        assert!(c.rate_burst_bytes >= 10 * frame);
        assert!(c.queue_bytes >= 20 * frame);
        assert!(c.history_bytes >= frame);
    }
}
