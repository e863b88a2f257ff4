//! HEIC and AVIF scrubbing (in progress).

use crate::{Format, ScrubError, Scrubbed};

/// Scrub a HEIF file.
pub(crate) fn scrub(_input: &[u8], format: Format) -> Result<Scrubbed, ScrubError> {
    Err(ScrubError::unsupported(format, "not implemented yet"))
}
