//! Error types of the codec: one enum for decoding, one for encoding, one for reassembly,
//! one for the encrypted envelope and one for room keys.

use std::fmt;

use crate::reassembly::TransferKey;

/// Why a byte string is not a valid framechat frame.
#[derive(Debug)]
pub enum DecodeError {
    /// The message is empty.
    Empty,
    /// The first byte is not a framechat magic byte: a foreign binary message.
    NotAFrame(u8),
    /// The first byte marks a framechat version this decoder does not speak.
    UnsupportedVersion(u8),
    /// Fewer bytes than the layout requires.
    Truncated { needed: u64, available: u64 },
    /// The header is not valid UTF-8 JSON of a known shape.
    InvalidJson(serde_json::Error),
    /// The header names a kind this version does not know.
    UnknownKind(String),
    /// A header field breaks a limit or a rule of the protocol.
    InvalidHeader(HeaderError),
    /// A `msg` frame carries more payload than its attachments declare.
    PayloadTooLong { len: u64, max: u64 },
    /// A `chunk` frame's bytes do not fit its declared place in the stream.
    ChunkOutOfRange { offset: u64, len: u64, total: u64 },
    /// A `chunk` frame's `last` flag disagrees with its offset, length and total.
    LastFlagMismatch { last: bool, end: u64, total: u64 },
    /// A frame kind that carries no payload came with payload bytes.
    UnexpectedPayload(u64),
}

/// A header field that breaks a limit or a rule of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// A string field is longer than allowed (in bytes).
    FieldTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    /// A required string field is empty.
    FieldEmpty(&'static str),
    /// A string field holds a control character.
    ControlCharacter(&'static str),
    /// A message declares more attachments than allowed.
    TooManyFiles { count: usize, max: usize },
    /// An attachment lists more removed-metadata categories than allowed.
    TooManyRemoved { count: usize, max: usize },
    /// The attachments' sizes add up past the protocol's maximum.
    MessageTooLarge { total: u64, max: u64 },
    /// A message with neither text nor attachments.
    EmptyMessage,
    /// A chunk claims a stream larger than the protocol's maximum.
    TotalTooLarge { total: u64, max: u64 },
    /// An image dimension of zero or beyond the maximum.
    BadDimension { value: u32, max: u32 },
    /// A field that must be unpadded base64url is not.
    NotBase64Url(&'static str),
}

/// Why a frame could not be written.
#[derive(Debug)]
pub enum EncodeError {
    /// The JSON header would not fit the 16-bit length field.
    HeaderTooLarge { len: usize, max: usize },
    /// The header breaks a limit or a rule of the protocol.
    InvalidHeader(HeaderError),
    /// The frame budget is outside the supported range.
    BadBudget {
        budget: usize,
        min: usize,
        max: usize,
    },
    /// The message header alone does not fit the frame budget.
    HeaderExceedsBudget { header: usize, budget: usize },
    /// The payload disagrees with what the header declares.
    Payload(DecodeError),
    /// serde_json failed to write the header (it does not for these types).
    Json(serde_json::Error),
}

/// Why a frame was refused by the [`Reassembler`](crate::Reassembler).
///
/// Every variant that concerns a transfer names it: that message failed as a
/// whole and its partial bytes were released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReassemblyError {
    /// A chunk or cancel for a transfer that is not in progress (never started,
    /// already complete, expired or failed).
    UnknownTransfer(TransferKey),
    /// The message's attachments add up past the receiver's limit.
    TooLarge {
        key: TransferKey,
        total: u64,
        max: u64,
    },
    /// Too many unfinished transfers at once, overall or from this sender.
    TooManyTransfers { key: TransferKey, max: usize },
    /// Accepting this transfer would buffer more bytes than the receiver allows.
    BufferFull {
        key: TransferKey,
        buffered: u64,
        max: u64,
    },
    /// A chunk's offset is not where the stream stands.
    OffsetMismatch {
        key: TransferKey,
        expected: u64,
        got: u64,
    },
    /// A chunk's total disagrees with the message header.
    TotalMismatch {
        key: TransferKey,
        expected: u64,
        got: u64,
    },
    /// A chunk's bytes run past the end of the stream.
    Overrun {
        key: TransferKey,
        end: u64,
        total: u64,
    },
    /// A chunk's `last` flag disagrees with the bytes received.
    LastFlagMismatch { key: TransferKey, last: bool },
    /// A `msg` frame's header breaks the protocol (when fed without `Frame::decode`).
    InvalidHeader {
        key: TransferKey,
        error: HeaderError,
    },
    /// A `msg` frame carries more payload than its attachments declare.
    PayloadTooLong {
        key: TransferKey,
        len: u64,
        max: u64,
    },
}

/// Why an encrypted envelope (version byte `0xFD`) was refused.
#[derive(Debug)]
pub enum EnvelopeError {
    /// The message is empty.
    Empty,
    /// The first byte is not the envelope's version byte `0xFD`.
    NotAnEnvelope(u8),
    /// Fewer bytes than the envelope's fixed fields and GCM tag need.
    Truncated { needed: u64, available: u64 },
    /// The flags byte has bits other than begin (0x01) and end (0x02) set.
    UnknownFlags(u8),
    /// The room name does not fit the additional data's 16-bit length field.
    RoomTooLong { len: usize, max: usize },
    /// The inner frame to seal is larger than AES-GCM or the frame budget allows.
    InnerTooLarge { len: u64, max: u64 },
    /// Authentication failed: another key, room, index, flags or tag, or changed bytes.
    Authentication,
    /// The decrypted bytes are not a valid version 1 frame.
    Inner(DecodeError),
    /// The envelope's flags disagree with the role of the frame inside it.
    FlagsMismatch { envelope: u8, inner: u8 },
}

/// Why a room key (`#k=` and 43 base64url characters) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The key is not 43 characters long.
    Length { len: usize, expected: usize },
    /// A character outside the base64url alphabet, at this byte offset.
    InvalidCharacter { offset: usize },
    /// The last character carries bits past the key's 256 (a second spelling of a key).
    NonCanonical,
    /// The fragment holds more than one `k=` parameter.
    Duplicate,
}

impl ReassemblyError {
    /// The transfer this error failed, if it concerns one that was in progress
    /// or was being started.
    #[must_use]
    pub fn key(&self) -> Option<&TransferKey> {
        match self {
            Self::UnknownTransfer(_) => None,
            Self::TooLarge { key, .. }
            | Self::TooManyTransfers { key, .. }
            | Self::BufferFull { key, .. }
            | Self::OffsetMismatch { key, .. }
            | Self::TotalMismatch { key, .. }
            | Self::Overrun { key, .. }
            | Self::LastFlagMismatch { key, .. }
            | Self::InvalidHeader { key, .. }
            | Self::PayloadTooLong { key, .. } => Some(key),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty message"),
            Self::NotAFrame(b) => write!(f, "not a framechat frame (first byte {b:#04x})"),
            Self::UnsupportedVersion(b) => {
                write!(f, "unsupported framechat version (magic byte {b:#04x})")
            }
            Self::Truncated { needed, available } => {
                write!(
                    f,
                    "truncated frame: needed {needed} bytes, have {available}"
                )
            }
            Self::InvalidJson(e) => write!(f, "invalid header json: {e}"),
            Self::UnknownKind(k) => write!(f, "unknown frame kind {k:?}"),
            Self::InvalidHeader(e) => write!(f, "invalid header: {e}"),
            Self::PayloadTooLong { len, max } => {
                write!(f, "payload of {len} bytes exceeds the declared {max}")
            }
            Self::ChunkOutOfRange { offset, len, total } => write!(
                f,
                "chunk of {len} bytes at offset {offset} runs past the total of {total}"
            ),
            Self::LastFlagMismatch { last, end, total } => write!(
                f,
                "chunk last flag is {last} but it ends at {end} of {total}"
            ),
            Self::UnexpectedPayload(n) => write!(f, "unexpected payload of {n} bytes"),
        }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FieldTooLong { field, len, max } => {
                write!(f, "field {field} is {len} bytes, the limit is {max}")
            }
            Self::FieldEmpty(field) => write!(f, "field {field} is empty"),
            Self::ControlCharacter(field) => write!(f, "field {field} holds a control character"),
            Self::TooManyFiles { count, max } => {
                write!(f, "{count} attachments, the limit is {max}")
            }
            Self::TooManyRemoved { count, max } => {
                write!(f, "{count} removed categories, the limit is {max}")
            }
            Self::MessageTooLarge { total, max } => {
                write!(f, "attachments total {total} bytes, the limit is {max}")
            }
            Self::EmptyMessage => f.write_str("message has neither text nor attachments"),
            Self::TotalTooLarge { total, max } => {
                write!(f, "chunk total of {total} bytes exceeds the limit of {max}")
            }
            Self::BadDimension { value, max } => {
                write!(f, "image dimension {value} is not within 1..={max}")
            }
            Self::NotBase64Url(field) => write!(f, "field {field} is not unpadded base64url"),
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeaderTooLarge { len, max } => {
                write!(f, "header of {len} bytes exceeds the limit of {max}")
            }
            Self::InvalidHeader(e) => write!(f, "invalid header: {e}"),
            Self::BadBudget { budget, min, max } => {
                write!(f, "frame budget {budget} is not within {min}..={max}")
            }
            Self::HeaderExceedsBudget { header, budget } => write!(
                f,
                "message header of {header} bytes leaves no room in a {budget}-byte frame"
            ),
            Self::Payload(e) => write!(f, "payload: {e}"),
            Self::Json(e) => write!(f, "header json: {e}"),
        }
    }
}

impl fmt::Display for ReassemblyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownTransfer(key) => write!(f, "no transfer {key} in progress"),
            Self::TooLarge { key, total, max } => {
                write!(
                    f,
                    "transfer {key} of {total} bytes exceeds the limit of {max}"
                )
            }
            Self::TooManyTransfers { key, max } => {
                write!(
                    f,
                    "transfer {key} refused: {max} transfers already in progress"
                )
            }
            Self::BufferFull { key, buffered, max } => write!(
                f,
                "transfer {key} refused: {buffered} bytes buffered, the limit is {max}"
            ),
            Self::OffsetMismatch { key, expected, got } => {
                write!(f, "transfer {key}: expected offset {expected}, got {got}")
            }
            Self::TotalMismatch { key, expected, got } => {
                write!(f, "transfer {key}: expected total {expected}, got {got}")
            }
            Self::Overrun { key, end, total } => {
                write!(
                    f,
                    "transfer {key}: chunk ends at {end}, past the total of {total}"
                )
            }
            Self::LastFlagMismatch { key, last } => {
                write!(
                    f,
                    "transfer {key}: last flag {last} disagrees with the bytes received"
                )
            }
            Self::InvalidHeader { key, error } => write!(f, "transfer {key}: {error}"),
            Self::PayloadTooLong { key, len, max } => write!(
                f,
                "transfer {key}: payload of {len} bytes exceeds the declared {max}"
            ),
        }
    }
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty message"),
            Self::NotAnEnvelope(b) => {
                write!(f, "not an encrypted envelope (first byte {b:#04x})")
            }
            Self::Truncated { needed, available } => write!(
                f,
                "truncated envelope: needed {needed} bytes, have {available}"
            ),
            Self::UnknownFlags(b) => write!(f, "unknown envelope flags {b:#04x}"),
            Self::RoomTooLong { len, max } => {
                write!(f, "room name of {len} bytes exceeds the limit of {max}")
            }
            Self::InnerTooLarge { len, max } => {
                write!(f, "inner frame of {len} bytes exceeds the limit of {max}")
            }
            Self::Authentication => f.write_str("envelope failed to authenticate"),
            Self::Inner(e) => write!(f, "decrypted frame: {e}"),
            Self::FlagsMismatch { envelope, inner } => write!(
                f,
                "envelope flags {envelope:#04x} disagree with the inner frame's {inner:#04x}"
            ),
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { len, expected } => {
                write!(f, "room key is {len} characters, expected {expected}")
            }
            Self::InvalidCharacter { offset } => {
                write!(f, "room key has a non-base64url character at {offset}")
            }
            Self::NonCanonical => f.write_str("room key's last character is not canonical"),
            Self::Duplicate => f.write_str("more than one room key in the fragment"),
        }
    }
}

impl std::error::Error for EnvelopeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Inner(e) => Some(e),
            _ => None,
        }
    }
}
impl std::error::Error for KeyError {}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidJson(e) => Some(e),
            _ => None,
        }
    }
}
impl std::error::Error for HeaderError {}
impl std::error::Error for EncodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Json(e) => Some(e),
            Self::Payload(e) => Some(e),
            _ => None,
        }
    }
}
impl std::error::Error for ReassemblyError {}

impl From<HeaderError> for DecodeError {
    fn from(e: HeaderError) -> Self {
        Self::InvalidHeader(e)
    }
}

impl From<HeaderError> for EncodeError {
    fn from(e: HeaderError) -> Self {
        Self::InvalidHeader(e)
    }
}
