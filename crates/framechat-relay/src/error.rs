//! The relay library's error type.

use std::fmt;

/// Why a client could not join a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinError {
    /// The room already has `max` clients.
    RoomFull {
        /// The room's name.
        room: String,
        /// `Config::max_clients_per_room`.
        max: usize,
    },
    /// Creating the room would exceed `max` rooms.
    TooManyRooms {
        /// `Config::max_rooms`.
        max: usize,
    },
    /// The relay is shutting down.
    ShuttingDown,
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RoomFull { room, max } => write!(f, "room {room:?} is full ({max} clients)"),
            Self::TooManyRooms { max } => write!(f, "too many rooms (max {max})"),
            Self::ShuttingDown => f.write_str("relay is shutting down"),
        }
    }
}

impl std::error::Error for JoinError {}

impl JoinError {
    /// Close code and reason sent to the client (the reason must stay under
    /// 123 bytes, RFC 6455 §5.5).
    #[must_use]
    pub fn close(&self) -> (u16, &'static str) {
        use crate::config::close_code;
        match self {
            Self::RoomFull { .. } => (close_code::TRY_AGAIN_LATER, "room full"),
            Self::TooManyRooms { .. } => (close_code::TRY_AGAIN_LATER, "too many rooms"),
            Self::ShuttingDown => (close_code::GOING_AWAY, "relay shutting down"),
        }
    }
}
