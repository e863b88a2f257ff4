//! `--validate`: whether a message is a well-formed framechat frame.
//!
//! PROTOCOL.md: "One WebSocket binary message is one frame" and "Text
//! WebSocket messages are not part of the protocol". So under `--validate` a
//! binary message must decode with [`framechat_wire::Frame::decode`] (layout,
//! header and declared payload length) and a text message is never valid.

use std::fmt;

use axum::extract::ws::Message;
use framechat_wire::{DecodeError, Frame};

/// Why a message was not relayed under `--validate`.
#[derive(Debug)]
pub(crate) enum Invalid {
    /// A text message: not part of the protocol.
    Text,
    /// A binary message that is not a valid frame.
    Frame(DecodeError),
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text => f.write_str("text message (the protocol is binary frames only)"),
            Self::Frame(err) => write!(f, "invalid frame: {err}"),
        }
    }
}

/// Checks one data message.
pub(crate) fn check(msg: &Message) -> Result<(), Invalid> {
    match msg {
        Message::Binary(bytes) => Frame::decode(bytes).map(drop).map_err(Invalid::Frame),
        Message::Text(_) => Err(Invalid::Text),
        // Control messages are never relayed, so never checked.
        Message::Ping(_) | Message::Pong(_) | Message::Close(_) => Ok(()),
    }
}
