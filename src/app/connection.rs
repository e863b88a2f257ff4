//! The app's connection to its room: the link its configuration names, what the browser
//! keeps of the room (`crate::store`, opened at once), and for a private room the frame key,
//! derived (WebCrypto, asynchronously) before anything connects. A private
//! room that cannot get its key here — a page that is not a secure context has no WebCrypto —
//! does not open at all: it never falls back to unencrypted frames.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use yew::prelude::*;

use super::MAX_FILES;
use crate::net::host::HostTransport;
use crate::net::private::PrivateRoom;
use crate::net::{Client, LinkKind, NetConfig};
use crate::platform::webcrypto::{CryptoError, FrameKey};
use crate::startup;
use crate::state::{Action, Config, Conn, Transport};
use crate::store::{Op, Store};

/// What the app knows of its connection.
#[derive(Clone, PartialEq, Default)]
pub struct Connection {
    pub client: Option<Client>,
    /// Why the room does not open here, if it does not.
    pub blocked: Option<String>,
}

fn net_config(cfg: &Config, host: Option<HostTransport>) -> NetConfig {
    let link = match (host, &cfg.transport) {
        (Some(host), _) => LinkKind::Host(host),
        (None, Transport::WebSocket { worker }) => LinkKind::WebSocket { worker: *worker },
        (None, Transport::SocketIo { event }) => LinkKind::SocketIo {
            event: event.clone(),
        },
    };
    NetConfig {
        url: cfg.ws_url.clone(),
        frame_budget: cfg.frame_budget,
        max_message_bytes: cfg.max_file_size.saturating_mul(MAX_FILES as u64),
        link,
        private: None,
    }
}

fn blocked_reason(e: &CryptoError) -> String {
    match e {
        CryptoError::InsecureContext | CryptoError::NoCrypto => {
            "This private room cannot open on this page: it is not a secure context (https, \
             or http on localhost), so the browser offers no encryption. It will not fall \
             back to unencrypted messages."
                .into()
        }
        other => format!("This private room cannot open: {other}"),
    }
}

/// Connects to the room of `config` (again when it changes), reporting through `dispatch`;
/// closes on unmount.
#[hook]
pub fn use_connection(
    config: &Config,
    host: Option<HostTransport>,
    dispatch: Callback<Action>,
) -> Connection {
    let state = use_state(Connection::default);
    {
        let state = state.clone();
        use_effect_with((config.clone(), host), move |(cfg, host)| {
            let live = Rc::new(RefCell::new(None::<Client>));
            let cancelled = Rc::new(Cell::new(false));
            let net = net_config(cfg, host.clone());
            let start = {
                let (live, state, dispatch) = (live.clone(), state.clone(), dispatch.clone());
                let warm_up = cfg.warm_up;
                move |net: NetConfig, store: Option<Op>| {
                    let limits = framechat_wire::Limits {
                        max_message_bytes: net.max_message_bytes,
                        ..framechat_wire::Limits::default()
                    };
                    let client = Client::connect(net, dispatch, store);
                    *live.borrow_mut() = Some(client.clone());
                    state.set(Connection {
                        client: Some(client),
                        blocked: None,
                    });
                    if warm_up {
                        startup::when_idle(limits);
                    }
                }
            };
            // Opening, while a private room's key is derived.
            let store = cfg
                .keep
                .map(|keep| Store::open(&cfg.room, cfg.key.as_ref(), keep));
            match cfg.key.clone() {
                None => start(net, store),
                Some(key) => {
                    let (cancelled, room) = (cancelled.clone(), cfg.room.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        match FrameKey::derive(&key).await {
                            Ok(_) if cancelled.get() => {}
                            Ok(key) => start(
                                NetConfig {
                                    private: Some(PrivateRoom { key, room }),
                                    ..net
                                },
                                store,
                            ),
                            Err(e) => {
                                dispatch.emit(Action::Conn(Conn::Offline));
                                state.set(Connection {
                                    client: None,
                                    blocked: Some(blocked_reason(&e)),
                                });
                            }
                        }
                    });
                }
            }
            move || {
                cancelled.set(true);
                if let Some(client) = live.borrow_mut().take() {
                    client.close();
                }
            }
        });
    }
    (*state).clone()
}
