//! The browser underneath: clock and ids, localStorage, DOM helpers for components,
//! image decoding and canvas glue (`image`), and the
//! small pieces of JS interop the layers above share. Every JS error becomes an
//! [`AppError`] here, where it happens.

use wasm_bindgen::{JsCast, JsValue};

use crate::error::AppError;

pub mod clock;
pub mod dom;
pub mod image;
pub mod storage;
pub mod webcrypto;

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

/// The page's window (a worker or a detached realm has none).
pub fn window() -> Result<web_sys::Window, AppError> {
    web_sys::window().ok_or(AppError::NoWindow)
}

/// Sets `key` on a plain JS object.
pub fn set(target: &js_sys::Object, key: &str, value: &JsValue) -> Result<(), AppError> {
    js_sys::Reflect::set(target, &JsValue::from_str(key), value)?;
    Ok(())
}

/// `source[key]`, or `undefined`.
pub fn get(source: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(source, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}
