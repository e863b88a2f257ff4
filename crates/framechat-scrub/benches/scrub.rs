//! Criterion bench: scrubbing a camera-like JPEG against a plain copy of the same bytes.

fn main() {}
