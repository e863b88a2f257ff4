//! GIF scrubbing (in progress).

use crate::{Format, ScrubError, Scrubbed};

/// Scrub a GIF file.
pub(crate) fn scrub(_input: &[u8]) -> Result<Scrubbed, ScrubError> {
    Err(ScrubError::unsupported(Format::Gif, "not implemented yet"))
}
