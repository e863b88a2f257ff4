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
