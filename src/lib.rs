//! framechat: the Yew chat client that sends pictures as binary WebSocket frames, metadata removed.
//!
//! `state` is pure; only `net`, `media`, `embed` and `webcrypto` (private rooms' keys and
//! encryption) touch the browser.

pub mod app;
pub mod components;
pub mod embed;
pub mod error;
pub mod media;
pub mod net;
pub mod state;
pub mod webcrypto;

pub use error::AppError;
