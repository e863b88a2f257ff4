//! One frame = one WebSocket binary message: magic byte, header length, JSON header, payload.
//!
//! ```text
//! +--------+----------------+---------------------+----------------------+
//! | magic  | header length  | header              | payload              |
//! | 1 byte | u16 big-endian | UTF-8 JSON, N bytes | rest of the message  |
//! | 0xFC   | N              | {"kind":"msg",...}  | attachment bytes     |
//! +--------+----------------+---------------------+----------------------+
//! ```
//!
//! The payload has no length of its own: it is whatever follows the header in
//! the WebSocket message, which the transport already delimits.
//!
//! A text message from `ann` with id 1, sent at t = 0, encodes as
//! `FC 00 56` followed by the 86 bytes
//! `{"kind":"msg","id":"00000000000000000000000000000001","from":"ann","ts":0,"text":"hi"}`
//! (`0x56` = 86) and no payload:
//!
//! ```
//! use framechat_wire::{Frame, Header, MessageHeader, Uuid};
//!
//! let header = Header::Msg(MessageHeader {
//!     id: Uuid::from_u128(1),
//!     from: "ann".into(),
//!     ts: 0,
//!     text: "hi".into(),
//!     files: vec![],
//! });
//! let mut bytes = Vec::new();
//! Frame { header: header.clone(), payload: &[] }.encode(&mut bytes)?;
//! assert_eq!(&bytes[..3], &[0xFC, 0x00, 0x56]);
//! assert_eq!(
//!     &bytes[3..],
//!     br#"{"kind":"msg","id":"00000000000000000000000000000001","from":"ann","ts":0,"text":"hi"}"#
//! );
//! assert_eq!(Frame::decode(&bytes)?.header, header);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::error::{DecodeError, EncodeError};
use crate::header::Header;

/// First byte of every version 1 frame.
///
/// 0xFC never begins a UTF-8 string, so a frame cannot be mistaken for text.
pub const MAGIC: u8 = 0xFC;
/// First bytes that [`Frame::decode`] reports as another version (`0xFD..=0xFF`):
/// the encrypted envelope `0xFD` (read it with [`Envelope`](crate::Envelope)),
/// `0xFE` reserved for relay control frames, and `0xFF` reserved.
pub const FUTURE_MAGIC: std::ops::RangeInclusive<u8> = 0xFD..=0xFF;
/// Bytes before the JSON header: the magic byte and the 16-bit header length.
pub const PREFIX_LEN: usize = 3;
/// Largest JSON header: the 16-bit length field's maximum.
pub const MAX_HEADER_LEN: usize = u16::MAX as usize;

/// A decoded frame: its header and its payload, borrowed from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The JSON header.
    pub header: Header,
    /// The bytes after the header.
    pub payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Decodes one WebSocket binary message.
    ///
    /// Checks the layout, parses and validates the header, and checks the
    /// payload length against what the header declares. Allocates only the
    /// parsed header; the payload is borrowed.
    ///
    /// # Errors
    /// A [`DecodeError`] naming the first rule the bytes break.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let (header, end) = decode_header(bytes)?;
        let payload = bytes.get(end..).unwrap_or_default();
        check_payload(&header, payload.len() as u64)?;
        Ok(Self { header, payload })
    }

    /// Appends the encoded frame to `out`.
    ///
    /// # Errors
    /// An invalid header, one too long for the length field, or a payload
    /// that disagrees with the header.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_frame(&self.header, &[self.payload], out)
    }
}

/// Length of the prefix plus the JSON header, read from the first
/// [`PREFIX_LEN`] bytes: where the payload starts.
///
/// Lets a client copy only the header into its own memory and keep the
/// payload where it is.
///
/// # Errors
/// [`DecodeError::Empty`], [`DecodeError::NotAFrame`],
/// [`DecodeError::UnsupportedVersion`] or [`DecodeError::Truncated`].
pub fn header_end(prefix: &[u8]) -> Result<usize, DecodeError> {
    let (&magic, rest) = prefix.split_first().ok_or(DecodeError::Empty)?;
    if magic != MAGIC {
        return Err(if FUTURE_MAGIC.contains(&magic) {
            DecodeError::UnsupportedVersion(magic)
        } else {
            DecodeError::NotAFrame(magic)
        });
    }
    let len_bytes: [u8; 2] =
        rest.get(..2)
            .and_then(|b| b.try_into().ok())
            .ok_or(DecodeError::Truncated {
                needed: PREFIX_LEN as u64,
                available: prefix.len() as u64,
            })?;
    Ok(PREFIX_LEN + usize::from(u16::from_be_bytes(len_bytes)))
}

/// Decodes and validates the header of a frame.
///
/// Needs only the first [`header_end`] bytes; returns the header and the
/// offset where the payload starts. Does not look at the payload: use
/// [`Frame::decode`] to have its length checked too.
///
/// # Errors
/// A [`DecodeError`] naming the first rule the bytes break.
pub fn decode_header(bytes: &[u8]) -> Result<(Header, usize), DecodeError> {
    let end = header_end(bytes)?;
    let json = bytes.get(PREFIX_LEN..end).ok_or(DecodeError::Truncated {
        needed: end as u64,
        available: bytes.len() as u64,
    })?;
    let header = parse_header(json)?;
    header.validate()?;
    Ok((header, end))
}

/// Appends one frame made of `header` and the concatenation of `payload`.
///
/// The payload slices are copied once, straight into `out`.
///
/// # Errors
/// As [`write_header`].
pub fn write_frame(
    header: &Header,
    payload: &[&[u8]],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let payload_len: usize = payload.iter().map(|p| p.len()).sum();
    write_header(header, payload_len as u64, out)?;
    out.reserve(payload_len);
    for part in payload {
        out.extend_from_slice(part);
    }
    Ok(())
}

/// Appends the prefix and JSON header of a frame whose payload, of
/// `payload_len` bytes, the caller sends after it.
///
/// For senders that hand the payload to the transport without copying it
/// (the browser client sends a Blob made of these bytes and slices of the
/// file).
///
/// # Errors
/// An invalid header, one too long for the length field, or a payload length
/// that disagrees with the header.
pub fn write_header(
    header: &Header,
    payload_len: u64,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    header.validate()?;
    check_payload(header, payload_len).map_err(|e| match e {
        DecodeError::InvalidHeader(h) => EncodeError::InvalidHeader(h),
        other => EncodeError::Payload(other),
    })?;
    let json = serde_json::to_vec(header).map_err(EncodeError::Json)?;
    let len = u16::try_from(json.len()).map_err(|_| EncodeError::HeaderTooLarge {
        len: json.len(),
        max: MAX_HEADER_LEN,
    })?;
    out.reserve(PREFIX_LEN + json.len());
    out.push(MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&json);
    Ok(())
}

/// Length of the JSON header `header` encodes to.
///
/// It encodes the header as [`write_header`] does and counts the bytes: a counting writer of
/// its own made the client's `.wasm` carry a second copy of the JSON encoder (2.8 KB).
///
/// # Errors
/// [`EncodeError::Json`] (serde_json does not fail on these types).
pub fn header_len(header: &Header) -> Result<usize, EncodeError> {
    serde_json::to_vec(header)
        .map(|json| json.len())
        .map_err(EncodeError::Json)
}

/// Checks a payload length against what the header declares.
fn check_payload(header: &Header, len: u64) -> Result<(), DecodeError> {
    match header {
        Header::Msg(m) => {
            let total = m.total()?;
            if len > total {
                return Err(DecodeError::PayloadTooLong { len, max: total });
            }
        }
        Header::Chunk(c) => {
            let end = c
                .offset
                .checked_add(len)
                .filter(|end| *end <= c.total)
                .ok_or(DecodeError::ChunkOutOfRange {
                    offset: c.offset,
                    len,
                    total: c.total,
                })?;
            // A chunk ends the stream exactly when it is flagged last, and an
            // empty chunk carries nothing: both would let a transfer stall.
            if c.last != (end == c.total) || len == 0 {
                return Err(DecodeError::LastFlagMismatch {
                    last: c.last,
                    end,
                    total: c.total,
                });
            }
        }
        Header::Cancel(_) => {
            if len != 0 {
                return Err(DecodeError::UnexpectedPayload(len));
            }
        }
    }
    Ok(())
}

/// `json`, a header: its `kind` read first, then the fields of that kind (the others are
/// ignored, as are unknown fields). The same as `Header`'s derived `Deserialize`, without
/// buffering the whole header as serde's internally tagged enums do: that machinery cost the
/// browser client's gzipped WebAssembly 7 KB (with the relay control frames', which the client
/// also reads without it now).
fn parse_header(json: &[u8]) -> Result<Header, DecodeError> {
    #[derive(serde::Deserialize)]
    struct Kind {
        kind: String,
    }
    let kind = serde_json::from_slice::<Kind>(json).map_err(DecodeError::InvalidJson)?;
    let header = match kind.kind.as_str() {
        "msg" => serde_json::from_slice(json).map(Header::Msg),
        "chunk" => serde_json::from_slice(json).map(Header::Chunk),
        "cancel" => serde_json::from_slice(json).map(Header::Cancel),
        _ => return Err(DecodeError::UnknownKind(kind.kind)),
    };
    header.map_err(DecodeError::InvalidJson)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::ChunkHeader;

    #[test]
    fn headers_parse_as_the_derived_deserialize_does() {
        let id = "\"id\":\"0123456789abcdef0123456789abcdef\"";
        let cases = [
            format!("{{\"kind\":\"msg\",{id},\"from\":\"a\",\"ts\":1}}"),
            format!("{{{id},\"ts\":1,\"from\":\"a\",\"kind\":\"msg\",\"text\":\"hi\"}}"),
            // Fields of another kind, and unknown ones, are ignored.
            format!("{{\"kind\":\"cancel\",{id},\"from\":\"a\",\"offset\":3,\"x\":[1]}}"),
            format!("{{\"kind\":\"chunk\",{id},\"from\":\"a\",\"offset\":0,\"total\":9}}"),
            // A missing field, a wrong type, a kind that is not a string or not there.
            format!("{{\"kind\":\"chunk\",{id},\"from\":\"a\",\"offset\":0}}"),
            format!("{{\"kind\":\"msg\",{id},\"from\":\"a\",\"ts\":-1}}"),
            format!("{{\"kind\":7,{id},\"from\":\"a\"}}"),
            format!("{{{id},\"from\":\"a\"}}"),
            "[\"msg\"]".to_owned(),
        ];
        for json in &cases {
            let derived = serde_json::from_str::<Header>(json).ok();
            assert_eq!(parse_header(json.as_bytes()).ok(), derived, "{json}");
        }
        assert!(parse_header(cases[0].as_bytes()).is_ok());
        let unknown = parse_header(b"{\"kind\":\"poll\",\"id\":1}");
        assert!(matches!(unknown, Err(DecodeError::UnknownKind(k)) if k == "poll"));
    }

    fn chunk(offset: u64, total: u64, last: bool) -> Header {
        Header::Chunk(ChunkHeader {
            id: uuid::Uuid::from_u128(9),
            from: "ann".into(),
            offset,
            total,
            last,
        })
    }

    #[test]
    fn write_header_then_payload_equals_write_frame() {
        let header = chunk(4, 10, false);
        let mut whole = Vec::new();
        write_frame(&header, &[b"ab", b"c"], &mut whole).unwrap();
        let mut split = Vec::new();
        write_header(&header, 3, &mut split).unwrap();
        assert_eq!(split.len(), header_end(&split).unwrap());
        split.extend_from_slice(b"abc");
        assert_eq!(split, whole);
    }

    #[test]
    fn write_header_checks_the_payload_length() {
        let mut out = Vec::new();
        // Ends the stream without the last flag.
        assert!(matches!(
            write_header(&chunk(4, 10, false), 6, &mut out),
            Err(EncodeError::Payload(DecodeError::LastFlagMismatch { .. }))
        ));
        assert!(matches!(
            write_header(&chunk(4, 10, true), 7, &mut out),
            Err(EncodeError::Payload(DecodeError::ChunkOutOfRange { .. }))
        ));
        assert!(out.is_empty(), "nothing written on error");
    }
}
