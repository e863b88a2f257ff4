//! `framechat-relay`: command-line flags → [`framechat_relay::Config`], bind, serve until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use framechat_relay::{Config, MIB, RateMode};

/// WebSocket relay for framechat: rooms at /ws/chat/<room>/, the client at /.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory of the built client, served at / (index.html for unknown paths).
    #[arg(long = "static", value_name = "DIR")]
    static_dir: Option<PathBuf>,
    /// Largest message a client may send, in bytes (larger: close 1009).
    #[arg(long, default_value_t = MIB)]
    max_message_size: usize,
    /// Most rooms at once (more: close 1013).
    #[arg(long, default_value_t = Config::default().max_rooms)]
    max_rooms: usize,
    /// Most clients in one room (more: close 1013).
    #[arg(long, default_value_t = Config::default().max_clients_per_room)]
    max_clients_per_room: usize,
    /// Over the rate limit: `throttle` (stop reading until the buckets refill) or `close` (1008).
    #[arg(long, value_enum, default_value_t = RateModeArg::Throttle)]
    rate_mode: RateModeArg,
    /// Sustained messages/s per client, 0 = unlimited.
    #[arg(long, default_value_t = Config::default().rate_messages_per_sec)]
    rate_messages: u32,
    /// Message burst per client above the sustained rate.
    #[arg(long, default_value_t = Config::default().rate_burst_messages)]
    rate_burst_messages: u32,
    /// Sustained bytes/s per client, 0 = unlimited.
    #[arg(long, default_value_t = Config::default().rate_bytes_per_sec)]
    rate_bytes: usize,
    /// Byte burst per client above the sustained rate.
    #[arg(long, default_value_t = Config::default().rate_burst_bytes)]
    rate_burst_bytes: usize,
    /// Most messages queued for one client (full: close 4000, slow consumer).
    #[arg(long, default_value_t = Config::default().queue_messages)]
    queue_messages: usize,
    /// Most bytes queued for one client (full: close 4000, slow consumer).
    #[arg(long, default_value_t = Config::default().queue_bytes)]
    queue_bytes: usize,
    /// Most whole messages of history kept per room (how far back a reconnecting client can recover).
    #[arg(long, default_value_t = Config::default().history_messages)]
    history_messages: usize,
    /// Most bytes of history kept per room (whole messages only).
    #[arg(long, default_value_t = Config::default().history_bytes)]
    history_bytes: usize,
    /// Newest whole messages replayed to a client that joins without a position.
    #[arg(long, default_value_t = Config::default().replay_messages)]
    replay_messages: usize,
    /// Unfinished messages a room tracks at once for its history.
    #[arg(long, default_value_t = Config::default().open_messages)]
    open_messages: usize,
    /// Seconds a room without clients keeps its history (0: dropped with the last client).
    #[arg(long, default_value_t = Config::default().history_idle.as_secs())]
    history_idle: u64,
    /// Most bytes of history across all rooms (idle rooms are dropped first).
    #[arg(long, default_value_t = Config::default().history_total_bytes)]
    history_total_bytes: usize,
    /// Milliseconds to wait for a client's `resume` after the relay's `hello`.
    #[arg(long, default_value_t = 1000)]
    hello_wait_ms: u64,
    /// An origin allowed besides the relay's own, e.g. http://127.0.0.1:8081 (repeatable; `*`: any).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Most WebSocket connections at once (more: HTTP 503).
    #[arg(long, default_value_t = Config::default().max_connections)]
    max_connections: usize,
    /// Most WebSocket connections from one client IP (more: HTTP 429).
    #[arg(long, default_value_t = Config::default().max_connections_per_ip)]
    max_connections_per_ip: usize,

    /// Drop binary messages that are not valid framechat frames.
    #[arg(long)]
    validate: bool,
    /// With --validate: invalid frames before the client is closed with 1007 (0 = never).
    #[arg(long, default_value_t = Config::default().max_invalid_frames)]
    max_invalid_frames: u32,
    /// Seconds between pings to each client; one silent for two intervals is closed with 4001 (0 = no pings).
    #[arg(long, default_value_t = Config::default().ping_interval.as_secs())]
    ping_interval: u64,
    /// Seconds a close handshake may take.
    #[arg(long, default_value_t = Config::default().close_timeout.as_secs())]
    close_timeout: u64,
    /// Most unsent bytes a client's socket holds (TCP_NOTSENT_LOWAT, Linux; 0 = kernel default).
    #[arg(long, default_value_t = Config::default().send_lowat)]
    send_lowat: usize,
    /// Share rooms with other relays through this Redis, e.g. redis://127.0.0.1:6379/
    /// (history lives there; without it rooms live in this process's memory).
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RateModeArg {
    Throttle,
    Close,
}

impl From<Args> for Config {
    fn from(a: Args) -> Self {
        Self {
            static_dir: a.static_dir,
            max_message_size: a.max_message_size,
            max_rooms: a.max_rooms,
            max_clients_per_room: a.max_clients_per_room,
            rate_mode: match a.rate_mode {
                RateModeArg::Throttle => RateMode::Throttle,
                RateModeArg::Close => RateMode::Close,
            },
            rate_messages_per_sec: a.rate_messages,
            rate_burst_messages: a.rate_burst_messages,
            rate_bytes_per_sec: a.rate_bytes,
            rate_burst_bytes: a.rate_burst_bytes,
            queue_messages: a.queue_messages,
            queue_bytes: a.queue_bytes,
            history_messages: a.history_messages,
            history_bytes: a.history_bytes,
            replay_messages: a.replay_messages,
            open_messages: a.open_messages,
            history_idle: Duration::from_secs(a.history_idle),
            history_total_bytes: a.history_total_bytes,
            hello_wait: Duration::from_millis(a.hello_wait_ms),
            allow_origins: a.allow_origins,
            max_connections: a.max_connections,
            max_connections_per_ip: a.max_connections_per_ip,
            validate: a.validate,
            max_invalid_frames: a.max_invalid_frames,
            ping_interval: Duration::from_secs(a.ping_interval),
            close_timeout: Duration::from_secs(a.close_timeout),
            send_lowat: a.send_lowat,
            redis_url: a.redis,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let listen = args.listen;
    if args.redis.is_some() && args.history_idle == 0 {
        anyhow::bail!(
            "--history-idle 0 does not work with --redis: Redis keeps a room for --history-idle seconds after its last message or join"
        );
    }
    let config = Config::from(args);
    if let Some(dir) = &config.static_dir {
        if !dir.join("index.html").is_file() {
            tracing::warn!(dir = %dir.display(), "no index.html in the static directory");
        }
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr().context("no local address")?;
    println!("framechat relay on http://{addr}/ (rooms at ws://{addr}/ws/chat/<room>/)");
    framechat_relay::serve(listener, config, shutdown_signal())
        .await
        .context("relay failed")
}

/// Resolves on Ctrl-C, or on SIGTERM on Unix (what `kill` and service managers send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
