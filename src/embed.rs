//! The host page: configuration from the URL or `mount` options, the exported JS API, and the
//! few DOM calls components need (so they never touch `web_sys` themselves).

use gloo::storage::{LocalStorage, Storage};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use yew::{AppHandle, NodeRef};

use crate::app::{App, AppProps};
use crate::error::AppError;
use crate::state::{Config, DEFAULT_MAX_FILE_SIZE, fit_field};

const NAME_KEY: &str = "framechat.name";
const OWN_IDS_KEY: &str = "framechat.own";
/// Own message ids remembered across reloads; the relay replays far fewer (50 by default).
const OWN_IDS_KEPT: usize = 500;
const STANDALONE_ROOT: &str = "framechat-app";
pub const DEFAULT_ROOM: &str = "lobby";

impl From<JsValue> for AppError {
    fn from(e: JsValue) -> Self {
        let text = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| e.as_string())
            .unwrap_or_else(|| format!("{e:?}"));
        AppError::Js(text)
    }
}

fn window() -> Result<web_sys::Window, AppError> {
    web_sys::window().ok_or_else(|| AppError::Js("no window".into()))
}

/// Same origin `/ws/chat/<room>/`, `wss:` on an https page.
pub fn same_origin_ws(room: &str) -> Result<String, AppError> {
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

fn clean_name(name: Option<String>) -> Option<String> {
    name.map(|n| fit_field(&n, framechat_wire::MAX_FROM_LEN, ""))
        .filter(|n| !n.is_empty())
}

pub fn stored_name() -> Option<String> {
    clean_name(LocalStorage::get::<String>(NAME_KEY).ok())
}

pub fn store_name(name: &str) {
    // Private mode or a full quota: the name is then asked again next visit, nothing worse.
    let _ = LocalStorage::set(NAME_KEY, name);
}

/// Ids of the messages sent from this browser (32 hex digits each), oldest first.
pub fn stored_own_ids() -> Vec<String> {
    LocalStorage::get::<Vec<String>>(OWN_IDS_KEY).unwrap_or_default()
}

/// Remember an own message id, so that after a reload the relay's history replay of it shows
/// as the user's own message rather than someone else's.
pub fn store_own_id(id: &str) {
    let mut ids = stored_own_ids();
    ids.retain(|x| x != id);
    ids.push(id.to_string());
    let excess = ids.len().saturating_sub(OWN_IDS_KEPT);
    ids.drain(..excess);
    // Private mode or a full quota: a reload then shows them as received, nothing worse.
    let _ = LocalStorage::set(OWN_IDS_KEY, ids);
}

/// Configuration from the page URL: `?ws=`, `?room=`, `?name=`, `?budget=`, `?maxFileSize=`,
/// `?worker=0` (the socket on the main thread).
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
    Ok(Config {
        ws_url: ws_url(params.get("ws"), &room)?,
        room,
        name,
        frame_budget,
        max_file_size,
        socket_worker,
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

/// Configuration from `mount` options `{ ws, room, name, frameBudget, maxFileSize, worker }`.
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
    let socket_worker = match get(options, "worker") {
        None => true,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| AppError::Config("worker must be true or false".into()))?,
    };
    Ok(Config {
        ws_url: ws_url(get_string(options, "ws")?, &room)?,
        room,
        name,
        frame_budget,
        max_file_size,
        socket_worker,
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

/// Mount the chat into `element`. Options: `{ ws, room, name, frameBudget, maxFileSize, worker }`,
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

// ---- DOM helpers for components ----

/// Current value of the `<textarea>`/`<input>` behind `node`.
pub fn field_value(node: &NodeRef) -> String {
    if let Some(t) = node.cast::<web_sys::HtmlTextAreaElement>() {
        t.value()
    } else if let Some(i) = node.cast::<web_sys::HtmlInputElement>() {
        i.value()
    } else {
        String::new()
    }
}

pub fn set_field_value(node: &NodeRef, value: &str) {
    if let Some(t) = node.cast::<web_sys::HtmlTextAreaElement>() {
        t.set_value(value);
    } else if let Some(i) = node.cast::<web_sys::HtmlInputElement>() {
        i.set_value(value);
    }
}

/// Focus the element behind `node`, unless it has the focus already (`focus()` makes the
/// browser bring style and layout up to date first, even then).
pub fn focus(node: &NodeRef) {
    let Some(el) = node.cast::<web_sys::HtmlElement>() else {
        return;
    };
    let active = el.owner_document().and_then(|d| d.active_element());
    if active.as_ref() != Some(el.as_ref()) {
        let _ = el.focus();
    }
}

/// Open the file picker behind `node` (a hidden `<input type=file>`).
pub fn click(node: &NodeRef) {
    if let Some(el) = node.cast::<web_sys::HtmlElement>() {
        el.click();
    }
}

/// The element that has focus now, to give it back later (dialogs).
#[derive(Clone, Debug, PartialEq)]
pub struct SavedFocus(Option<web_sys::HtmlElement>);

pub fn save_focus() -> SavedFocus {
    SavedFocus(
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()),
    )
}

impl SavedFocus {
    pub fn restore(&self) {
        if let Some(el) = &self.0 {
            let _ = el.focus();
        }
    }
}

pub fn show_modal(node: &NodeRef) {
    if let Some(d) = node.cast::<web_sys::HtmlDialogElement>() {
        if !d.open() {
            let _ = d.show_modal();
        }
    }
}

pub fn close_dialog(node: &NodeRef) {
    if let Some(d) = node.cast::<web_sys::HtmlDialogElement>() {
        d.close();
    }
}

/// Local time offset in minutes (east of UTC positive).
pub fn local_offset_minutes() -> i64 {
    -(js_sys::Date::new_0().get_timezone_offset() as i64)
}
