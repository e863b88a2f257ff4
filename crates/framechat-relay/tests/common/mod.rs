//! Helpers for the relay's integration tests: a relay on 127.0.0.1:0, clients, bounded waits.

#![allow(dead_code)]
// each test binary uses its own subset
// Test helpers fail the test by panicking, as the tests themselves do
// (clippy.toml allows it in #[test] functions, not in their helpers).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use framechat_relay::{Config, Relay};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Every wait in the tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(20);

pub mod redis_server;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A relay serving on a free loopback port.
pub struct Server {
    pub addr: SocketAddr,
    pub relay: Relay,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Triggers graceful shutdown and waits for `serve` to return.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("serve task");
        tokio::time::timeout(WAIT, task)
            .await
            .expect("serve returns after shutdown")
            .expect("serve task does not panic")
    }

    pub fn url(&self, room: &str) -> String {
        format!("ws://{}/ws/chat/{room}/", self.addr)
    }
}

/// Limits off (no rate limit, big queues, no history) so that each test
/// turns on only the limit it checks.
pub fn open_config() -> Config {
    Config {
        rate_messages_per_sec: 0,
        rate_bytes_per_sec: 0,
        queue_messages: 100_000,
        queue_bytes: 1 << 30,
        history_messages: 0,
        ..Config::default()
    }
}

pub async fn start(config: Config) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let relay = Relay::new(config);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(relay.clone().serve(listener, async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        relay,
        stop: Some(stop),
        task: Some(task),
    }
}

/// Opens a WebSocket to `url`, reads the relay's `hello` and answers with a
/// fresh `resume` (what a client that knows the control frames does).
pub async fn connect_url(url: &str) -> Ws {
    let mut ws = connect_plain(url).await;
    let hello = recv_any(&mut ws).await;
    assert_eq!(control_kind(&hello).as_deref(), Some("hello"), "{hello:?}");
    send(&mut ws, control(r#"{"kind":"resume"}"#)).await;
    ws
}

/// Opens a WebSocket to `url` and does nothing else (a client that does not
/// know the control frames: the relay waits `hello_wait` for it).
pub async fn connect_plain(url: &str) -> Ws {
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect in time")
        .expect("handshake");
    ws
}

/// A control frame: 0xFE, u16 BE length, JSON.
pub fn control(json: &str) -> Message {
    let mut v = vec![0xFE];
    v.extend_from_slice(&u16::try_from(json.len()).expect("short").to_be_bytes());
    v.extend_from_slice(json.as_bytes());
    Message::binary(v)
}

/// The JSON of a control frame, if `msg` is one.
pub fn control_json(msg: &Message) -> Option<serde_json::Value> {
    let Message::Binary(b) = msg else { return None };
    if b.first() != Some(&0xFE) {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([*b.get(1)?, *b.get(2)?]));
    assert_eq!(b.len(), 3 + len, "control frame length");
    serde_json::from_slice(&b[3..]).ok()
}

/// The `kind` of a control frame, if `msg` is one.
pub fn control_kind(msg: &Message) -> Option<String> {
    Some(control_json(msg)?.get("kind")?.as_str()?.to_owned())
}

/// Whether `msg` is a relay control frame.
pub fn is_control(msg: &Message) -> bool {
    matches!(msg, Message::Binary(b) if b.first() == Some(&0xFE))
}

/// Next data, control or close message (pings and pongs skipped), within [`WAIT`].
pub async fn recv_any(ws: &mut Ws) -> Message {
    loop {
        let next = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("message in time")
            .expect("stream not ended")
            .expect("no transport error");
        match next {
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            msg => return msg,
        }
    }
}

/// Next data or close message (pings, pongs and control frames skipped), within [`WAIT`].
pub async fn recv(ws: &mut Ws) -> Message {
    loop {
        let msg = recv_any(ws).await;
        if !is_control(&msg) {
            return msg;
        }
    }
}

/// [`recv`] on the read half of a split socket.
pub async fn next_data<S>(stream: &mut S) -> Message
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("message in time")
            .expect("stream not ended")
            .expect("no transport error");
        match msg {
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            msg if is_control(&msg) => {}
            msg => return msg,
        }
    }
}

/// Reads until a close frame; returns its code and how many data messages
/// came first. `None` as code: the connection ended without a close frame.
pub async fn read_until_close(ws: &mut Ws) -> (Option<u16>, usize) {
    let mut data = 0;
    loop {
        let next = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("close in time");
        match next {
            Some(Ok(Message::Close(frame))) => return (frame.map(|f| u16::from(f.code)), data),
            Some(Ok(msg)) if is_control(&msg) => {}
            Some(Ok(Message::Binary(_) | Message::Text(_))) => data += 1,
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return (None, data),
        }
    }
}

/// Closes `ws` and waits for the relay's answer (it has left its room by then).
pub async fn close(mut ws: Ws) {
    tokio::time::timeout(WAIT, ws.close(None))
        .await
        .expect("close in time")
        .expect("close");
    assert_eq!(read_until_close(&mut ws).await.0, None);
}

pub async fn send(ws: &mut Ws, msg: Message) {
    tokio::time::timeout(WAIT, ws.send(msg))
        .await
        .expect("send in time")
        .expect("send");
}

/// A v1 frame: 0xFC, u16 BE header length, header JSON, payload.
pub fn v1(json: &str, payload: &[u8]) -> Message {
    let mut v = vec![0xFC];
    v.extend_from_slice(&u16::try_from(json.len()).expect("short").to_be_bytes());
    v.extend_from_slice(json.as_bytes());
    v.extend_from_slice(payload);
    Message::binary(v)
}

/// Sends `msg` from `ws` and reads back its echo and `pos`: the message's position.
pub async fn post(ws: &mut Ws, msg: Message) -> u64 {
    send(ws, msg.clone()).await;
    assert_eq!(recv_any(ws).await, msg);
    let p = recv_any(ws).await;
    assert_eq!(control_kind(&p).as_deref(), Some("pos"), "{p:?}");
    control_json(&p).expect("json")["offset"]
        .as_u64()
        .expect("offset")
}

/// Connects `n` clients to `room` one after another. Each newcomer sends a
/// marker and waits for it to come back to everyone already in, which proves
/// the relay has joined it to the room (no sleeps). Needs history off.
pub async fn join_all(server: &Server, room: &str, n: usize) -> Vec<Ws> {
    let mut clients: Vec<Ws> = Vec::with_capacity(n);
    for k in 0..n {
        let mut ws = connect_url(&server.url(room)).await;
        let marker = Message::text(format!("joined {room} {k}"));
        send(&mut ws, marker.clone()).await;
        clients.push(ws);
        for c in &mut clients {
            assert_eq!(recv(c).await, marker);
        }
    }
    clients
}

/// A plain HTTP/1.1 GET; returns status and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let fut = async {
        let mut s = TcpStream::connect(addr).await.expect("tcp connect");
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write request");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.expect("read response");
        raw
    };
    let raw = tokio::time::timeout(WAIT, fut).await.expect("http in time");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A binary message of `len` bytes starting with `tag` (big-endian u32s).
pub fn tagged(sender: u32, seq: u32, len: usize) -> Message {
    let mut v = vec![0_u8; len.max(8)];
    v[..4].copy_from_slice(&sender.to_be_bytes());
    v[4..8].copy_from_slice(&seq.to_be_bytes());
    v.truncate(len.max(8));
    Message::binary(v)
}

/// `(sender, seq)` of a [`tagged`] message.
pub fn tag_of(msg: &Message) -> (u32, u32) {
    let Message::Binary(b) = msg else {
        panic!("expected binary, got {msg:?}")
    };
    let sender = u32::from_be_bytes(b[..4].try_into().expect("4 bytes"));
    let seq = u32::from_be_bytes(b[4..8].try_into().expect("4 bytes"));
    (sender, seq)
}

/// A WebSocket client written by hand that reads but never answers pings:
/// returns the pings it saw before the relay's close frame, and its code.
pub async fn silent_client(addr: std::net::SocketAddr, path: &str) -> (usize, u16) {
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("tcp connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.expect("handshake sent");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await.expect("handshake answer"));
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let mut pings = 0;
    loop {
        // Server frames are unmasked; control frames are short (RFC 6455 §5.5).
        let b0 = tcp.read_u8().await.expect("frame header");
        let len = usize::from(tcp.read_u8().await.expect("frame length") & 0x7F);
        assert!(len < 126, "unexpected long frame");
        let mut payload = vec![0; len];
        tcp.read_exact(&mut payload).await.expect("frame payload");
        match b0 & 0x0F {
            0x9 => pings += 1,
            // The relay's hello (a binary control frame).
            0x2 => assert_eq!(payload.first(), Some(&0xFE)),
            0x8 => return (pings, u16::from_be_bytes([payload[0], payload[1]])),
            op => panic!("unexpected opcode {op:#x}"),
        }
    }
}
