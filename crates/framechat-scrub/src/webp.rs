//! WEBP scrubbing (in progress).

use crate::{Format, ScrubError, Scrubbed};

/// Scrub a WEBP file.
pub(crate) fn scrub(_input: &[u8]) -> Result<Scrubbed, ScrubError> {
    Err(ScrubError::unsupported(Format::Webp, "not implemented yet"))
}
