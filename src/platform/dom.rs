//! The few DOM calls components need, so that they never touch `web_sys` themselves.

use wasm_bindgen::JsCast;
use yew::NodeRef;

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

/// The page's address, fragment included (a private room's invite link).
pub fn page_href() -> Option<String> {
    web_sys::window()?.location().href().ok()
}

/// Puts `text` on the clipboard; resolves when it is there.
pub async fn copy_text(text: &str) -> Result<(), crate::error::AppError> {
    let clipboard = super::window()?.navigator().clipboard();
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text)).await?;
    Ok(())
}

/// The standalone page again, in room `room` with `fragment` (a new private room): a new
/// page load, since the page reads its room and key when it starts.
pub fn open_room(room: &str, fragment: &str) -> Result<(), crate::error::AppError> {
    let location = super::window()?.location();
    let params = web_sys::UrlSearchParams::new_with_str(&location.search()?)?;
    params.set("room", room);
    let search = String::from(params.to_string());
    let url = format!(
        "{}{}?{search}#{fragment}",
        location.origin()?,
        location.pathname()?
    );
    location.assign(&url)?;
    Ok(())
}
