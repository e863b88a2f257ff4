//! The client's one error type, typed by what went wrong. JS errors are turned into it
//! where they happen (`platform`), wire errors keep their own type inside it.

use std::fmt;
use std::rc::Rc;

use framechat_wire::{DecodeError, EncodeError, ReassemblyError};

use crate::state::human_size;

#[derive(Clone, Debug)]
pub enum AppError {
    /// A browser API threw or returned an error (its message).
    Js(String),
    /// No `window`: not a page (a worker, or a detached realm).
    NoWindow,
    /// Reading a picked file failed (the browser's reason).
    Read(String),
    /// A message could not be framed.
    Encode(Rc<EncodeError>),
    /// A received frame's header could not be decoded.
    Decode(Rc<DecodeError>),
    /// A received frame is shorter than its prefix says.
    Truncated { len: u32 },
    /// A received frame did not fit the message it belongs to.
    Reassembly(ReassemblyError),
    /// A file is over the configured size limit.
    TooLarge { size: u64, max: u64 },
    /// A frame longer than a socket message may be (4 GiB).
    FrameTooLarge { len: u64 },
    /// A frame's bytes share their buffer, which a transfer to the socket worker would take.
    SharedBuffer,
    /// The socket is not open.
    NotOpen,
    /// The socket worker's script could not be made.
    NoWorkerScript,
    /// Bad embedding options or page parameters.
    Config(String),
    /// The start-up warm-up did not complete (`crate::startup`).
    WarmUp(&'static str),
    /// A private room's key or frame could not be handled (WebCrypto, a bad key).
    Crypto(String),
    /// The browser's storage quota is used up.
    StoreFull,
    /// The kept chat could not be read or written (the browser's reason).
    Store(String),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Js(m) => write!(f, "browser error: {m}"),
            AppError::NoWindow => f.write_str("browser error: no window"),
            AppError::Read(m) => write!(f, "could not read the file: {m}"),
            AppError::Encode(e) => write!(f, "could not build the message: {e}"),
            AppError::Decode(e) => write!(f, "could not be decoded: {e}"),
            AppError::Truncated { len } => write!(f, "a {len}-byte frame is truncated"),
            AppError::Reassembly(e) => e.fmt(f),
            AppError::TooLarge { size, max } => write!(
                f,
                "the file is {}; the limit is {}",
                human_size(*size),
                human_size(*max)
            ),
            AppError::FrameTooLarge { len } => write!(f, "a {len}-byte frame is too large"),
            AppError::SharedBuffer => f.write_str("a frame shares its buffer"),
            AppError::NotOpen => f.write_str("the socket is not open"),
            AppError::NoWorkerScript => f.write_str("no socket worker script"),
            AppError::Config(m) => write!(f, "bad option: {m}"),
            AppError::WarmUp(what) => write!(f, "warm-up: {what}"),
            AppError::Crypto(m) => write!(f, "private room: {m}"),
            AppError::StoreFull => f.write_str("the browser's storage for this site is full"),
            AppError::Store(m) => write!(f, "could not keep the chat: {m}"),
        }
    }
}

impl std::error::Error for AppError {}

impl From<EncodeError> for AppError {
    fn from(e: EncodeError) -> Self {
        AppError::Encode(Rc::new(e))
    }
}

impl From<DecodeError> for AppError {
    fn from(e: DecodeError) -> Self {
        AppError::Decode(Rc::new(e))
    }
}

impl From<ReassemblyError> for AppError {
    fn from(e: ReassemblyError) -> Self {
        AppError::Reassembly(e)
    }
}
