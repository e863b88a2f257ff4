//! WebSocket relay for framechat rooms: every message a client sends goes, as
//! opaque bytes, to every client of the same room, the sender included, in
//! the order the relay received it.
//!
//! - Routes: `/ws/chat/<room>/` (and without the trailing slash) for rooms,
//!   `/healthz` for a JSON health report, and `/` for the static client.
//! - Each client has a bounded outgoing queue (messages and bytes, see
//!   [`Config`]); a client that cannot keep up is closed with
//!   [`close_code::SLOW_CONSUMER`] instead of slowing its room down.
//! - A room keeps its last messages in memory and replays them to a client
//!   that joins, before any live message. A room with no clients is removed
//!   together with its history.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! framechat_relay::serve(listener, framechat_relay::Config::default(), shutdown).await
//! # }
//! ```

mod config;
mod conn;
mod error;
mod hub;
pub mod load;
mod rate;
mod validate;

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};

pub use config::{Config, MAX_ROOM_NAME_LEN, MIB, RateMode, close_code, valid_room_name};
pub use error::JoinError;
pub use hub::Stats;

/// A relay: its configuration, rooms and counters. Cheap to clone; clones
/// share the same rooms.
#[derive(Debug, Clone)]
pub struct Relay {
    hub: Arc<hub::Hub>,
}

impl Relay {
    /// A relay with no rooms yet.
    #[must_use]
    pub fn new(config: Config) -> Self {
        Self {
            hub: Arc::new(hub::Hub::new(config)),
        }
    }

    /// The relay's current counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.hub.stats()
    }

    /// Asks every connection to close with 1001 and refuses new ones.
    pub fn shutdown(&self) {
        self.hub.begin_shutdown();
    }

    /// The HTTP routes: rooms, `/healthz` and the static client.
    pub fn router(&self) -> Router {
        let app = Router::new()
            .route("/ws/chat/{room}", get(ws_handler))
            .route("/ws/chat/{room}/", get(ws_handler))
            .route("/healthz", get(healthz))
            .with_state(Arc::clone(&self.hub));
        match &self.hub.config.static_dir {
            Some(dir) => {
                let index = ServeFile::new(dir.join("index.html"));
                app.fallback_service(ServeDir::new(dir).fallback(index))
            }
            None => app.fallback(no_static),
        }
    }

    /// Serves on `listener` until `shutdown` resolves, then closes every
    /// WebSocket with 1001 (going away) and returns once they are closed
    /// (each close handshake bounded by `Config::close_timeout`).
    ///
    /// # Errors
    /// An I/O error from the listener.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "relay listening");
        }
        let hub = Arc::clone(&self.hub);
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: closing WebSockets with 1001");
            hub.begin_shutdown();
        };
        axum::serve(listener, self.router())
            .with_graceful_shutdown(signal)
            .await?;
        // Upgraded connections are no longer HTTP connections: wait for them
        // here. Each ends within close_timeout of the shutdown signal.
        let grace = self.hub.config.close_timeout * 2;
        if tokio::time::timeout(grace, self.hub.connections_closed())
            .await
            .is_err()
        {
            tracing::warn!("some WebSockets did not close in time");
        }
        tracing::info!("relay stopped");
        Ok(())
    }
}

/// The relay's routes for `config` (see [`Relay::router`]).
pub fn router(config: Config) -> Router {
    Relay::new(config).router()
}

/// Serves `config` on `listener` until `shutdown` resolves (see [`Relay::serve`]).
///
/// # Errors
/// An I/O error from the listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    Relay::new(config).serve(listener, shutdown).await
}

async fn ws_handler(
    State(hub): State<Arc<hub::Hub>>,
    Path(room): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    if !valid_room_name(&room) {
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "invalid room name: use 1 to {MAX_ROOM_NAME_LEN} ASCII letters, digits, '-', '_' or '.'\n"
            ),
        )
            .into_response();
    }
    let guard = hub.connection_guard();
    let max = hub.config.max_message_size;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| conn::run(socket, hub, room, guard))
}

async fn healthz(State(hub): State<Arc<hub::Hub>>) -> Response {
    let s = hub.stats();
    let body = serde_json::json!({
        "status": "ok",
        "rooms": s.rooms,
        "clients": s.clients,
        "queued_bytes": s.queued_bytes,
        "peak_queued_bytes": s.peak_queued_bytes,
        "messages_in": s.messages_in,
        "slow_consumers": s.slow_consumers,
        "rate_limited": s.rate_limited,
        "invalid_frames": s.invalid_frames,
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn no_static() -> (StatusCode, &'static str) {
    (
        StatusCode::NOT_FOUND,
        "framechat relay: no static directory configured (--static dist/)\n",
    )
}
