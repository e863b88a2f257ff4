//! `--validate`: whether a message is a well-formed framechat frame.
//!
//! PROTOCOL.md: "One WebSocket binary message is one frame" and "Text
//! WebSocket messages are not part of the protocol". So under `--validate` a
//! binary message must decode with [`framechat_wire::Frame::decode`] (layout,
//! header and declared payload length) and a text message is never valid.
//! An encrypted envelope (first byte 0xFD) is opaque: only its length (at
//! least 46 bytes) and flags (bits 0 and 1 only) are checked.

use std::fmt;

use axum::extract::ws::Message;
use framechat_wire::{DecodeError, Frame};

use crate::history::{SEALED, envelope};

/// Why a message was not relayed under `--validate`.
#[derive(Debug)]
pub(crate) enum Invalid {
    /// A text message: not part of the protocol.
    Text,
    /// A binary message that is not a valid frame.
    Frame(DecodeError),
    /// A 0xFD message shorter than an envelope, or with unknown flags.
    Envelope,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text => f.write_str("text message (the protocol is binary frames only)"),
            Self::Frame(err) => write!(f, "invalid frame: {err}"),
            Self::Envelope => f.write_str("invalid encrypted envelope (length or flags)"),
        }
    }
}

/// Checks one data message.
pub(crate) fn check(msg: &Message) -> Result<(), Invalid> {
    match msg {
        Message::Binary(bytes) if bytes.first() == Some(&SEALED) => {
            envelope(bytes).map(drop).ok_or(Invalid::Envelope)
        }
        Message::Binary(bytes) => Frame::decode(bytes).map(drop).map_err(Invalid::Frame),
        Message::Text(_) => Err(Invalid::Text),
        // Control messages are never relayed, so never checked.
        Message::Ping(_) | Message::Pong(_) | Message::Close(_) => Ok(()),
    }
}
