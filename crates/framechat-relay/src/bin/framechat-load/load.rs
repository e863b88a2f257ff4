//! Load generator: many WebSocket clients in several rooms exchanging
//! image-sized binary messages through any relay with the `/ws/chat/<room>/`
//! route shape, counting lost and reordered messages and measuring latency.
//!
//! Each message starts with a 16-byte stamp, the rest is filler:
//!
//! ```text
//! +-----------+-----------+---------------------------+-------------+
//! | sender id | sequence  | sent at, µs since start   | filler      |
//! | u32 BE    | u32 BE    | u64 BE                    | size - 16   |
//! +-----------+-----------+---------------------------+-------------+
//! ```
//!
//! Client `i` joins room `i % rooms`. Every client sends `messages / clients`
//! messages and receives every message of its room, its own included. A
//! sender keeps at most `window` of its own messages in flight: it sends the
//! next one when the relay has echoed an earlier one back to it (a chat
//! client uploading pictures one after another), so the load is the same for
//! any relay and measures the relay rather than how much it buffers.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Barrier, Semaphore};
use tokio_tungstenite::tungstenite::{self, Message, protocol::WebSocketConfig};

/// Bytes of the stamp at the start of every load message.
pub const STAMP_LEN: usize = 16;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Base URLs of the rooms, e.g. `ws://127.0.0.1:8080/ws/chat/`; the room
    /// name and a `/` are appended. Several URLs are the nodes of one cluster:
    /// the clients of every room are spread over all of them.
    pub urls: Vec<String>,
    /// Number of clients.
    pub clients: usize,
    /// Number of rooms.
    pub rooms: usize,
    /// Messages sent in total (split evenly between clients).
    pub messages: usize,
    /// Size of each message in bytes (at least [`STAMP_LEN`]).
    pub size: usize,
    /// Own messages a sender may have in flight.
    pub window: usize,
    /// Senders per room (the first ones of each room); 0: every client sends.
    pub senders_per_room: usize,
    /// Gives up after this long; whatever has not arrived is lost.
    pub timeout: Duration,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            urls: vec!["ws://127.0.0.1:8080/ws/chat/".into()],
            clients: 200,
            rooms: 10,
            messages: 2000,
            size: 200 * 1024,
            window: 1,
            senders_per_room: 0,
            timeout: Duration::from_secs(120),
        }
    }
}

/// Why a load run could not start.
#[derive(Debug)]
pub enum LoadError {
    /// The configuration cannot work (zero clients, tiny messages, …).
    Config(&'static str),
    /// A client could not connect.
    Connect {
        /// The URL tried.
        url: String,
        /// What tungstenite said.
        source: tungstenite::Error,
    },
    /// Connecting took longer than the run's timeout.
    ConnectTimeout,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(why) => write!(f, "invalid load config: {why}"),
            Self::Connect { url, source } => write!(f, "cannot connect to {url}: {source}"),
            Self::ConnectTimeout => f.write_str("timed out connecting clients"),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What a load run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Messages sent by all clients.
    pub sent: u64,
    /// Deliveries expected: each message times the clients of its room.
    pub expected: u64,
    /// Deliveries that arrived.
    pub delivered: u64,
    /// Expected deliveries that never arrived.
    pub lost: u64,
    /// Deliveries that arrived out of their sender's order.
    pub reordered: u64,
    /// Deliveries seen twice.
    pub duplicated: u64,
    /// Clients closed by the relay before they had everything (close code, count).
    pub closed_early: Vec<(Option<u16>, u64)>,
    /// Payload bytes delivered.
    pub bytes_delivered: u64,
    /// From the first send to the last delivery.
    pub elapsed: Duration,
    /// Median send→receive latency.
    pub p50: Duration,
    /// 99th percentile send→receive latency.
    pub p99: Duration,
    /// Worst send→receive latency.
    pub max: Duration,
}

impl LoadReport {
    /// Delivered payload, in MB (10^6 bytes) per second.
    #[must_use]
    pub fn throughput_mb_s(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            // Byte counts stay far below 2^53.
            #[allow(clippy::cast_precision_loss)]
            let mb = self.bytes_delivered as f64 / 1e6;
            mb / secs
        } else {
            0.0
        }
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "sent {} messages, delivered {}/{} ({} lost, {} reordered, {} duplicated)",
            self.sent, self.delivered, self.expected, self.lost, self.reordered, self.duplicated
        )?;
        for (code, n) in &self.closed_early {
            writeln!(f, "{n} clients closed early with code {code:?}")?;
        }
        write!(
            f,
            "{:.1} MB/s delivered ({} bytes in {:.3} s); latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.throughput_mb_s(),
            self.bytes_delivered,
            self.elapsed.as_secs_f64(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.max.as_secs_f64() * 1e3,
        )
    }
}

/// One client's view after the run.
#[derive(Debug, Default)]
struct ClientResult {
    delivered: u64,
    reordered: u64,
    duplicated: u64,
    bytes: u64,
    /// `(sender, sequence numbers seen)` — to count losses.
    seen: Vec<(u32, u32)>,
    latencies_us: Vec<u64>,
    closed_with: Option<Option<u16>>,
    last_receive: Option<Instant>,
}

fn stamp(buf: &mut [u8], sender: u32, seq: u32, micros: u64) {
    if let Some(head) = buf.get_mut(..STAMP_LEN) {
        let mut s = [0_u8; STAMP_LEN];
        s[..4].copy_from_slice(&sender.to_be_bytes());
        s[4..8].copy_from_slice(&seq.to_be_bytes());
        s[8..].copy_from_slice(&micros.to_be_bytes());
        head.copy_from_slice(&s);
    }
}

/// Reads a stamp: `(sender, sequence, sent-at µs)`.
#[must_use]
pub fn read_stamp(data: &[u8]) -> Option<(u32, u32, u64)> {
    let sender = u32::from_be_bytes(data.get(0..4)?.try_into().ok()?);
    let seq = u32::from_be_bytes(data.get(4..8)?.try_into().ok()?);
    let micros = u64::from_be_bytes(data.get(8..16)?.try_into().ok()?);
    Some((sender, seq, micros))
}

/// A tag for this run's room names, so that runs against the same relay
/// never meet an earlier run's rooms (framechat-relay keeps an idle room's
/// history, and replays it to whoever joins).
pub fn run_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!("{:x}{nanos:x}", std::process::id())
    })
    .clone()
}

/// First byte of framechat-relay's control frames.
const CONTROL: u8 = 0xFE;

/// How long a fresh connection waits for a `hello` (relays that do not send
/// one, such as the Node `ws` relay, cost this once, before the run starts).
const HELLO_WAIT: Duration = Duration::from_millis(1500);

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Answers framechat-relay's `hello` with a fresh `resume`, so that the relay
/// does not wait for one; other relays send no hello.
pub async fn greet(mut ws: Ws) -> Result<Ws, tungstenite::Error> {
    match tokio::time::timeout(HELLO_WAIT, ws.next()).await {
        Ok(Some(Ok(Message::Binary(b)))) if b.first() == Some(&CONTROL) => {
            let json = br#"{"kind":"resume"}"#;
            let mut frame = vec![CONTROL, 0, 17];
            frame.extend_from_slice(json);
            ws.send(Message::Binary(frame.into())).await?;
            Ok(ws)
        }
        Ok(Some(Err(err))) => Err(err),
        // Timeout, or something else: the rooms are fresh, so nothing else
        // should come before the run (a stray message is counted as lost).
        _ => Ok(ws),
    }
}

/// The node client `i` connects to: the clients of a room take the nodes in turn
/// (client `i` is the `i / rooms`-th of room `i % rooms`), so every room has
/// members on every node and each message crosses the cluster.
fn node_url(urls: &[String], rooms: usize, i: usize) -> &str {
    let nth = i / rooms.max(1);
    urls.get(nth % urls.len().max(1)).map_or("", String::as_str)
}

fn micros_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Runs the load and reports what arrived.
///
/// # Errors
/// A bad configuration, or a client that could not connect.
pub async fn run(cfg: &LoadConfig) -> Result<LoadReport, LoadError> {
    if cfg.clients == 0 || cfg.rooms == 0 || cfg.rooms > cfg.clients {
        return Err(LoadError::Config("need clients >= rooms >= 1"));
    }
    if cfg.size < STAMP_LEN {
        return Err(LoadError::Config("size must be at least 16 bytes"));
    }
    if cfg.window == 0 {
        return Err(LoadError::Config("window must be at least 1"));
    }
    if cfg.urls.is_empty() {
        return Err(LoadError::Config("need at least one URL"));
    }
    // Client i is the (i / rooms)-th of its room.
    let is_sender = |i: usize| cfg.senders_per_room == 0 || i / cfg.rooms < cfg.senders_per_room;
    let senders = (0..cfg.clients).filter(|&i| is_sender(i)).count();
    let per_client = cfg.messages / senders.max(1);
    let Ok(per_client_u32) = u32::try_from(per_client) else {
        return Err(LoadError::Config("too many messages"));
    };
    let deadline = tokio::time::Instant::now() + cfg.timeout;

    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(cfg.size.max(1 << 20) * 2))
        .max_frame_size(Some(cfg.size.max(1 << 20) * 2));
    let mut sockets = Vec::with_capacity(cfg.clients);
    let mut connects = Vec::with_capacity(cfg.clients);
    for i in 0..cfg.clients {
        let url = format!(
            "{}load{}-{}/",
            node_url(&cfg.urls, cfg.rooms, i),
            i % cfg.rooms,
            run_id()
        );
        connects.push(tokio::spawn(async move {
            let r = tokio_tungstenite::connect_async_with_config(&url, Some(ws_config), true).await;
            let r = match r {
                Ok((ws, resp)) => greet(ws).await.map(|ws| (ws, resp)),
                Err(err) => Err(err),
            };
            (url, r)
        }));
    }
    for c in connects {
        let Ok(joined) = tokio::time::timeout_at(deadline, c).await else {
            return Err(LoadError::ConnectTimeout);
        };
        match joined {
            Ok((_, Ok((ws, _)))) => sockets.push(ws),
            Ok((url, Err(source))) => return Err(LoadError::Connect { url, source }),
            Err(_) => return Err(LoadError::Config("connect task panicked")),
        }
    }

    let room_size = |room: usize| {
        (0..cfg.clients)
            .filter(|&i| i % cfg.rooms == room && is_sender(i))
            .count()
    };
    let barrier = Arc::new(Barrier::new(cfg.clients));
    let epoch = Instant::now();
    let mut tasks = Vec::with_capacity(cfg.clients);
    for (i, ws) in sockets.into_iter().enumerate() {
        let expected = room_size(i % cfg.rooms) * per_client;
        let barrier = Arc::clone(&barrier);
        let size = cfg.size;
        let window = cfg.window;
        let mine = if is_sender(i) { per_client_u32 } else { 0 };
        let Ok(me) = u32::try_from(i) else {
            return Err(LoadError::Config("too many clients"));
        };
        tasks.push(tokio::spawn(async move {
            let (mut sink, mut stream) = ws.split();
            let echoes = Arc::new(Semaphore::new(window));
            let sender_echoes = Arc::clone(&echoes);
            barrier.wait().await;
            let sender = tokio::spawn(async move {
                for seq in 0..mine {
                    let Ok(permit) = sender_echoes.acquire().await else {
                        break;
                    };
                    permit.forget();
                    let mut buf = vec![0_u8; size];
                    stamp(&mut buf, me, seq, micros_since(epoch));
                    if sink.send(Message::Binary(buf.into())).await.is_err() {
                        break;
                    }
                }
                sink
            });
            let mut r = ClientResult::default();
            let mut last_seq: std::collections::HashMap<u32, u32> = Default::default();
            let mut seen = std::collections::HashSet::new();
            while r.delivered < expected as u64 {
                let next = tokio::time::timeout_at(deadline, stream.next()).await;
                let msg = match next {
                    Ok(Some(Ok(msg))) => msg,
                    Ok(Some(Err(_)) | None) => {
                        r.closed_with.get_or_insert(None);
                        break;
                    }
                    Err(_) => break,
                };
                let data = match msg {
                    // framechat-relay's control frames (hello, pos).
                    Message::Binary(data) if data.first() == Some(&CONTROL) => continue,
                    Message::Binary(data) => data,
                    Message::Close(frame) => {
                        r.closed_with = Some(frame.map(|f| u16::from(f.code)));
                        break;
                    }
                    _ => continue,
                };
                let now = Instant::now();
                let Some((from, seq, sent_at)) = read_stamp(&data) else {
                    continue;
                };
                if !seen.insert((from, seq)) {
                    r.duplicated += 1;
                    continue;
                }
                r.delivered += 1;
                r.bytes += data.len() as u64;
                r.latencies_us
                    .push(micros_since(epoch).saturating_sub(sent_at));
                r.last_receive = Some(now);
                let in_order = match last_seq.get(&from) {
                    Some(&last) => seq == last.wrapping_add(1),
                    None => seq == 0,
                };
                if !in_order {
                    r.reordered += 1;
                }
                last_seq.insert(from, seq);
                if from == me {
                    echoes.add_permits(1);
                }
            }
            echoes.close();
            if let Ok(Ok(mut sink)) = tokio::time::timeout_at(deadline, sender).await {
                let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
            }
            r.seen = seen.into_iter().collect();
            r
        }));
    }

    let mut report = LoadReport::default();
    let mut latencies = Vec::new();
    let mut last = epoch;
    let mut closed: std::collections::BTreeMap<Option<u16>, u64> = Default::default();
    for t in tasks {
        let Ok(r) = t.await else { continue };
        report.delivered += r.delivered;
        report.reordered += r.reordered;
        report.duplicated += r.duplicated;
        report.bytes_delivered += r.bytes;
        latencies.extend(r.latencies_us);
        if let Some(t) = r.last_receive {
            last = last.max(t);
        }
        if let Some(code) = r.closed_with {
            *closed.entry(code).or_default() += 1;
        }
    }
    report.sent = (per_client * senders) as u64;
    report.expected = (0..cfg.clients)
        .map(|i| (room_size(i % cfg.rooms) * per_client) as u64)
        .sum();
    report.lost = report.expected.saturating_sub(report.delivered);
    report.closed_early = closed.into_iter().collect();
    report.elapsed = last.saturating_duration_since(epoch);
    latencies.sort_unstable();
    let pick = |q: f64| -> Duration {
        // Index = ceil(q * n) - 1, computed in integers: q is 0.5 or 0.99.
        let n = latencies.len();
        if n == 0 {
            return Duration::ZERO;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let per_mille = (q * 1000.0) as usize;
        let idx = (n * per_mille).div_ceil(1000).saturating_sub(1).min(n - 1);
        Duration::from_micros(latencies.get(idx).copied().unwrap_or(0))
    };
    report.p50 = pick(0.5);
    report.p99 = pick(0.99);
    report.max = Duration::from_micros(latencies.last().copied().unwrap_or(0));
    Ok(report)
}
