//! framechat: the Yew chat client that sends pictures as binary WebSocket frames, metadata removed.
//!
//! Modules import one way, top to bottom (ARCHITECTURE.md; a tidy test checks it):
//! `embed` → `app` → `startup` → `components` → `net` → `store` → `media` → `platform` →
//! `error` → `state`. `state` and `error` are pure; `platform` is the browser underneath.

pub mod app;
pub mod components;
pub mod embed;
pub mod error;
pub mod media;
pub mod net;
pub mod platform;
pub mod startup;
pub mod state;
pub mod store;

pub use error::AppError;
