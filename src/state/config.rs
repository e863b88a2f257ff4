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
    /// What carries the frames (the host's own connection, when it gives one, is not part of
    /// this pure description: see `embed`).
    pub transport: Transport,
    /// A private room's key (the link's `#k=`, or the `key` option): every frame is
    /// encrypted with it. Its `Debug` does not show it.
    pub key: Option<framechat_wire::RoomKey>,
    /// The standalone page (it may offer a new private room), not a host's mount.
    pub standalone: bool,
    /// Warm the send and receive paths up once the page is idle after start-up
    /// (`crate::startup`); `warmUp: false` turns it off.
    pub warm_up: bool,
    /// What this browser keeps of the room (IndexedDB, `crate::store`); `None`: nothing
    /// (`keep: false`), the chat lives in memory only.
    pub keep: Option<Keep>,
}

/// How much of a room this browser keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keep {
    /// The newest messages kept (`keepMessages`, default 200).
    pub messages: usize,
    /// The bytes of their media kept (`keepBytes`, default 200 MiB); the oldest go first.
    pub bytes: u64,
}

impl Default for Keep {
    fn default() -> Self {
        Self {
            messages: 200,
            bytes: 200 * 1024 * 1024,
        }
    }
}

/// What carries the frames to the room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// A WebSocket to `ws_url`, owned by a dedicated worker when `worker` and the page allow.
    WebSocket { worker: bool },
    /// A Socket.IO server; `ws_url` is its Engine.IO endpoint; frames travel as `event`.
    SocketIo { event: String },
}
