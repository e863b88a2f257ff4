//! The app's one error type; JS errors are turned into it where they happen (net, media, embed).

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum AppError {
    /// A browser API threw or returned an error.
    Js(String),
    /// Reading a picked file failed.
    Read(String),
    /// A frame could not be built.
    Encode(String),
    /// A received frame could not be decoded.
    Decode(String),
    /// A file is over the configured size limit.
    TooLarge { size: u64, max: u64 },
    /// Bad embedding options or page parameters.
    Config(String),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Js(m) => write!(f, "browser error: {m}"),
            AppError::Read(m) => write!(f, "could not read the file: {m}"),
            AppError::Encode(m) => write!(f, "could not build the message: {m}"),
            AppError::Decode(m) => write!(f, "could not decode a frame: {m}"),
            AppError::TooLarge { size, max } => write!(
                f,
                "the file is {}; the limit is {}",
                crate::state::human_size(*size),
                crate::state::human_size(*max)
            ),
            AppError::Config(m) => write!(f, "bad option: {m}"),
        }
    }
}

impl std::error::Error for AppError {}

// `From<JsValue>` lives in `embed`, with the other browser glue, so this file stays pure.

impl From<framechat_wire::EncodeError> for AppError {
    fn from(e: framechat_wire::EncodeError) -> Self {
        AppError::Encode(e.to_string())
    }
}

impl From<framechat_wire::DecodeError> for AppError {
    fn from(e: framechat_wire::DecodeError) -> Self {
        AppError::Decode(e.to_string())
    }
}
