//! The Socket.IO v5 / Engine.IO v4 packets framechat speaks over a WebSocket, without IO.
//!
//! Engine.IO v4 over a WebSocket: every text message is one packet, a type digit and its data
//! (`0` open with the handshake JSON, `1` close, `2` ping, `3` pong, `4` message, `6` noop);
//! binary messages carry raw bytes with no prefix. A Socket.IO packet rides in an Engine.IO
//! message: `40` connect, `41` disconnect, `42[...]` event, `44{...}` connect error, and
//! `45<n>-[...]` a binary event whose `n` attachments follow as the next `n` binary messages,
//! each standing in the JSON as `{"_placeholder":true,"num":i}`. framechat sends each frame as
//! one binary event with one attachment:
//!
//! ```text
//! text    451-["frame",{"_placeholder":true,"num":0}]
//! binary  fc 00 56 {"kind":"msg",...}                      (the frame, as is)
//! ```
//!
//! (socket.io-protocol and engine.io-protocol, version 5 and 4.)

use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};

/// What a Socket.IO server says, as far as framechat cares.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// Engine.IO open: the session's ping interval and timeout (ms) and its largest message.
    Open(Handshake),
    /// Engine.IO ping: answer with [`PONG`].
    Ping,
    /// Socket.IO connect acknowledged: the namespace is joined.
    Connected,
    /// The server refused the connection (middleware), with its reason.
    ConnectError(String),
    /// The server ended the session (Engine.IO close or Socket.IO disconnect).
    Closed,
    /// A binary event named `event`, whose `attachments` binary messages follow; `frame` is
    /// the index of the attachment the event's first argument stands for.
    BinaryEvent {
        attachments: usize,
        frame: Option<usize>,
    },
    /// Anything else (text events, acks, noops, other events): ignored.
    Other,
}

/// The Engine.IO handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    pub ping_interval: u32,
    pub ping_timeout: u32,
    /// Socket.IO's `maxHttpBufferSize` as the server applies it (1,000,000 by default).
    #[serde(default = "default_max_payload")]
    pub max_payload: u64,
}

fn default_max_payload() -> u64 {
    DEFAULT_MAX_PAYLOAD
}

/// Socket.IO's default `maxHttpBufferSize`: a frame must stay under it.
pub const DEFAULT_MAX_PAYLOAD: u64 = 1_000_000;
/// Attachments a binary event may announce before framechat refuses to wait for them.
const MAX_ATTACHMENTS: usize = 16;

/// Engine.IO pong, the answer to a ping.
pub const PONG: &str = "3";
/// Socket.IO connect to the main namespace.
pub const CONNECT: &str = "40";

/// The path and query a Socket.IO server answers on: `base` (http(s) or ws(s), with or
/// without a trailing slash) + `/socket.io/?EIO=4&transport=websocket&room=<room>`.
pub fn endpoint(base: &str, room_query: &str) -> String {
    let base = base.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    format!("{base}/socket.io/?EIO=4&transport=websocket&room={room_query}")
}

/// The text packet that announces one frame: a binary event with one attachment.
pub fn binary_event(event: &str) -> String {
    // `event` is a JSON string: serde_json escapes it.
    let name = serde_json::to_string(event).unwrap_or_else(|_| "\"frame\"".into());
    format!("451-[{name},{{\"_placeholder\":true,\"num\":0}}]")
}

/// Decodes one text message from the server; `event` is the event name frames come as.
pub fn decode(text: &str, event: &str) -> Incoming {
    let mut chars = text.chars();
    match chars.next() {
        // JSON is read from bytes here as everywhere in the client (`from_str` would add a
        // second copy of serde_json's parser to the `.wasm`).
        Some('0') => serde_json::from_slice(chars.as_str().as_bytes())
            .map_or(Incoming::Other, Incoming::Open),
        Some('1') => Incoming::Closed,
        Some('2') => Incoming::Ping,
        Some('4') => socket_io(chars.as_str(), event),
        _ => Incoming::Other,
    }
}

/// A Socket.IO packet (the data of an Engine.IO message).
fn socket_io(packet: &str, event: &str) -> Incoming {
    let mut chars = packet.chars();
    let kind = chars.next();
    let rest = chars.as_str();
    match kind {
        // `0{"sid":..}` for the main namespace; `0/other,{..}` for another, not ours.
        Some('0') if !rest.starts_with('/') => Incoming::Connected,
        Some('1') if !rest.starts_with('/') => Incoming::Closed,
        Some('4') if !rest.starts_with('/') => {
            #[derive(Deserialize)]
            struct Refusal {
                message: Option<String>,
            }
            let reason = serde_json::from_slice::<Refusal>(rest.as_bytes())
                .ok()
                .and_then(|r| r.message)
                .unwrap_or_else(|| "refused".into());
            Incoming::ConnectError(reason)
        }
        Some('5') => binary(rest, event),
        _ => Incoming::Other,
    }
}

/// `<n>-[<ack id>]["event",...]` in the main namespace.
fn binary(rest: &str, event: &str) -> Incoming {
    let Some((count, json)) = rest.split_once('-') else {
        return Incoming::Other;
    };
    let Ok(attachments) = count.parse::<usize>() else {
        return Incoming::Other;
    };
    if attachments > MAX_ATTACHMENTS || json.starts_with('/') {
        // Not ours to collect: its attachments are skipped by count all the same.
        return Incoming::BinaryEvent {
            attachments: attachments.min(MAX_ATTACHMENTS),
            frame: None,
        };
    }
    // An ack id may stand before the array.
    let json = json.trim_start_matches(|c: char| c.is_ascii_digit());
    let frame = serde_json::from_slice::<EventArgs>(json.as_bytes())
        .ok()
        .filter(|args| args.name == event)
        .and_then(|args| args.first)
        .filter(|p| p.placeholder)
        .and_then(|p| usize::try_from(p.num).ok())
        .filter(|&num| num < attachments);
    Incoming::BinaryEvent { attachments, frame }
}

/// `["name", first argument, ...]`: the name, and the first argument if it is a placeholder
/// (typed fields rather than `serde_json::Value`, which costs the client's download ~10 KB).
struct EventArgs {
    name: String,
    first: Option<Placeholder>,
}

#[derive(Deserialize)]
struct Placeholder {
    #[serde(rename = "_placeholder", default)]
    placeholder: bool,
    #[serde(default)]
    num: u64,
}

impl<'de> Deserialize<'de> for EventArgs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Args;
        impl<'de> Visitor<'de> for Args {
            type Value = EventArgs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an event's array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventArgs, A::Error> {
                let name: String = seq
                    .next_element()?
                    .ok_or_else(|| serde::de::Error::invalid_length(0, &self))?;
                // A first argument that is not an object fails the whole event, which is then
                // not a frame: the same answer, without buffering what it was.
                let first = seq.next_element::<Placeholder>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(EventArgs { name, first })
            }
        }
        d.deserialize_seq(Args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handshake_and_the_connect_ack() {
        let open = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        assert_eq!(
            decode(open, "frame"),
            Incoming::Open(Handshake {
                ping_interval: 25000,
                ping_timeout: 20000,
                max_payload: 1_000_000
            })
        );
        assert_eq!(
            decode(r#"40{"sid":"wZX3oN0bSVIhsaknAAAI"}"#, "frame"),
            Incoming::Connected
        );
        assert_eq!(decode("40/admin,{\"sid\":\"x\"}", "frame"), Incoming::Other);
        assert_eq!(
            decode(r#"44{"message":"Not authorized"}"#, "frame"),
            Incoming::ConnectError("Not authorized".into())
        );
        assert_eq!(decode("0{not json", "frame"), Incoming::Other);
    }

    #[test]
    fn pings_closes_and_what_is_ignored() {
        assert_eq!(decode("2", "frame"), Incoming::Ping);
        assert_eq!(decode("1", "frame"), Incoming::Closed);
        assert_eq!(decode("41", "frame"), Incoming::Closed);
        for other in ["", "3", "6", "x", "42[\"frame\",\"text\"]", "43[1]", "4"] {
            assert_eq!(decode(other, "frame"), Incoming::Other, "{other:?}");
        }
    }

    #[test]
    fn binary_events_name_their_attachment() {
        let ours = binary_event("frame");
        assert_eq!(ours, r#"451-["frame",{"_placeholder":true,"num":0}]"#);
        assert_eq!(
            decode(&ours, "frame"),
            Incoming::BinaryEvent {
                attachments: 1,
                frame: Some(0)
            }
        );
        // Another event's attachments are counted, to be skipped.
        assert_eq!(
            decode(&binary_event("other"), "frame"),
            Incoming::BinaryEvent {
                attachments: 1,
                frame: None
            }
        );
        // With an ack id, and two attachments of which the second is the frame.
        assert_eq!(
            decode(
                r#"452-7["frame",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#,
                "frame"
            ),
            Incoming::BinaryEvent {
                attachments: 2,
                frame: Some(1)
            }
        );
        // A placeholder past the attachments, or a namespace: no frame.
        assert_eq!(
            decode(r#"451-["frame",{"_placeholder":true,"num":3}]"#, "frame"),
            Incoming::BinaryEvent {
                attachments: 1,
                frame: None
            }
        );
        assert_eq!(
            decode(
                r#"451-/admin,["frame",{"_placeholder":true,"num":0}]"#,
                "frame"
            ),
            Incoming::BinaryEvent {
                attachments: 1,
                frame: None
            }
        );
        assert_eq!(decode("45x-[]", "frame"), Incoming::Other);
        // An event name that needs escaping stays valid JSON.
        assert_eq!(
            decode(&binary_event("a\"b"), "a\"b"),
            Incoming::BinaryEvent {
                attachments: 1,
                frame: Some(0)
            }
        );
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint("http://127.0.0.1:3000/", "lobby"),
            "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket&room=lobby"
        );
        assert_eq!(
            endpoint("https://chat.example.com", "a%20b"),
            "wss://chat.example.com/socket.io/?EIO=4&transport=websocket&room=a%20b"
        );
        assert_eq!(
            endpoint("ws://h:1", "r"),
            "ws://h:1/socket.io/?EIO=4&transport=websocket&room=r"
        );
    }
}
