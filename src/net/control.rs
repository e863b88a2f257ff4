//! Relay control frames (PROTOCOL.md, "Relay control frames: version byte 0xFE"): the relay's
//! `hello`, `pos` and `lost`, and the client's `resume`. They pass between one client and
//! framechat-relay only; other servers never send them, and the client sends none to a server
//! that did not greet it. Pure: bytes in, bytes out.

use serde::{Deserialize, Serialize};

/// First byte of a control frame.
pub const CONTROL_MAGIC: u8 = 0xFE;

/// What the relay says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// First message on every connection: the room's epoch and newest offset.
    Hello { epoch: String, offset: u64 },
    /// The message whose last frame just arrived has this position.
    Pos { offset: u64 },
    /// Some messages after the client's position are gone; the replay starts at `first`.
    Lost { epoch: String, first: u64 },
}

/// Whether `frame` begins like a control frame.
pub fn is_control(first_byte: Option<u8>) -> bool {
    first_byte == Some(CONTROL_MAGIC)
}

/// Decodes a control frame; `None` for one this client does not know (a later version's),
/// which it ignores.
pub fn decode(frame: &[u8]) -> Option<Control> {
    let (&magic, rest) = frame.split_first()?;
    let (len, json) = rest.split_first_chunk::<2>()?;
    let json = json.get(..usize::from(u16::from_be_bytes(*len)))?;
    if magic != CONTROL_MAGIC {
        return None;
    }
    // Every kind's fields in one struct, not an internally tagged enum: serde buffers those
    // whole first, and that machinery cost the gzipped .wasm 7 KB (with the frame headers',
    // framechat-wire's `decode_header`, which does without it too).
    #[derive(Deserialize)]
    struct Fields {
        kind: String,
        epoch: Option<String>,
        offset: Option<u64>,
        first: Option<u64>,
    }
    let Fields {
        kind,
        epoch,
        offset,
        first,
    } = serde_json::from_slice(json).ok()?;
    match kind.as_str() {
        "hello" => Some(Control::Hello {
            epoch: epoch?,
            offset: offset?,
        }),
        "pos" => Some(Control::Pos { offset: offset? }),
        "lost" => Some(Control::Lost {
            epoch: epoch?,
            first: first?,
        }),
        _ => None,
    }
}

/// Where the client stands in a room: the last message it has, as the relay numbered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub epoch: String,
    pub offset: u64,
}

#[derive(Serialize)]
struct Resume<'a> {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    epoch: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
}

/// The client's answer to `hello`: resume after `from`, or a fresh join without one.
pub fn resume(from: Option<&Position>) -> Vec<u8> {
    let json = serde_json::to_vec(&Resume {
        kind: "resume",
        epoch: from.map(|p| p.epoch.as_str()),
        offset: from.map(|p| p.offset),
    })
    .unwrap_or_default();
    let len = u16::try_from(json.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(3 + json.len());
    out.push(CONTROL_MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&json);
    out
}

/// The connection's side of recovery: whether the relay greeted this connection, and the
/// last position the client holds (kept across reconnects).
#[derive(Debug, Default)]
pub struct Recovery {
    greeted: bool,
    epoch: Option<String>,
    position: Option<Position>,
}

/// What the connection should do about a control frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes (the `resume`) on the link, before anything else.
    Send(Vec<u8>),
    /// Tell the user that some messages could not be recovered.
    Lost,
    Nothing,
}

impl Recovery {
    /// A new connection: no greeting yet.
    pub fn connected(&mut self) {
        self.greeted = false;
    }

    /// Whether the relay on this connection speaks control frames.
    pub fn greeted(&self) -> bool {
        self.greeted
    }

    pub fn position(&self) -> Option<&Position> {
        self.position.as_ref()
    }

    pub fn on_control(&mut self, control: Control) -> Step {
        match control {
            Control::Hello { epoch, offset } => {
                self.greeted = true;
                self.epoch = Some(epoch.clone());
                match &self.position {
                    Some(at) => Step::Send(resume(Some(at))),
                    None => {
                        // A fresh join: the room's recent history, and the newest position
                        // until the replay's `pos` frames move it.
                        self.position = Some(Position { epoch, offset });
                        Step::Send(resume(None))
                    }
                }
            }
            Control::Pos { offset } => {
                if let Some(epoch) = self.epoch.clone() {
                    self.position = Some(Position { epoch, offset });
                }
                Step::Nothing
            }
            Control::Lost { epoch, first } => {
                self.epoch = Some(epoch.clone());
                self.position = Some(Position {
                    epoch,
                    offset: first.saturating_sub(1),
                });
                Step::Lost
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(json: &str) -> Vec<u8> {
        let mut out = vec![CONTROL_MAGIC];
        out.extend_from_slice(&(json.len() as u16).to_be_bytes());
        out.extend_from_slice(json.as_bytes());
        out
    }

    #[test]
    fn the_protocols_examples_decode() {
        // PROTOCOL.md's byte-exact examples.
        let hello = frame(r#"{"kind":"hello","epoch":"5f0c9b2e7a41d3c8","offset":12}"#);
        assert_eq!(&hello[..3], &[0xfe, 0x00, 0x37]);
        assert_eq!(
            decode(&hello),
            Some(Control::Hello {
                epoch: "5f0c9b2e7a41d3c8".into(),
                offset: 12
            })
        );
        let pos = frame(r#"{"kind":"pos","offset":13}"#);
        assert_eq!(&pos[..3], &[0xfe, 0x00, 0x1a]);
        assert_eq!(decode(&pos), Some(Control::Pos { offset: 13 }));
        let lost = frame(r#"{"kind":"lost","epoch":"5f0c9b2e7a41d3c8","first":40}"#);
        assert_eq!(&lost[..3], &[0xfe, 0x00, 0x35]);
        assert_eq!(
            decode(&lost),
            Some(Control::Lost {
                epoch: "5f0c9b2e7a41d3c8".into(),
                first: 40
            })
        );
        // Unknown kinds, bad JSON, short or foreign frames: ignored.
        for bad in [
            frame(r#"{"kind":"later"}"#),
            // A known kind without one of its fields.
            frame(r#"{"kind":"hello","offset":12}"#),
            frame(r#"{"kind":"lost","epoch":"5f0c9b2e7a41d3c8","offset":40}"#),
            frame(r#"{"offset":13}"#),
            frame("{nope"),
            vec![0xfe, 0x00],
            vec![0xfe, 0x00, 0x09, b'{'],
            vec![0xfc, 0x00, 0x02, b'{', b'}'],
            vec![],
        ] {
            assert_eq!(decode(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn resume_frames_are_byte_exact() {
        assert_eq!(resume(None), frame(r#"{"kind":"resume"}"#));
        assert_eq!(&resume(None)[..3], &[0xfe, 0x00, 0x11]);
        let at = Position {
            epoch: "5f0c9b2e7a41d3c8".into(),
            offset: 12,
        };
        let bytes = resume(Some(&at));
        assert_eq!(
            bytes,
            frame(r#"{"kind":"resume","epoch":"5f0c9b2e7a41d3c8","offset":12}"#)
        );
        assert_eq!(&bytes[..3], &[0xfe, 0x00, 0x38]);
    }

    #[test]
    fn a_reconnect_resumes_after_the_last_position() {
        let mut r = Recovery::default();
        assert!(!r.greeted());
        // Fresh join: recent history, then positions as messages arrive.
        let step = r.on_control(Control::Hello {
            epoch: "e1".into(),
            offset: 5,
        });
        assert_eq!(step, Step::Send(resume(None)));
        assert!(r.greeted());
        r.on_control(Control::Pos { offset: 6 });
        r.on_control(Control::Pos { offset: 7 });
        // Reconnect: resume after 7 of e1.
        r.connected();
        assert!(!r.greeted());
        let step = r.on_control(Control::Hello {
            epoch: "e1".into(),
            offset: 9,
        });
        let at = Position {
            epoch: "e1".into(),
            offset: 7,
        };
        assert_eq!(step, Step::Send(resume(Some(&at))));
        // The relay could not meet it: say so, and go on from what it replays.
        assert_eq!(
            r.on_control(Control::Lost {
                epoch: "e2".into(),
                first: 1
            }),
            Step::Lost
        );
        r.on_control(Control::Pos { offset: 1 });
        assert_eq!(
            r.position(),
            Some(&Position {
                epoch: "e2".into(),
                offset: 1
            })
        );
    }
}
