//! PNG scrubbing (in progress).

use crate::{Format, ScrubError, Scrubbed};

/// Scrub a PNG file.
pub(crate) fn scrub(_input: &[u8]) -> Result<Scrubbed, ScrubError> {
    Err(ScrubError::unsupported(Format::Png, "not implemented yet"))
}
