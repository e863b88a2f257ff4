//! The host page's API, and nothing else: `mount()` and its options, the standalone page's
//! URL parameters, and the exported diagnostics. Nothing in the crate imports this module.

use wasm_bindgen::prelude::*;
use yew::AppHandle;

use crate::app::{App, AppProps};
use crate::error::AppError;
use crate::net::host::HostTransport;
use crate::net::socketio::codec;
use crate::platform::storage::{clean_name, stored_name};
use crate::platform::window;
use crate::state::{Config, DEFAULT_MAX_FILE_SIZE, Keep, Transport};
use framechat_wire::RoomKey;

const STANDALONE_ROOT: &str = "framechat-app";
pub const DEFAULT_ROOM: &str = "lobby";

/// Same origin `/ws/chat/<room>/`, `wss:` on an https page.
fn same_origin_ws(room: &str) -> Result<String, AppError> {
    let location = window()?.location();
    let scheme = if location.protocol()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let room = String::from(js_sys::encode_uri_component(room));
    Ok(format!("{scheme}://{}/ws/chat/{room}/", location.host()?))
}

/// The URL the link connects to. For a WebSocket, the `ws` option, where `{room}` is
/// replaced by the (encoded) room name, or the same origin's `/ws/chat/<room>/`; for
/// Socket.IO, the Engine.IO endpoint of the server at `ws` (default: this origin), with the
/// room as the handshake's `room` query parameter.
fn link_url(transport: &Transport, ws: Option<String>, room: &str) -> Result<String, AppError> {
    let ws = ws.filter(|w| !w.is_empty());
    let encoded = String::from(js_sys::encode_uri_component(room));
    match (transport, ws) {
        (Transport::WebSocket { .. }, Some(w)) => Ok(w.replace("{room}", &encoded)),
        (Transport::WebSocket { .. }, None) => same_origin_ws(room),
        (Transport::SocketIo { .. }, Some(base)) => Ok(codec::endpoint(&base, &encoded)),
        (Transport::SocketIo { .. }, None) => {
            Ok(codec::endpoint(&window()?.location().origin()?, &encoded))
        }
    }
}

/// `transport`: `"websocket"` (the default) or `"socketio"`.
fn transport(
    kind: Option<&str>,
    worker: bool,
    event: Option<String>,
) -> Result<Transport, AppError> {
    match kind.unwrap_or("websocket") {
        "websocket" => Ok(Transport::WebSocket { worker }),
        "socketio" => Ok(Transport::SocketIo {
            event: event
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "frame".into()),
        }),
        other => Err(AppError::Config(format!(
            "transport must be \"websocket\", \"socketio\" or an object with send(): not {other:?}"
        ))),
    }
}

/// A room key given as the `key` option or the link's fragment: 43 base64url characters,
/// with or without a leading `k=`. A key that is there but wrong refuses the room: it must
/// never open unencrypted.
fn room_key(text: Option<String>) -> Result<Option<RoomKey>, AppError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let key = text.strip_prefix("k=").unwrap_or(&text);
    RoomKey::from_base64url(key)
        .map(Some)
        .map_err(|e| AppError::Config(format!("the room key is not valid ({e})")))
}

/// The key in the page's fragment (`#k=...&...`): browsers never send it to a server.
fn fragment_key() -> Result<Option<RoomKey>, AppError> {
    let hash = window()?.location().hash()?;
    RoomKey::from_fragment(&hash)
        .map_err(|e| AppError::Config(format!("the room key in the link is not valid ({e})")))
}

/// A private room's frames carry a 46-byte envelope: the budget must leave a chunk room.
fn check_private_budget(key: Option<&RoomKey>, budget: usize) -> Result<(), AppError> {
    match key {
        Some(_) if framechat_wire::inner_budget(budget).is_none() => {
            Err(AppError::Config(format!(
                "a private room needs a frame budget of at least {} bytes",
                framechat_wire::MIN_PRIVATE_FRAME_BUDGET
            )))
        }
        _ => Ok(()),
    }
}

/// The frame budget a transport allows: Socket.IO servers drop messages over their
/// `maxHttpBufferSize`, 1,000,000 bytes by default.
fn fit_budget(transport: &Transport, budget: usize) -> usize {
    match transport {
        Transport::SocketIo { .. } => budget.min(codec::DEFAULT_MAX_PAYLOAD as usize),
        Transport::WebSocket { .. } => budget,
    }
}

/// Configuration from the page URL: `?ws=`, `?room=`, `?name=`, `?budget=`, `?maxFileSize=`,
/// `?worker=0` (the socket on the main thread), `?warmUp=0` (no start-up warm-up),
/// `?transport=socketio` and `?event=` (Socket.IO), `?keep=0`, `?keepMessages=`,
/// `?keepBytes=` (what the browser keeps of the room); a private room's key in the fragment,
/// `#k=`.
pub fn config_from_page() -> Result<Config, AppError> {
    let search = window()?.location().search()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search)?;
    let room = params
        .get("room")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| DEFAULT_ROOM.into());
    let name = clean_name(params.get("name")).or_else(stored_name);
    let frame_budget = params
        .get("budget")
        .and_then(|b| b.parse().ok())
        .unwrap_or(framechat_wire::DEFAULT_FRAME_BUDGET);
    let max_file_size = params
        .get("maxFileSize")
        .and_then(|b| b.parse().ok())
        .unwrap_or(DEFAULT_MAX_FILE_SIZE);
    let worker = params.get("worker").is_none_or(|w| w != "0");
    let warm_up = params.get("warmUp").is_none_or(|w| w != "0");
    let transport = transport(
        params.get("transport").as_deref(),
        worker,
        params.get("event"),
    )?;
    let key = fragment_key()?;
    let frame_budget = fit_budget(&transport, frame_budget);
    check_private_budget(key.as_ref(), frame_budget)?;
    let number = |k| {
        params
            .get(k)
            .and_then(|v| v.parse::<u64>().ok())
            .map(|n| n as f64)
    };
    let keep = keep(
        params.get("keep").is_none_or(|k| k != "0"),
        number("keepMessages"),
        number("keepBytes"),
    );
    Ok(Config {
        ws_url: link_url(&transport, params.get("ws"), &room)?,
        room,
        name,
        frame_budget,
        max_file_size,
        transport,
        key,
        standalone: true,
        warm_up,
        keep,
    })
}

/// What the browser keeps of the room: nothing when `on` is false, else the newest
/// `messages` (default 200) and `bytes` of their media (default 200 MiB).
fn keep(on: bool, messages: Option<f64>, bytes: Option<f64>) -> Option<Keep> {
    let default = Keep::default();
    on.then(|| Keep {
        messages: messages.map_or(default.messages, |n| n as usize),
        bytes: bytes.map_or(default.bytes, |n| n as u64),
    })
}

fn get(options: &JsValue, key: &str) -> Option<JsValue> {
    if !options.is_object() {
        return None;
    }
    js_sys::Reflect::get(options, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn get_string(options: &JsValue, key: &str) -> Result<Option<String>, AppError> {
    match get(options, key) {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| AppError::Config(format!("{key} must be a string"))),
    }
}

fn get_number(options: &JsValue, key: &str) -> Result<Option<f64>, AppError> {
    match get(options, key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n.is_finite() && n >= 1.0 => Ok(Some(n)),
            _ => Err(AppError::Config(format!("{key} must be a positive number"))),
        },
    }
}

fn get_bool(options: &JsValue, key: &str) -> Result<Option<bool>, AppError> {
    match get(options, key) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| AppError::Config(format!("{key} must be true or false"))),
    }
}

/// Configuration from `mount` options `{ ws, room, name, frameBudget, maxFileSize, worker,
/// warmUp, transport, event, key, keep, keepMessages, keepBytes }`, and the host's own connection when `transport` is an object.
pub fn config_from_options(options: &JsValue) -> Result<(Config, Option<HostTransport>), AppError> {
    let room = get_string(options, "room")?
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| DEFAULT_ROOM.into());
    let name = clean_name(get_string(options, "name")?).or_else(stored_name);
    let frame_budget = get_number(options, "frameBudget")?
        .map_or(framechat_wire::DEFAULT_FRAME_BUDGET, |n| n as usize);
    if frame_budget < 1024 {
        return Err(AppError::Config("frameBudget must be at least 1024".into()));
    }
    let max_file_size =
        get_number(options, "maxFileSize")?.map_or(DEFAULT_MAX_FILE_SIZE, |n| n as u64);
    let worker = get_bool(options, "worker")?.unwrap_or(true);
    let warm_up = get_bool(options, "warmUp")?.unwrap_or(true);
    let (kind, host) = match get(options, "transport") {
        Some(t) if t.is_object() => (None, Some(HostTransport::new(t)?)),
        Some(t) => (t.as_string(), None),
        None => (None, None),
    };
    let transport = transport(kind.as_deref(), worker, get_string(options, "event")?)?;
    // A host's own connection needs no URL.
    let ws_url = match host {
        Some(_) => String::new(),
        None => link_url(&transport, get_string(options, "ws")?, &room)?,
    };
    let key = room_key(get_string(options, "key")?)?;
    let frame_budget = fit_budget(&transport, frame_budget);
    check_private_budget(key.as_ref(), frame_budget)?;
    let config = Config {
        ws_url,
        room,
        name,
        frame_budget,
        max_file_size,
        transport,
        key,
        standalone: false,
        warm_up,
        keep: keep(
            get_bool(options, "keep")?.unwrap_or(true),
            get_number(options, "keepMessages")?,
            get_number(options, "keepBytes")?,
        ),
    };
    Ok((config, host))
}

/// A mounted chat; `unmount()` closes the socket and revokes every object URL. With a
/// `transport` object, the host tells the chat what its connection receives and whether it
/// is up: `receive(bytes)`, `online()`, `offline()`.
#[wasm_bindgen]
pub struct Handle {
    app: Option<AppHandle<App>>,
    host: Option<HostTransport>,
}

#[wasm_bindgen]
impl Handle {
    pub fn unmount(&mut self) {
        if let Some(app) = self.app.take() {
            app.destroy();
        }
    }

    /// A binary message the host's connection received (`ArrayBuffer` or `Uint8Array`).
    pub fn receive(&self, data: JsValue) {
        if let Some(host) = &self.host {
            host.receive(&data);
        }
    }

    /// The host's connection is up: frames may go.
    pub fn online(&self) {
        if let Some(host) = &self.host {
            host.set_online(true);
        }
    }

    /// The host's connection is down: messages wait, and go when it is back.
    pub fn offline(&self) {
        if let Some(host) = &self.host {
            host.set_online(false);
        }
    }
}

/// Mount the chat into `element`. Options, all optional: `{ ws, room, name, frameBudget,
/// maxFileSize, worker, warmUp, transport, event, key, keep, keepMessages, keepBytes }`; `transport` is `"websocket"`,
/// `"socketio"`, or the host's own connection, an object with `send(frame)` and optionally
/// `bufferedAmount()`.
#[wasm_bindgen]
pub fn mount(element: web_sys::Element, options: JsValue) -> Result<Handle, JsValue> {
    let (config, host) = config_from_options(&options)
        .map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))?;
    Ok(Handle {
        app: Some(render(element, config, host.clone())),
        host,
    })
}

fn render(
    element: web_sys::Element,
    config: Config,
    host: Option<HostTransport>,
) -> AppHandle<App> {
    yew::Renderer::<App>::with_root_and_props(element, AppProps { config, host }).render()
}

/// Bytes copied JS -> WASM and WASM -> JS so far, and live object URLs (a debug counter).
#[wasm_bindgen(js_name = copyStats)]
pub fn copy_stats() -> JsValue {
    let s = crate::media::copy_stats();
    let o = js_sys::Object::new();
    for (k, v) in [
        ("intoWasm", s.into_wasm),
        ("outOfWasm", s.out_of_wasm),
        ("liveUrls", s.live_urls),
    ] {
        // Setting a plain property on a fresh object cannot fail.
        let _ = js_sys::Reflect::set(&o, &k.into(), &JsValue::from_f64(v as f64));
    }
    o.into()
}

/// The standalone page: render into `#framechat-app` if the page has one.
pub fn start_standalone() {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(STANDALONE_ROOT))
    else {
        return;
    };
    match config_from_page() {
        Ok(config) => {
            // The page lives as long as the app; keep it mounted.
            std::mem::forget(render(root, config, None));
        }
        Err(e) => root.set_text_content(Some(&format!("framechat: {e}"))),
    }
}
