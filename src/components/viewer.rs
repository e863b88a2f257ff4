//! Full-size image viewer: a modal `<dialog>`; Esc or the close button closes it, focus returns.

use yew::prelude::*;

use super::ViewRequest;
use crate::platform::dom;

#[derive(Properties, PartialEq)]
pub struct ViewerProps {
    pub request: ViewRequest,
    pub on_close: Callback<()>,
}

#[function_component(Viewer)]
pub fn viewer(props: &ViewerProps) -> Html {
    let dialog = use_node_ref();
    let close_btn = use_node_ref();
    // Saved on first render: the thumbnail button that opened us.
    let opener = use_state(dom::save_focus);
    {
        let dialog = dialog.clone();
        let close_btn = close_btn.clone();
        use_effect_with((), move |_| {
            dom::show_modal(&dialog);
            dom::focus(&close_btn);
        });
    }
    // The dialog's own close event (Esc, button, backdrop): tell the app, give focus back.
    let onclose = {
        let on_close = props.on_close.clone();
        let opener = opener.clone();
        Callback::from(move |_: Event| {
            opener.restore();
            on_close.emit(());
        })
    };
    let close = {
        let dialog = dialog.clone();
        Callback::from(move |_: MouseEvent| dom::close_dialog(&dialog))
    };
    html! {
        <dialog ref={dialog} class="fc-viewer" {onclose} aria-label={props.request.alt.clone()}>
            <button ref={close_btn} type="button" class="fc-btn fc-viewer-close" onclick={close.clone()}
                aria-label="Close image">{ "✕" }</button>
            <img src={props.request.url.clone()} alt={props.request.alt.clone()} onclick={close} />
            <p class="fc-viewer-caption">{ &props.request.alt }</p>
        </dialog>
    }
}
