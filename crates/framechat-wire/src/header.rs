//! The JSON header of a frame: its kinds, fields and the limits every field is held to.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::HeaderError;

/// Longest sender name, in bytes of UTF-8.
pub const MAX_FROM_LEN: usize = 64;
/// Longest message text, in bytes of UTF-8.
pub const MAX_TEXT_LEN: usize = 16 * 1024;
/// Longest attachment file name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 255;
/// Longest MIME type, in bytes.
pub const MAX_MIME_LEN: usize = 127;
/// Most attachments in one message.
pub const MAX_FILES: usize = 32;
/// Most removed-metadata categories listed for one attachment.
pub const MAX_REMOVED: usize = 16;
/// Longest removed-metadata category code, in bytes.
pub const MAX_REMOVED_LEN: usize = 32;
/// Largest image dimension a header may declare.
pub const MAX_DIMENSION: u32 = 1 << 16;
/// Largest message the protocol can describe: the attachments' sizes added up.
///
/// Receivers apply their own, usually lower, limit (see [`Limits`](crate::Limits)).
/// 2^53 keeps every size exact in a JavaScript number.
pub const MAX_MESSAGE_BYTES: u64 = (1 << 53) - 1;

/// The header of one frame, tagged by its `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Header {
    /// A chat message: text and attachment descriptions, followed in the
    /// payload by the start of the attachments' bytes.
    Msg(MessageHeader),
    /// A further piece of a message's attachment bytes.
    Chunk(ChunkHeader),
    /// The sender gave up on a message: receivers drop what they have of it.
    Cancel(CancelHeader),
}

/// A chat message. Its attachments' bytes form one stream, their concatenation
/// in order; `files[i].size` says where each ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageHeader {
    /// Unique message id; receivers deduplicate by it.
    #[serde(with = "uuid::serde::simple")]
    pub id: Uuid,
    /// Sender's display name.
    pub from: String,
    /// Send time, milliseconds since the Unix epoch.
    pub ts: u64,
    /// Message text, possibly empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Attachments, in stream order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<Attachment>,
}

/// One attachment of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name as the sender picked it (no path).
    pub name: String,
    /// MIME type, decided by the sender from magic bytes.
    pub mime: String,
    /// Exact byte size.
    pub size: u64,
    /// Displayed width in pixels (orientation applied), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Displayed height in pixels (orientation applied), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// What the sender's scrubber removed, as category codes (`"location"`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// A ThumbHash of the picture (or a video's first frame) as unpadded base64url
    /// ([`encode_thumb`](crate::encode_thumb)): a blurred placeholder to paint until the
    /// file has arrived. Receivers that do not know the field ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<String>,
}

/// A piece of a message's attachment stream after the `msg` frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkHeader {
    /// The message this chunk belongs to.
    #[serde(with = "uuid::serde::simple")]
    pub id: Uuid,
    /// Sender's display name, as in the message.
    pub from: String,
    /// Where this chunk's payload starts in the attachment stream.
    pub offset: u64,
    /// Length of the whole attachment stream.
    pub total: u64,
    /// Whether this chunk ends the stream; left out when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub last: bool,
}

/// The sender abandoned a message (user cancel, file unreadable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelHeader {
    /// The message given up on.
    #[serde(with = "uuid::serde::simple")]
    pub id: Uuid,
    /// Sender's display name, as in the message.
    pub from: String,
}

impl Header {
    /// The message id this frame belongs to.
    #[must_use]
    pub fn id(&self) -> Uuid {
        match self {
            Self::Msg(h) => h.id,
            Self::Chunk(h) => h.id,
            Self::Cancel(h) => h.id,
        }
    }

    /// The sender name this frame carries.
    #[must_use]
    pub fn from(&self) -> &str {
        match self {
            Self::Msg(h) => &h.from,
            Self::Chunk(h) => &h.from,
            Self::Cancel(h) => &h.from,
        }
    }

    /// Checks every field against the protocol's limits.
    ///
    /// # Errors
    /// The first field found out of bounds.
    pub fn validate(&self) -> Result<(), HeaderError> {
        match self {
            Self::Msg(h) => h.validate(),
            Self::Chunk(h) => {
                check_str("from", &h.from, MAX_FROM_LEN)?;
                if h.total > MAX_MESSAGE_BYTES {
                    return Err(HeaderError::TotalTooLarge {
                        total: h.total,
                        max: MAX_MESSAGE_BYTES,
                    });
                }
                Ok(())
            }
            Self::Cancel(h) => check_str("from", &h.from, MAX_FROM_LEN),
        }
    }
}

impl MessageHeader {
    /// Length of the attachment stream: the attachments' sizes added up.
    ///
    /// # Errors
    /// [`HeaderError::MessageTooLarge`] when the sum passes [`MAX_MESSAGE_BYTES`].
    pub fn total(&self) -> Result<u64, HeaderError> {
        let mut total: u64 = 0;
        for file in &self.files {
            total = total
                .checked_add(file.size)
                .filter(|t| *t <= MAX_MESSAGE_BYTES)
                .ok_or(HeaderError::MessageTooLarge {
                    total: u64::MAX,
                    max: MAX_MESSAGE_BYTES,
                })?;
        }
        Ok(total)
    }

    /// The attachments' sizes, in stream order.
    #[must_use]
    pub fn sizes(&self) -> Vec<u64> {
        self.files.iter().map(|f| f.size).collect()
    }

    /// Checks every field against the protocol's limits.
    ///
    /// # Errors
    /// The first field found out of bounds.
    pub fn validate(&self) -> Result<(), HeaderError> {
        check_str("from", &self.from, MAX_FROM_LEN)?;
        // Text may hold newlines and tabs; other control characters are refused.
        if self.text.len() > MAX_TEXT_LEN {
            return Err(HeaderError::FieldTooLong {
                field: "text",
                len: self.text.len(),
                max: MAX_TEXT_LEN,
            });
        }
        if self
            .text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(HeaderError::ControlCharacter("text"));
        }
        if self.files.len() > MAX_FILES {
            return Err(HeaderError::TooManyFiles {
                count: self.files.len(),
                max: MAX_FILES,
            });
        }
        if self.text.trim().is_empty() && self.files.is_empty() {
            return Err(HeaderError::EmptyMessage);
        }
        for file in &self.files {
            file.validate()?;
        }
        self.total().map(|_| ())
    }
}

impl Attachment {
    fn validate(&self) -> Result<(), HeaderError> {
        check_str("name", &self.name, MAX_NAME_LEN)?;
        check_str("mime", &self.mime, MAX_MIME_LEN)?;
        for dim in [self.width, self.height].into_iter().flatten() {
            if dim == 0 || dim > MAX_DIMENSION {
                return Err(HeaderError::BadDimension {
                    value: dim,
                    max: MAX_DIMENSION,
                });
            }
        }
        if self.removed.len() > MAX_REMOVED {
            return Err(HeaderError::TooManyRemoved {
                count: self.removed.len(),
                max: MAX_REMOVED,
            });
        }
        for code in &self.removed {
            check_str("removed", code, MAX_REMOVED_LEN)?;
        }
        if let Some(thumb) = &self.thumb {
            crate::thumb::check(thumb)?;
        }
        Ok(())
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn check_str(field: &'static str, s: &str, max: usize) -> Result<(), HeaderError> {
    if s.len() > max {
        return Err(HeaderError::FieldTooLong {
            field,
            len: s.len(),
            max,
        });
    }
    if s.is_empty() {
        return Err(HeaderError::FieldEmpty(field));
    }
    if s.chars().any(char::is_control) {
        return Err(HeaderError::ControlCharacter(field));
    }
    Ok(())
}
