//! Rooms shared by several relay processes through Redis (`--redis`).
//!
//! The design follows Centrifuge's Redis engine. Per room, under the key
//! prefix `fc:{<room>}:` (one hash slot): a meta hash (epoch, frame counter
//! `seq`, message counter `offset`, byte counts), a Redis Stream of finished
//! messages (one entry per whole message, id `<offset>-0`, capped by messages
//! and bytes: whole messages are evicted, never frames), the frames so far of
//! messages in progress, and the Pub/Sub channel `fc:{<room>}`. One Lua script
//! (`lua/publish.lua`) numbers a frame, records it in its message, gives a
//! finished message its offset, appends it to history and publishes the frame
//! with its position, atomically: every node sees every room's frames in one
//! order, and offsets, history and the live stream agree. Frames are grouped
//! into messages by [`history::classify`], the same rule as in-memory history.
//!
//! Each node holds one Pub/Sub connection, subscribed to the rooms it has
//! clients in; a task drains it at once into the rooms' client queues (which
//! never block: a slow client is dropped, see `hub`), and its senders wait
//! while 4 MiB it published are not yet read back (`flow`), so Redis's
//! Pub/Sub output buffer limit is reached neither through a slow client nor
//! through a burst of many senders. A joining client's
//! node subscribes first, then reads the snapshot; live frames that arrive
//! meanwhile are kept for it and filtered by `seq`, so there is no gap and no
//! duplicate. When the Pub/Sub connection drops, the node reconnects and
//! resubscribes; a room that missed frames meanwhile (its `seq` moved on) or
//! whose epoch changed closes its clients with
//! [`close_code::STORE_UNAVAILABLE`](crate::config::close_code::STORE_UNAVAILABLE)
//! so that they resume. A send that Redis cannot take closes its connection
//! with the same code.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::Message;
use futures_util::StreamExt as _;
use redis::Value;
use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot};

use crate::control::Request;
use crate::flow::Flow;
use crate::history::{self, Key, Part, Snapshot, Stored};
use crate::hub::{Hub, new_epoch};

/// Every Redis call is bounded by this: past it the store counts as unavailable.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait between two attempts to reconnect the Pub/Sub connection.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Redis did not answer (down, restarting, or too slow).
#[derive(Debug)]
pub(crate) struct Unavailable(pub String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis unavailable: {}", self.0)
    }
}

/// One frame as published by `publish.lua`.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub epoch: String,
    /// The room's frame number (1, 2, … with no gap in one epoch).
    pub seq: u64,
    /// The position of the message this frame ends (0: none).
    pub offset: u64,
    /// Non-zero: only clients whose snapshot is older than this `seq` get
    /// the frame (the others never got its message's start).
    pub upto: u64,
    pub msg: Message,
}

/// What the Pub/Sub task is asked to do.
#[derive(Debug)]
enum Cmd {
    /// Subscribe to a room (if not yet); answers once it is subscribed.
    Sub(String, oneshot::Sender<bool>),
    Unsub(String),
}

/// A node's connections to Redis.
pub(crate) struct Cluster {
    manager: ConnectionManager,
    publish: redis::Script,
    snapshot: redis::Script,
    /// Seconds a room's keys outlive its last message or join.
    ttl: u64,
    cmds: mpsc::UnboundedSender<Cmd>,
    flow: Arc<Flow>,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster").finish_non_exhaustive()
    }
}

fn prefix(room: &str) -> String {
    format!("fc:{{{room}}}:")
}

fn channel(room: &str) -> String {
    format!("fc:{{{room}}}")
}

/// The script's five keys of `room` (see `lua/common.lua`).
fn keys(room: &str) -> [String; 5] {
    let p = prefix(room);
    ["meta", "hist", "sizes", "open", "dropped"].map(|k| format!("{p}{k}"))
}

/// A frame as stored: `t` (text) or `b` (binary), u32 BE length, bytes.
fn record(msg: &Message) -> Vec<u8> {
    let (kind, bytes): (u8, &[u8]) = match msg {
        Message::Text(t) => (b't', t.as_bytes()),
        Message::Binary(b) => (b'b', b),
        _ => return Vec::new(),
    };
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    let mut v = Vec::with_capacity(5 + bytes.len());
    v.push(kind);
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(bytes);
    v
}

/// The frames of concatenated records; `None` if malformed.
fn records(data: &[u8]) -> Option<Vec<Message>> {
    let data = Bytes::copy_from_slice(data);
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let kind = *data.get(at)?;
        let len: [u8; 4] = data.get(at + 1..at + 5)?.try_into().ok()?;
        let len = usize::try_from(u32::from_be_bytes(len)).ok()?;
        let end = (at + 5).checked_add(len)?;
        if end > data.len() {
            return None;
        }
        out.push(message(kind, data.slice(at + 5..end))?);
        at = end;
    }
    Some(out)
}

fn message(kind: u8, bytes: Bytes) -> Option<Message> {
    match kind {
        b'b' => Some(Message::Binary(bytes)),
        b't' => Some(Message::Text(bytes.try_into().ok()?)),
        _ => None,
    }
}

/// The script's part code and message key of a frame.
fn part_code(part: Part) -> (&'static str, String) {
    let key = |k: &Key| match k {
        Key::Plain { from, id } => format!("p{id:032x}{from}"),
        Key::Sealed(tag) => {
            let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
            format!("s{hex}")
        }
    };
    match part {
        Part::Whole => ("W", String::new()),
        Part::Begin(k, true) => ("C", key(&k)),
        Part::Begin(k, false) => ("B", key(&k)),
        Part::Middle(k) => ("M", key(&k)),
        Part::End(k) => ("E", key(&k)),
    }
}

/// The first of the two messages `publish.lua` publishes per frame:
/// `"#<epoch> <seq> <offset> <upto> <tag>"`; the frame's record follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    epoch: String,
    seq: u64,
    offset: u64,
    upto: u64,
    /// The publishing relay's tag (see `flow`).
    tag: String,
}

impl Head {
    pub(crate) fn decode(payload: &[u8]) -> Option<Self> {
        let head = std::str::from_utf8(payload.strip_prefix(b"#")?).ok()?;
        let mut it = head.split(' ');
        let epoch = it.next()?.to_owned();
        let mut num = || it.next()?.parse::<u64>().ok();
        let (seq, offset, upto) = (num()?, num()?, num()?);
        let tag = it.next()?.to_owned();
        Some(Self {
            epoch,
            seq,
            offset,
            upto,
            tag,
        })
    }

    /// The frame this head announced, from the record published after it.
    pub(crate) fn frame(self, record: &[u8]) -> Option<Frame> {
        let kind = *record.first()?;
        let msg = message(kind, Bytes::copy_from_slice(record.get(5..)?))?;
        Some(Frame {
            epoch: self.epoch,
            seq: self.seq,
            offset: self.offset,
            upto: self.upto,
            msg,
        })
    }
}

fn int(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Int(n) => u64::try_from(*n).ok(),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn bulk(v: Option<&Value>) -> Option<&[u8]> {
    match v? {
        Value::BulkString(b) => Some(b),
        _ => None,
    }
}

fn array(v: Option<&Value>) -> Option<&[Value]> {
    match v? {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

async fn bounded<T>(
    what: &str,
    fut: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, Unavailable> {
    match tokio::time::timeout(TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(err)) => Err(Unavailable(format!("{what}: {err}"))),
        Err(_) => Err(Unavailable(format!("{what}: no answer in {TIMEOUT:?}"))),
    }
}

impl Cluster {
    /// Connects to Redis at `url` and starts the node's Pub/Sub task, which
    /// delivers to `hub`'s rooms.
    /// A room's keys outlive its last message or join by `ttl`.
    pub async fn connect(
        url: &str,
        ttl: Duration,
        hub: Weak<Hub>,
    ) -> Result<Arc<Self>, Unavailable> {
        let client =
            redis::Client::open(url).map_err(|e| Unavailable(format!("bad URL {url:?}: {e}")))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT)
            .set_number_of_retries(1)
            .set_max_delay(500);
        let manager = bounded(
            &format!("connecting to {url}"),
            client.get_connection_manager_with_config(config),
        )
        .await?;
        let common = include_str!("lua/common.lua");
        let script = |body: &str| redis::Script::new(&format!("{common}\n{body}"));
        let (tx, rx) = mpsc::unbounded_channel();
        let flow = Arc::new(Flow::new(TIMEOUT));
        let cluster = Arc::new(Self {
            flow: Arc::clone(&flow),
            publish: script(include_str!("lua/publish.lua")),
            snapshot: script(include_str!("lua/snapshot.lua")),
            manager: manager.clone(),
            ttl: ttl.as_secs().max(1),
            cmds: tx,
            task: Mutex::new(None),
        });
        let task = tokio::spawn(pubsub(client, manager, hub, flow, rx));
        if let Ok(mut slot) = cluster.task.lock() {
            *slot = Some(task.abort_handle());
        }
        tracing::info!(%url, "sharing rooms through redis");
        Ok(cluster)
    }

    /// Stops the Pub/Sub task (the relay is stopping).
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().ok().and_then(|mut t| t.take()) {
            task.abort();
        }
    }

    /// Asks for `room`'s live frames; the answer says when they flow.
    pub fn subscribe(&self, room: &str) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        // The task lives as long as the relay serves; without it, `rx`
        // reports failure.
        let _ = self.cmds.send(Cmd::Sub(room.to_owned(), tx));
        rx
    }

    /// No client of this node is in `room` any more.
    pub fn unsubscribe(&self, room: &str) {
        let _ = self.cmds.send(Cmd::Unsub(room.to_owned()));
    }

    /// Waits for `subscribed`, then reads `room`'s epoch and newest offset
    /// (creating the room's epoch if it has none).
    pub async fn open(
        &self,
        room: &str,
        subscribed: Option<oneshot::Receiver<bool>>,
    ) -> Result<(String, u64), Unavailable> {
        if let Some(rx) = subscribed {
            let ok = tokio::time::timeout(TIMEOUT, rx).await;
            if !matches!(ok, Ok(Ok(true))) {
                return Err(Unavailable("cannot subscribe".into()));
            }
        }
        let v = self.call_snapshot(room, "meta", 0, "").await?;
        let a = array(Some(&v));
        let meta = (
            text(a.and_then(|a| a.first())),
            int(a.and_then(|a| a.get(2))),
        );
        match meta {
            (Some(epoch), Some(offset)) => Ok((epoch, offset)),
            _ => Err(Unavailable(format!("unexpected answer {v:?}"))),
        }
    }

    async fn call_snapshot(
        &self,
        room: &str,
        mode: &str,
        arg: u64,
        epoch: &str,
    ) -> Result<Value, Unavailable> {
        let mut inv = self.snapshot.prepare_invoke();
        for k in keys(room) {
            inv.key(k);
        }
        inv.arg(prefix(room))
            .arg(new_epoch())
            .arg(self.ttl)
            .arg(mode)
            .arg(arg)
            .arg(epoch);
        let mut conn = self.manager.clone();
        bounded("snapshot", inv.invoke_async::<Value>(&mut conn)).await
    }

    /// What a client joining `room` with `request` is replayed, and the
    /// room's `seq` at that moment (live frames up to it are in the snapshot).
    pub async fn snapshot(
        &self,
        room: &str,
        request: Option<&Request>,
        fresh: usize,
    ) -> Result<(Snapshot, u64), Unavailable> {
        let v = match request {
            Some(Request::After { epoch, offset }) => {
                self.call_snapshot(room, "after", *offset, epoch).await?
            }
            None | Some(Request::Fresh) => {
                let n = u64::try_from(fresh).unwrap_or(u64::MAX);
                self.call_snapshot(room, "fresh", n, "").await?
            }
        };
        parse_snapshot(&v).ok_or_else(|| Unavailable("unexpected snapshot answer".into()))
    }

    /// Relays `msg` to every client of `room` on every node, recording it
    /// in the room's history.
    pub async fn publish(&self, hub: &Hub, room: &str, msg: &Message) -> Result<(), Unavailable> {
        let (part, key) = part_code(history::classify(msg));
        let rec = record(msg);
        // Wait for room in this relay's window (see `flow`).
        let Some(reserved) = self.flow.reserve(rec.len()).await else {
            return Err(Unavailable(format!(
                "publish: frames sent in the last {TIMEOUT:?} not read back"
            )));
        };
        let cfg = &hub.config;
        let mut inv = self.publish.prepare_invoke();
        for k in keys(room) {
            inv.key(k);
        }
        inv.arg(prefix(room))
            .arg(new_epoch())
            .arg(self.ttl)
            .arg(part)
            .arg(key)
            .arg(rec)
            .arg(cfg.history_messages)
            .arg(cfg.history_bytes)
            .arg(cfg.open_messages)
            .arg(channel(room))
            .arg(reserved.tag.clone());
        let mut conn = self.manager.clone();
        let id = self.flow.publishing(reserved);
        let done = bounded("publish", inv.invoke_async::<Value>(&mut conn)).await;
        if done.is_err() {
            self.flow.failed(id);
        }
        done.map(drop)
    }
}

fn parse_snapshot(v: &Value) -> Option<(Snapshot, u64)> {
    let a = array(Some(v))?;
    let epoch = text(a.first())?;
    let seq = int(a.get(1))?;
    let offset = int(a.get(2))?;
    let first_kept = int(a.get(3))?;
    let mut done = Vec::new();
    for e in array(a.get(4))?.chunks(3) {
        let off = int(e.first())?;
        let frames = match bulk(e.get(1))? {
            b"d" => Some(records(bulk(e.get(2))?)?),
            _ => None,
        };
        done.push(Stored::new(off, frames));
    }
    let mut open = Vec::new();
    for data in array(a.get(5))? {
        open.extend(records(bulk(Some(data))?)?);
    }
    Some((Snapshot::new(epoch, offset, first_kept, done, open), seq))
}

/// The node's Pub/Sub connection: (re)connects, (re)subscribes, and hands
/// every published frame to its room at once.
async fn pubsub(
    client: redis::Client,
    mut manager: ConnectionManager,
    hub: Weak<Hub>,
    flow: Arc<Flow>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
) {
    let mut wanted: HashSet<String> = HashSet::new();
    let mut backoff = Duration::from_millis(50);
    let mut first = true;
    loop {
        let connected = bounded("pubsub connect", client.get_async_pubsub()).await;
        let (mut sink, mut stream) = match connected {
            Ok(p) => p.split(),
            Err(err) => {
                tracing::warn!(%err, "redis pub/sub down; retrying in {backoff:?}");
                if !offline(&mut cmds, &mut wanted, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if !wanted.is_empty() {
            let all: Vec<String> = wanted.iter().map(|r| channel(r)).collect();
            if let Err(err) = bounded("resubscribe", sink.subscribe(&all)).await {
                tracing::warn!(%err, "cannot resubscribe; retrying in {backoff:?}");
                if !offline(&mut cmds, &mut wanted, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        }
        if !first {
            // Frames published while this node was not subscribed are lost to
            // it: a room whose counter moved on closes its clients (they resume).
            for room in &wanted {
                let mut cmd = redis::cmd("HMGET");
                cmd.arg(format!("{}meta", prefix(room)))
                    .arg("epoch")
                    .arg("seq");
                // The first command after an outage may meet the command
                // connection's old socket; the manager reconnects for the next.
                let mut meta = bounded("meta", cmd.query_async(&mut manager)).await;
                if meta.is_err() {
                    meta = bounded("meta", cmd.query_async(&mut manager)).await;
                }
                let Some(hub) = hub.upgrade() else { return };
                match meta {
                    Ok((epoch, seq)) => {
                        let (epoch, seq): (Option<String>, Option<u64>) = (epoch, seq);
                        hub.check_room(room, epoch.as_deref(), seq.unwrap_or(0));
                    }
                    // Cannot tell what the room missed: its clients resume.
                    Err(_) => hub.check_room(room, None, 0),
                }
            }
            tracing::info!(
                rooms = wanted.len(),
                "redis pub/sub back, rooms resubscribed"
            );
        }
        first = false;
        backoff = Duration::from_millis(50);
        flow.reset();
        // The head of a frame whose record comes next, and its channel.
        let mut head: Option<(String, Head)> = None;
        loop {
            tokio::select! {
                biased;
                msg = stream.next() => {
                    let Some(msg) = msg else {
                        tracing::warn!("redis pub/sub connection lost; reconnecting");
                        break;
                    };
                    let name = msg.get_channel_name();
                    let payload = msg.get_payload_bytes();
                    let frame = match head.take() {
                        // A script publishes both at once: a record follows its
                        // head on the same channel.
                        Some((channel, h)) if channel == name => h.frame(payload),
                        _ => {
                            // A head (or, should a record come alone, nothing: the
                            // room's next frame shows the gap and its clients resume).
                            if let Some(h) = Head::decode(payload) {
                                flow.echoed(&h.tag);
                                head = Some((name.to_owned(), h));
                                continue;
                            }
                            None
                        }
                    };
                    let room = name.strip_prefix("fc:{").and_then(|r| r.strip_suffix('}'));
                    match (room, frame, hub.upgrade()) {
                        (Some(room), Some(frame), Some(hub)) => hub.dispatch(room, frame),
                        (_, _, None) => return,
                        _ => tracing::warn!(channel = name, "unreadable pub/sub message dropped"),
                    }
                }
                cmd = cmds.recv() => match cmd {
                    None => return,
                    Some(Cmd::Sub(room, tx)) => {
                        if wanted.contains(&room) {
                            let _ = tx.send(true);
                            continue;
                        }
                        let ok = bounded("subscribe", sink.subscribe(channel(&room))).await;
                        let _ = tx.send(ok.is_ok());
                        if let Err(err) = ok {
                            tracing::warn!(%err, room, "cannot subscribe");
                            break;
                        }
                        wanted.insert(room);
                    }
                    Some(Cmd::Unsub(room)) => {
                        if wanted.remove(&room) {
                            if let Err(err) = bounded("unsubscribe", sink.unsubscribe(channel(&room))).await {
                                tracing::warn!(%err, room, "cannot unsubscribe");
                                break;
                            }
                        }
                    }
                },
            }
        }
    }
}

/// Waits `backoff` while Redis is away, refusing subscriptions meanwhile;
/// `false` once the relay is gone.
async fn offline(
    cmds: &mut mpsc::UnboundedReceiver<Cmd>,
    wanted: &mut HashSet<String>,
    backoff: Duration,
) -> bool {
    let wait = tokio::time::sleep(backoff);
    tokio::pin!(wait);
    loop {
        tokio::select! {
            () = &mut wait => return true,
            cmd = cmds.recv() => match cmd {
                None => return false,
                Some(Cmd::Sub(_, tx)) => {
                    let _ = tx.send(false);
                }
                Some(Cmd::Unsub(room)) => {
                    wanted.remove(&room);
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let frames = [
            Message::Binary(Bytes::from_static(&[0xFC, 0, 1, 2])),
            Message::Text("héllo".into()),
            Message::Binary(Bytes::new()),
        ];
        let data: Vec<u8> = frames.iter().flat_map(record).collect();
        assert_eq!(records(&data), Some(frames.to_vec()));
        assert_eq!(records(&data[..data.len() - 1]), None);
        assert_eq!(records(&[b'x', 0, 0, 0, 0]), None);
    }

    #[test]
    fn a_published_head_and_its_record_make_the_frame() {
        let head = Head::decode(b"#0123456789abcdef 7 3 0 n:1").expect("decodes");
        assert_eq!(head.tag, "n:1");
        let rec = record(&Message::Binary(Bytes::from_static(b"abc")));
        let f = head.frame(&rec).expect("a frame");
        assert_eq!(
            (f.epoch.as_str(), f.seq, f.offset, f.upto),
            ("0123456789abcdef", 7, 3, 0)
        );
        assert_eq!(f.msg, Message::Binary(Bytes::from_static(b"abc")));
        // A record is not a head, nor is a head without its fields.
        assert!(Head::decode(&rec).is_none());
        assert!(Head::decode(b"#e 1 2").is_none());
        assert!(Head::decode(b"0123456789abcdef 7 3 0 n:1").is_none());
        // What follows a head must be a record.
        let head = Head::decode(b"#e 1 0 0 t").expect("decodes");
        assert!(head.clone().frame(b"x").is_none());
        assert!(head.frame(b"q\0\0\0\0").is_none());
    }
}
