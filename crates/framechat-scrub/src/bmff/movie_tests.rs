//! Synthetic movies through the movie scrubber.
