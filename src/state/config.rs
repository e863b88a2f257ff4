//! [`Config`]: how the client finds its server and who it is.

/// How the client finds its server and who it is; built by `embed` from the page or options.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Full WebSocket URL of the room.
    pub ws_url: String,
    pub room: String,
    /// Display name, if already known (option, `?name=` or localStorage).
    pub name: Option<String>,
    /// Upper bound of one whole frame, bytes.
    pub frame_budget: usize,
    /// Upper bound of one attachment, bytes.
    pub max_file_size: u64,
    /// Own the socket in a dedicated worker when the page allows (the default).
    pub socket_worker: bool,
    /// Warm the send and receive paths up once the page is idle after start-up
    /// (`crate::startup`); `warmUp: false` turns it off.
    pub warm_up: bool,
}
