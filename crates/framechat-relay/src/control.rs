//! Relay control frames (PROTOCOL.md, "Relay control frames: version byte
//! 0xFE"): `0xFE` + u16 BE length + a JSON object, no payload. The relay
//! sends `hello`, `pos` and `lost`; a client sends `resume`.

use axum::body::Bytes;
use axum::extract::ws::Message;

/// First byte of a control frame.
pub const MAGIC: u8 = 0xFE;

/// Builds one control frame around `json`.
fn frame(json: &str) -> Message {
    let len = u16::try_from(json.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(3 + json.len());
    out.push(MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(json.as_bytes());
    Message::Binary(Bytes::from(out))
}

/// `{"kind":"hello","epoch":"…","offset":N}`: the relay's first message on
/// every connection; `offset` is the room's newest position.
pub fn hello(epoch: &str, offset: u64) -> Message {
    frame(&format!(
        r#"{{"kind":"hello","epoch":"{epoch}","offset":{offset}}}"#
    ))
}

/// `{"kind":"pos","offset":N}`: the message whose last frame came just before
/// this one has position N (in the epoch of the connection's `hello`).
pub fn pos(offset: u64) -> Message {
    frame(&format!(r#"{{"kind":"pos","offset":{offset}}}"#))
}

/// `{"kind":"lost","epoch":"…","first":F}`: the messages after the client's
/// position could not all be recovered (history no longer holds them, or the
/// room's epoch is not the client's); the relay replays what it has, from
/// position F of `epoch`, then live traffic.
pub fn lost(epoch: &str, first: u64) -> Message {
    frame(&format!(
        r#"{{"kind":"lost","epoch":"{epoch}","first":{first}}}"#
    ))
}

/// What a client's control frame asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `{"kind":"resume"}`: a fresh join (the room's recent history).
    Fresh,
    /// `{"kind":"resume","epoch":"…","offset":N}`: the messages after N.
    After {
        /// The epoch of the client's last position.
        epoch: String,
        /// The client's last position.
        offset: u64,
    },
}

/// Whether `bytes` is a control frame (by its first byte).
pub fn is_control(bytes: &[u8]) -> bool {
    bytes.first() == Some(&MAGIC)
}

/// Reads a client's control frame; `None` for anything else or malformed.
pub fn parse_request(bytes: &[u8]) -> Option<Request> {
    let (&magic, rest) = bytes.split_first()?;
    if magic != MAGIC {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
    let json = rest.get(2..2 + len)?;
    if rest.len() != 2 + len {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    if value.get("kind")?.as_str()? != "resume" {
        return None;
    }
    match (value.get("epoch"), value.get("offset")) {
        (None, None) => Some(Request::Fresh),
        (Some(epoch), Some(offset)) => Some(Request::After {
            epoch: epoch.as_str()?.to_owned(),
            offset: offset.as_u64()?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(m: &Message) -> Vec<u8> {
        match m {
            Message::Binary(b) => b.to_vec(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn byte_exact_frames_of_protocol_md() {
        let h = bytes(&hello("5f0c9b2e7a41d3c8", 12));
        assert_eq!(&h[..3], &[0xFE, 0x00, 0x37]);
        assert_eq!(
            &h[3..],
            br#"{"kind":"hello","epoch":"5f0c9b2e7a41d3c8","offset":12}"#
        );
        let p = bytes(&pos(13));
        assert_eq!(&p[..3], &[0xFE, 0x00, 0x1A]);
        assert_eq!(&p[3..], br#"{"kind":"pos","offset":13}"#);
        let l = bytes(&lost("5f0c9b2e7a41d3c8", 40));
        assert_eq!(&l[..3], &[0xFE, 0x00, 0x35]);
        assert_eq!(
            &l[3..],
            br#"{"kind":"lost","epoch":"5f0c9b2e7a41d3c8","first":40}"#
        );
    }

    #[test]
    fn resume_requests() {
        let mk = |json: &str| {
            let mut v = vec![MAGIC];
            v.extend_from_slice(&u16::try_from(json.len()).unwrap_or(0).to_be_bytes());
            v.extend_from_slice(json.as_bytes());
            v
        };
        assert_eq!(
            parse_request(&mk(r#"{"kind":"resume"}"#)),
            Some(Request::Fresh)
        );
        assert_eq!(
            parse_request(&mk(r#"{"kind":"resume","epoch":"ab","offset":7}"#)),
            Some(Request::After {
                epoch: "ab".into(),
                offset: 7
            })
        );
        assert_eq!(parse_request(&mk(r#"{"kind":"resume","offset":7}"#)), None);
        assert_eq!(parse_request(&mk(r#"{"kind":"hello"}"#)), None);
        assert_eq!(parse_request(&[MAGIC, 0, 5, b'{']), None);
        assert_eq!(parse_request(&[0xFC, 0, 0]), None);
        assert_eq!(parse_request(&[]), None);
    }
}
