//! The crate's one error type: why a file that looked like an image could not be scrubbed.

use std::fmt;

use crate::Format;

/// Why [`scrub`](crate::scrub) refused a file.
///
/// Only [`ScrubError::NotAnImage`] means "send it as a plain file"; every other variant
/// means the bytes claimed to be an image but could not be parsed safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScrubError {
    /// The magic bytes are not a format this crate scrubs.
    NotAnImage,
    /// A length or offset in the file points past its end.
    Truncated {
        /// Bytes the file would need to hold, counted from its start.
        needed: u64,
        /// Bytes the file holds.
        available: u64,
    },
    /// A declared size is larger than this crate accepts.
    TooLarge {
        /// The format being parsed.
        format: Format,
        /// What carried the size.
        what: &'static str,
        /// The declared size.
        len: u64,
        /// The largest size accepted.
        max: u64,
    },
    /// More segments, chunks, blocks or boxes than this crate accepts.
    TooMany {
        /// The format being parsed.
        format: Format,
        /// What was counted.
        what: &'static str,
        /// The largest count accepted.
        max: u64,
    },
    /// The structure breaks the format's specification.
    Malformed {
        /// The format being parsed.
        format: Format,
        /// What is wrong, in a few words.
        what: &'static str,
    },
    /// Valid for the format, but something this crate cannot keep without risk of
    /// corrupting the image or leaking metadata.
    Unsupported {
        /// The format being parsed.
        format: Format,
        /// What is not supported, in a few words.
        what: &'static str,
    },
}

impl ScrubError {
    /// The format the file was parsed as, when the error says so.
    ///
    /// `None` for [`ScrubError::NotAnImage`] and [`ScrubError::Truncated`]; for the latter
    /// [`Format::sniff`] on the same bytes gives it.
    #[must_use]
    pub fn format(&self) -> Option<Format> {
        match self {
            Self::NotAnImage | Self::Truncated { .. } => None,
            Self::TooLarge { format, .. }
            | Self::TooMany { format, .. }
            | Self::Malformed { format, .. }
            | Self::Unsupported { format, .. } => Some(*format),
        }
    }

    pub(crate) fn malformed(format: Format, what: &'static str) -> Self {
        Self::Malformed { format, what }
    }

    pub(crate) fn unsupported(format: Format, what: &'static str) -> Self {
        Self::Unsupported { format, what }
    }

    pub(crate) fn truncated(needed: u64, available: usize) -> Self {
        Self::Truncated {
            needed,
            available: available as u64,
        }
    }
}

impl fmt::Display for ScrubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnImage => f.write_str("not an image format that can be scrubbed"),
            Self::Truncated { needed, available } => write!(
                f,
                "truncated image: needs {needed} bytes, only {available} available"
            ),
            Self::TooLarge {
                format,
                what,
                len,
                max,
            } => write!(f, "{format} {what} too large: {len} bytes, at most {max}"),
            Self::TooMany { format, what, max } => {
                write!(f, "too many {what} in {format} file: more than {max}")
            }
            Self::Malformed { format, what } => write!(f, "malformed {format} file: {what}"),
            Self::Unsupported { format, what } => {
                write!(f, "unsupported {format} file: {what}")
            }
        }
    }
}

impl std::error::Error for ScrubError {}
