//! The host page's API, and nothing else: `mount()` and its options, the standalone page's
//! URL parameters, and the exported diagnostics. Nothing in the crate imports this module.

use wasm_bindgen::prelude::*;
use yew::AppHandle;

use crate::app::{App, AppProps};
use crate::error::AppError;
use crate::platform::storage::{clean_name, stored_name};
use crate::platform::window;
use crate::state::{Config, DEFAULT_MAX_FILE_SIZE};

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

/// A `ws` option may contain `{room}`, replaced by the (encoded) room name.
fn ws_url(ws: Option<String>, room: &str) -> Result<String, AppError> {
    match ws.filter(|w| !w.is_empty()) {
        Some(w) => Ok(w.replace("{room}", &String::from(js_sys::encode_uri_component(room)))),
        None => same_origin_ws(room),
    }
}

/// Configuration from the page URL: `?ws=`, `?room=`, `?name=`, `?budget=`, `?maxFileSize=`,
/// `?worker=0` (the socket on the main thread), `?warmUp=0` (no start-up warm-up).
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
    let socket_worker = params.get("worker").is_none_or(|w| w != "0");
    let warm_up = params.get("warmUp").is_none_or(|w| w != "0");
    Ok(Config {
        ws_url: ws_url(params.get("ws"), &room)?,
        room,
        name,
        frame_budget,
        max_file_size,
        socket_worker,
        warm_up,
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

/// Configuration from `mount` options `{ ws, room, name, frameBudget, maxFileSize, worker, warmUp }`.
pub fn config_from_options(options: &JsValue) -> Result<Config, AppError> {
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
    let socket_worker = get_bool(options, "worker")?.unwrap_or(true);
    let warm_up = get_bool(options, "warmUp")?.unwrap_or(true);
    Ok(Config {
        ws_url: ws_url(get_string(options, "ws")?, &room)?,
        room,
        name,
        frame_budget,
        max_file_size,
        socket_worker,
        warm_up,
    })
}

/// A mounted chat; `unmount()` closes the socket and revokes every object URL.
#[wasm_bindgen]
pub struct Handle {
    app: Option<AppHandle<App>>,
}

#[wasm_bindgen]
impl Handle {
    pub fn unmount(&mut self) {
        if let Some(app) = self.app.take() {
            app.destroy();
        }
    }
}

/// Mount the chat into `element`. Options: `{ ws, room, name, frameBudget, maxFileSize, worker, warmUp }`,
/// all optional.
#[wasm_bindgen]
pub fn mount(element: web_sys::Element, options: JsValue) -> Result<Handle, JsValue> {
    let config = config_from_options(&options)
        .map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))?;
    Ok(Handle {
        app: Some(render(element, config)),
    })
}

fn render(element: web_sys::Element, config: Config) -> AppHandle<App> {
    yew::Renderer::<App>::with_root_and_props(element, AppProps { config }).render()
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
            std::mem::forget(render(root, config));
        }
        Err(e) => root.set_text_content(Some(&format!("framechat: {e}"))),
    }
}
