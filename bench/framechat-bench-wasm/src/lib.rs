//! The scrubber compiled for the browser benchmarks.
