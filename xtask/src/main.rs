//! Project automation: `cargo xtask run | test | bench`.
fn main() {}
