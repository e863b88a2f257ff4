//! WebSocket relay for framechat rooms: every message a client sends goes, as
//! opaque bytes, to every client of the same room, the sender included, in
//! the order the relay received it.
//!
//! - Routes: `/ws/chat/<room>/` (and without the trailing slash) for rooms;
//!   a room name is 1 to 64 ASCII letters, digits, `-`, `_` or `.`, anything
//!   else is answered with 400. `/healthz` answers 200 with a JSON report
//!   (`{"status":"ok","rooms":…,"clients":…,…}`); `/` serves the static
//!   client (`index.html` for unknown paths) when [`Config::static_dir`] is set.
//! - Text and binary messages are both relayed. With [`Config::validate`],
//!   binary messages must decode as framechat frames and text is dropped.
//!
//! # Limits and close codes
//!
//! | limit (default) | when exceeded |
//! |---|---|
//! | `max_message_size` (1 MiB) | that client is closed with 1009; the others are untouched |
//! | `max_rooms` (256), `max_clients_per_room` (64) | the joining client is closed with 1013 (try again later) |
//! | rate: 50 messages/s (burst 200), 8 MiB/s (burst 32 MiB) | [`RateMode::Throttle`] (default): the relay stops reading from that client until its buckets refill, so TCP backpressure slows it down; [`RateMode::Close`]: closed with 1008 |
//! | outgoing queue: 1024 messages or 64 MiB | the client cannot keep up: removed from its room and closed with 4000 ([`close_code::SLOW_CONSUMER`]); the room never waits for it |
//! | `--validate`, 10 invalid frames | each invalid message is dropped and logged; after 10, closed with 1007 |
//! | `ping_interval` (30 s) | the relay pings every client; one silent for two intervals is closed with 4001 ([`close_code::PING_TIMEOUT`]) |
//! | cluster mode: Redis unavailable, or the room's live stream broke | a client that sends (its message is not relayed) or joins then, or whose room missed frames, is closed with 4002 ([`close_code::STORE_UNAVAILABLE`]); quiet clients stay connected |
//! | shutdown (Ctrl-C, SIGTERM) | every client is closed with 1001 (going away) |
//! | `Origin` not the relay's own (`Host` or `X-Forwarded-Host`) nor in `allow_origins` | HTTP 403 before the upgrade (no `Origin`: a non-browser client, passes) |
//! | `max_connections` (20,000), `max_connections_per_ip` (1,000) | HTTP 503, resp. 429, before the upgrade |
//!
//! # Memory
//!
//! A relayed message is stored once (`Bytes`, reference counted) and shared
//! by every queue and the history that hold it. Each client's queue is a
//! suffix of its room's messages, so the messages a room pins are at most
//! `queue_bytes` (or `history_bytes`, if larger), however many clients it
//! has; on top of that each connection holds the message it is reading.
//! Written messages are not copied (vectored writes from the shared bytes),
//! and an idle connection holds no buffer (`ws`). There are no unbounded
//! per-client queues.
//!
//! # History, positions and recovery
//!
//! A room keeps whole messages (a `msg` with all its chunks, an encrypted
//! message from its begin to its end frame; see `history`): at most
//! `history_messages` and `history_bytes`, evicting whole messages only.
//! Every finished message gets a position (epoch, offset), told to clients
//! in `pos` control frames; a reconnecting client's `resume` replays exactly
//! the messages after its position, or says `lost` (PROTOCOL.md, "Relay
//! control frames"). The snapshot and the subscription are taken under the
//! room's lock, so there is no gap and no duplicate between replay and live
//! traffic. A room with no clients keeps its history for `history_idle`;
//! all rooms together keep at most `history_total_bytes`.
//!
//! # Cluster mode
//!
//! With [`Config::redis_url`], any number of relay processes share rooms
//! through Redis: each room's offset counter, epoch and history (a capped
//! Redis Stream of whole messages) live there, and live frames reach every
//! node through Pub/Sub; one Lua script numbers, records and publishes each
//! frame, so every client of a room, on any node, sees one order, and a
//! client may resume on any node (see `cluster`). `history_total_bytes`
//! does not apply there (use Redis's `maxmemory`).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! framechat_relay::serve(listener, framechat_relay::Config::default(), shutdown).await
//! # }
//! ```

mod cluster;
mod config;
mod conn;
mod control;
mod error;
mod flow;
mod handshake;
mod history;
mod hub;
mod origin;
mod rate;
mod validate;
mod ws;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt as _;
use hyper_util::rt::TokioIo;
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
    /// An I/O error from the listener, or Redis unreachable at start
    /// ([`Config::redis_url`]).
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "relay listening");
        }
        if let Some(url) = &self.hub.config.redis_url {
            let ttl = self.hub.config.history_idle;
            let cluster = cluster::Cluster::connect(url, ttl, Arc::downgrade(&self.hub))
                .await
                .map_err(|e| io::Error::other(e.to_string()))?;
            if let Err(cluster) = self.hub.cluster.set(cluster) {
                cluster.stop();
                return Err(io::Error::other("this relay is already connected to redis"));
            }
        }
        let hub = Arc::clone(&self.hub);
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: closing WebSockets with 1001");
            hub.begin_shutdown();
        };
        // Small chat messages should not wait for Nagle's algorithm (Node's
        // `ws` disables it on every socket too).
        let lowat = self.hub.config.send_lowat;
        let listener = listener.tap_io(move |tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(%err, "cannot set TCP_NODELAY");
            }
            set_send_lowat(tcp, lowat);
        });
        // Expires idle rooms even when nobody joins.
        let upkeep = {
            let hub = Arc::clone(&self.hub);
            let every = (hub.config.history_idle / 4).clamp(
                std::time::Duration::from_millis(10),
                std::time::Duration::from_secs(60),
            );
            tokio::spawn(async move {
                let mut t = tokio::time::interval(every);
                loop {
                    t.tick().await;
                    hub.tick();
                }
            })
        };
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await;
        upkeep.abort();
        if let Some(cluster) = self.hub.cluster() {
            cluster.stop();
        }
        served?;
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
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    mut req: Request,
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
    let headers = req.headers();
    if !origin::allowed(headers, &hub.config.allow_origins) {
        tracing::info!(origin = ?headers.get(header::ORIGIN), "origin refused");
        return (
            StatusCode::FORBIDDEN,
            "origin not allowed (same origin as the relay, or --allow-origin)\n",
        )
            .into_response();
    }
    let accept = match handshake::accept_key(req.method(), headers) {
        Ok(accept) => accept,
        Err(refusal) => return refusal.into_response(),
    };
    let ip = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let guard = match hub.admit(ip) {
        Ok(guard) => guard,
        Err(refused) => {
            tracing::warn!(?ip, ?refused, "connection refused");
            return match refused {
                hub::Refused::Total => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many connections (--max-connections)\n",
                ),
                hub::Refused::PerIp => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many connections from this address (--max-connections-per-ip)\n",
                ),
            }
            .into_response();
        }
    };
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => conn::run(TokioIo::new(upgraded), hub, room, guard).await,
            Err(err) => tracing::debug!(%err, "upgrade failed"),
        }
    });
    handshake::switching(&accept)
}

async fn healthz(State(hub): State<Arc<hub::Hub>>) -> Response {
    let s = hub.stats();
    let body = serde_json::json!({
        "status": "ok",
        "rooms": s.rooms,
        "clients": s.clients,
        "history_bytes": s.history_bytes,
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

/// Caps the bytes `tcp` holds unsent at `lowat` (see [`Config::send_lowat`]).
fn set_send_lowat(tcp: &tokio::net::TcpStream, lowat: usize) {
    if lowat == 0 {
        return;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let lowat = u32::try_from(lowat).unwrap_or(u32::MAX);
        if let Err(err) = socket2::SockRef::from(tcp).set_tcp_notsent_lowat(lowat) {
            tracing::debug!(%err, "cannot set TCP_NOTSENT_LOWAT");
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = tcp;
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use std::io;

    use super::set_send_lowat;

    /// The relay's end of a fresh connection.
    async fn accepted() -> io::Result<tokio::net::TcpStream> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (client, accepted) =
            tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        drop(client?);
        Ok(accepted?.0)
    }

    #[tokio::test]
    async fn a_client_socket_holds_at_most_the_configured_unsent_bytes() -> io::Result<()> {
        let tcp = accepted().await?;
        set_send_lowat(&tcp, 64 * 1024);
        assert_eq!(socket2::SockRef::from(&tcp).tcp_notsent_lowat()?, 64 * 1024);
        Ok(())
    }

    #[tokio::test]
    async fn zero_leaves_the_kernels_default() -> io::Result<()> {
        let tcp = accepted().await?;
        let before = socket2::SockRef::from(&tcp).tcp_notsent_lowat()?;
        set_send_lowat(&tcp, 0);
        assert_eq!(socket2::SockRef::from(&tcp).tcp_notsent_lowat()?, before);
        Ok(())
    }
}
