//! framechat's binary frame format: layout, headers, chunking and reassembly.
//!
//! One WebSocket binary message is one [`Frame`]: a magic byte, a 16-bit
//! header length, a JSON [`Header`] and the payload. Messages whose
//! attachments do not fit one frame continue in `chunk` frames ([`plan`]),
//! which a receiver's [`Reassembler`] puts back together. PROTOCOL.md at the
//! repository root specifies the format for implementers in other languages.
//!
//! The crate is pure: no IO, no clocks (callers pass the time), no panics on
//! any input.

#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]

mod chunk;
mod envelope;
mod error;
mod frame;
mod frame_index;
mod header;
mod reassembly;
mod room_key;
mod thumb;

#[cfg(feature = "native-crypto")]
pub mod native;

pub use chunk::{
    DEFAULT_FRAME_BUDGET, MAX_FRAME_BUDGET, MIN_FRAME_BUDGET, Plan, PlannedFrame, Span, frames,
    plan, split_parts, stream_slices,
};
pub use envelope::{
    AD_LABEL, ENVELOPE_HEADER_LEN, ENVELOPE_MAGIC, ENVELOPE_OVERHEAD, Envelope, FRAME_KEY_INFO,
    Flags, GCM_TAG_LEN, MAX_INNER_LEN, MAX_ROOM_LEN, MIN_PRIVATE_FRAME_BUDGET, NONCE_LEN,
    ROOM_KEY_LEN, STORE_KEY_INFO, TAG_LEN, additional_data, decode_inner, inner_budget,
    is_envelope,
};
pub use error::{DecodeError, EncodeError, EnvelopeError, HeaderError, KeyError, ReassemblyError};
pub use frame::{
    FUTURE_MAGIC, Frame, MAGIC, MAX_HEADER_LEN, PREFIX_LEN, decode_header, header_end, header_len,
    write_frame, write_header,
};
pub use frame_index::{DEFAULT_MAX_TAGS, FrameIndexes};
pub use header::{
    Attachment, CancelHeader, ChunkHeader, Header, MAX_DIMENSION, MAX_FILES, MAX_FROM_LEN,
    MAX_MESSAGE_BYTES, MAX_MIME_LEN, MAX_NAME_LEN, MAX_REMOVED, MAX_REMOVED_LEN, MAX_TEXT_LEN,
    MessageHeader,
};
pub use reassembly::{Event, Limits, Part, Reassembler, TransferKey};
pub use room_key::{ROOM_KEY_CHARS, RoomKey};
pub use thumb::{MAX_THUMB_LEN, decode_thumb, encode_thumb};
pub use uuid::Uuid;
