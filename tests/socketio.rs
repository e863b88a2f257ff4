//! Browser tests of the Socket.IO link's encoding and decoding, against a scripted server: the
//! page's `WebSocket` is replaced by one whose every message the test reads and writes, so
//! each step of Engine.IO/Socket.IO (open, connect, ping/pong, a binary event with its
//! attachment, frames sent, a server close) is checked as it goes over the socket.
//!
//! Run with the other browser tests (`cargo xtask test`).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::rc::Rc;

use framechat::net::link::{Events, Link, LinkEvent, Outgoing};
use framechat::net::socketio::SocketIo;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Installs a scripted `WebSocket` for the test's length: `window.fcSockets` lists the
/// sockets made, each with `url`, `sent` (strings, and bytes as arrays of numbers) and the
/// handlers the link set.
struct ScriptedSockets {
    native: JsValue,
}

impl ScriptedSockets {
    fn install() -> Self {
        let window = web_sys::window().unwrap();
        let native = js_sys::Reflect::get(&window, &"WebSocket".into()).unwrap();
        js_sys::Function::new_no_args(
            "window.fcSockets = [];
             window.WebSocket = class {
               constructor(url) {
                 this.url = url; this.sent = []; this.readyState = 1; this.bufferedAmount = 0;
                 this.binaryType = 'blob'; window.fcSockets.push(this);
               }
               send(d) {
                 if (typeof d === 'string') this.sent.push(d);
                 else this.sent.push(Array.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
               }
               close() { if (this.readyState !== 3) { this.readyState = 3; this.onclose?.({}); } }
             };
             window.WebSocket.OPEN = 1;",
        )
        .call0(&JsValue::NULL)
        .unwrap();
        Self { native }
    }

    fn socket(&self, n: u32) -> JsValue {
        let all = js_sys::Reflect::get(&web_sys::window().unwrap(), &"fcSockets".into()).unwrap();
        js_sys::Reflect::get(&all, &n.into()).unwrap()
    }

    /// What the link sent on socket `n` so far, as JSON text.
    fn sent(&self, n: u32) -> String {
        let sent = js_sys::Reflect::get(&self.socket(n), &"sent".into()).unwrap();
        String::from(js_sys::JSON::stringify(&sent).unwrap())
    }

    /// The server says `data` (a string, or an ArrayBuffer) on socket `n`.
    fn say(&self, n: u32, data: &JsValue) {
        let ev = js_sys::Object::new();
        js_sys::Reflect::set(&ev, &"data".into(), data).unwrap();
        let handler = js_sys::Reflect::get(&self.socket(n), &"onmessage".into()).unwrap();
        js_sys::Function::from(handler)
            .call1(&JsValue::NULL, &ev)
            .unwrap();
    }
}

impl Drop for ScriptedSockets {
    fn drop(&mut self) {
        let window = web_sys::window().unwrap();
        js_sys::Reflect::set(&window, &"WebSocket".into(), &self.native).unwrap();
    }
}

#[derive(Default, Clone)]
struct Seen(Rc<RefCell<Vec<String>>>);

impl Seen {
    fn events(&self) -> Events {
        let seen = self.clone();
        Rc::new(move |e: LinkEvent| {
            let text = match e {
                LinkEvent::Open => "open".to_string(),
                LinkEvent::Frame(b) => format!("frame {:?}", js_sys::Uint8Array::new(&b).to_vec()),
                LinkEvent::Closed => "closed".into(),
                LinkEvent::Unreachable(why) => format!("unreachable {why}"),
                LinkEvent::WorkerFailed { .. } => "worker failed".into(),
                LinkEvent::Notice(text) => format!("notice {text}"),
                LinkEvent::SealedEcho(tag) => format!("echo {tag:?}"),
                LinkEvent::Kept(tag, _) => format!("kept {tag:?}"),
                LinkEvent::Arrived(_) => "arrived".into(),
            };
            seen.0.borrow_mut().push(text);
        })
    }

    fn all(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

const OPEN: &str =
    r#"0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

#[wasm_bindgen_test]
fn handshake_ping_binary_events_and_a_server_close() {
    let server = ScriptedSockets::install();
    let seen = Seen::default();
    let url = "ws://127.0.0.1:9/socket.io/?EIO=4&transport=websocket&room=r";
    let link = SocketIo::open(url, "frame", &seen.events()).unwrap();
    assert_eq!(
        js_sys::Reflect::get(&server.socket(0), &"url".into())
            .unwrap()
            .as_string()
            .unwrap(),
        url
    );
    assert!(
        !link.is_open(),
        "not before the Socket.IO connect is acknowledged"
    );

    // Engine.IO open: the client connects to the main namespace.
    server.say(0, &OPEN.into());
    assert_eq!(server.sent(0), r#"["40"]"#);
    assert!(!link.is_open());
    server.say(0, &r#"40{"sid":"n1"}"#.into());
    assert!(link.is_open());
    assert_eq!(seen.all(), ["open"]);

    // Pings are answered.
    server.say(0, &"2".into());
    assert_eq!(server.sent(0), r#"["40","3"]"#);

    // A frame goes as one binary event: the header packet, then the frame's bytes as is.
    let frame = [0xFC, 0, 2, b'{', b'}'];
    link.send(
        Outgoing::Bytes(js_sys::Uint8Array::from(&frame[..])),
        frame.len() as u64,
        None,
    )
    .unwrap();
    assert_eq!(
        server.sent(0),
        r#"["40","3","451-[\"frame\",{\"_placeholder\":true,\"num\":0}]",[252,0,2,123,125]]"#
    );

    // A binary event from the server: its attachment is the frame. Text events, other
    // events' attachments and stray binary messages are not.
    server.say(0, &r#"42["frame","not binary"]"#.into());
    server.say(0, &r#"451-["other",{"_placeholder":true,"num":0}]"#.into());
    server.say(0, &js_sys::Uint8Array::from(&[1u8, 2][..]).buffer().into());
    server.say(0, &r#"451-["frame",{"_placeholder":true,"num":0}]"#.into());
    server.say(
        0,
        &js_sys::Uint8Array::from(&[0xFCu8, 0, 0][..])
            .buffer()
            .into(),
    );
    server.say(0, &js_sys::Uint8Array::from(&[9u8][..]).buffer().into());
    assert_eq!(seen.all(), ["open", "frame [252, 0, 0]"]);

    // Engine.IO close from the server: the link closes its socket and says so.
    server.say(0, &"1".into());
    assert_eq!(seen.all(), ["open", "frame [252, 0, 0]", "closed"]);
    assert!(!link.is_open());
    assert!(
        link.send(
            Outgoing::Bytes(js_sys::Uint8Array::from(&frame[..])),
            5,
            None
        )
        .is_err()
    );
}

#[wasm_bindgen_test]
fn a_refused_connect_is_reported_and_large_frames_are_refused() {
    let server = ScriptedSockets::install();
    let seen = Seen::default();
    let small =
        r#"0{"sid":"s2","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100}"#;
    let link = SocketIo::open("ws://127.0.0.1:9/x", "frame", &seen.events()).unwrap();
    server.say(0, &small.into());
    server.say(0, &"40".into());
    // Over the server's maxPayload: refused before anything is sent.
    let big = [0u8; 200];
    assert!(
        link.send(
            Outgoing::Bytes(js_sys::Uint8Array::from(&big[..])),
            200,
            None
        )
        .is_err()
    );
    assert_eq!(server.sent(0), r#"["40"]"#);
    drop(link);
    // Dropping the link says goodbye (Socket.IO disconnect) and closes the socket.
    assert_eq!(server.sent(0), r#"["40","41"]"#);

    let seen = Seen::default();
    let _link = SocketIo::open("ws://127.0.0.1:9/x", "frame", &seen.events()).unwrap();
    server.say(1, &OPEN.into());
    server.say(1, &r#"44{"message":"Not authorized"}"#.into());
    assert_eq!(
        seen.all(),
        ["unreachable the Socket.IO server refused the connection: Not authorized"]
    );
}
