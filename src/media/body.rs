//! What is sent for an attachment ([`Body`]), and the one type the send path accepts,
//! [`Sendable`]: an attachment cleared to leave the browser.

use std::rc::Rc;

use crate::error::AppError;

/// What is sent for one attachment.
#[derive(Clone, Debug)]
pub enum Body {
    /// A scrubbed image in JS memory, in order: `Uint8Array` views of the file as read and
    /// the scrubber's new bytes. Frames are copied from these directly.
    Memory(Rc<[js_sys::Uint8Array]>),
    /// A file the browser reads as it is sent (plain files and unscrubbed originals): they
    /// are never read whole into memory.
    File(web_sys::Blob),
}

impl Body {
    /// Its length in bytes.
    pub fn size(&self) -> u64 {
        match self {
            Body::Memory(parts) => parts.iter().map(|p| u64::from(p.length())).sum(),
            // Blob sizes are whole numbers below 2^53.
            Body::File(blob) => blob.size() as u64,
        }
    }

    /// Push the parts that hold bytes `start..end` of this body onto `out` (Uint8Array views
    /// or Blob slices); returns whether they are all in memory.
    pub fn push_slices(&self, start: u64, end: u64, out: &js_sys::Array) -> Result<bool, AppError> {
        match self {
            Body::Memory(parts) => {
                let mut base = 0u64;
                for part in parts.iter() {
                    let len = u64::from(part.length());
                    let (a, b) = (start.max(base), end.min(base + len));
                    if a < b {
                        // Both within this part, which is shorter than 4 GiB.
                        let (a, b) = ((a - base) as u32, (b - base) as u32);
                        out.push(&part.subarray(a, b));
                    }
                    base += len;
                }
                Ok(true)
            }
            Body::File(blob) => {
                let slice = blob.slice_with_f64_and_f64(start as f64, end as f64)?;
                out.push(&slice);
                Ok(false)
            }
        }
    }
}

/// An attachment cleared to leave the browser, with what the sender's own chat shows for it.
///
/// The send path (`crate::net::Client::send`) takes nothing else. Only
/// [`super::Prepared::to_send`] makes one, and it does so for the scrubber's output, for a
/// file that is not an image, and for an unscrubbable image only after the user released its
/// original ([`super::Prepared::release_original`]): an image whose metadata could not be
/// removed cannot reach the socket otherwise.
#[derive(Clone, Debug)]
pub struct Sendable {
    attachment: framechat_wire::Attachment,
    body: Body,
    preview: Option<crate::state::Media>,
}

impl Sendable {
    pub(super) fn new(
        attachment: framechat_wire::Attachment,
        body: Body,
        preview: Option<crate::state::Media>,
    ) -> Self {
        Self {
            attachment,
            body,
            preview,
        }
    }

    /// Its header entry.
    pub fn attachment(&self) -> &framechat_wire::Attachment {
        &self.attachment
    }

    /// Its bytes.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// What the sender's chat shows for it.
    pub fn preview(&self) -> Option<&crate::state::Media> {
        self.preview.as_ref()
    }
}
