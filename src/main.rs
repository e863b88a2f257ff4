//! Standalone entry point: renders the chat into the page body.
fn main() {}
