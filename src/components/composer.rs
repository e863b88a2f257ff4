//! The composer: text, attachments (pick, paste; drops arrive through the app), previews, send.
//!
//! Send works while attachments are still being prepared (their metadata removed): the message
//! then waits in the box, and goes out by itself once they are ready, unless one of them turns
//! out to need the user (a problem is shown instead). Pasting a photo and pressing Enter at
//! once is the common case; refusing that Enter lost the user's intent.

use std::rc::Rc;

use yew::prelude::*;

use super::PendingCard;
use crate::media::{self, Picked, Prepared};
use crate::platform::dom;
use framechat_wire::MAX_TEXT_LEN;

#[derive(Properties, PartialEq)]
pub struct ComposerProps {
    pub drafts: Vec<Rc<Prepared>>,
    /// Why the message cannot go out (shown; Send is refused while set).
    pub problem: Option<String>,
    /// What is still being prepared (shown; Send then waits for it).
    pub preparing: Option<String>,
    pub max_file_size: u64,
    pub on_send: Callback<String>,
    pub on_files: Callback<Vec<Picked>>,
    pub on_remove: Callback<u32>,
    pub on_allow: Callback<u32>,
}

#[function_component(Composer)]
pub fn composer(props: &ComposerProps) -> Html {
    let text = use_node_ref();
    let picker = use_node_ref();
    let too_long = use_state(|| false);
    // Send was pressed while attachments were being prepared.
    let waiting = use_state(|| false);
    let submit = {
        let text = text.clone();
        let on_send = props.on_send.clone();
        let blocked = props.problem.is_some();
        let preparing = props.preparing.is_some();
        let has_files = !props.drafts.is_empty();
        let too_long = too_long.clone();
        let waiting = waiting.clone();
        // `by_user`: pressed now (Send, Enter), not a message that waited for its attachments,
        // which must not take the focus from wherever the user went meanwhile.
        Callback::from(move |by_user: bool| {
            let value = dom::field_value(&text);
            if blocked || (value.trim().is_empty() && !has_files) {
                return;
            }
            // Keep the text in the box rather than lose it to a refused send.
            let over = value.len() > MAX_TEXT_LEN;
            too_long.set(over);
            if over {
                return;
            }
            if preparing {
                waiting.set(true);
                return;
            }
            waiting.set(false);
            on_send.emit(value.trim_end().to_string());
            dom::set_field_value(&text, "");
            if by_user {
                dom::focus(&text);
            }
        })
    };
    {
        // Preparation over: send what waited, or leave it to the user if it cannot go.
        let submit = submit.clone();
        let waiting = waiting.clone();
        let state = (*waiting, props.preparing.is_some(), props.problem.is_some());
        use_effect_with(state, move |&(is_waiting, preparing, blocked)| {
            if is_waiting && !preparing {
                waiting.set(false);
                if !blocked {
                    submit.emit(false);
                }
            }
        });
    }
    let stop_waiting = {
        let waiting = waiting.clone();
        Callback::from(move |_: MouseEvent| waiting.set(false))
    };
    let onkeydown = {
        let submit = submit.clone();
        Callback::from(move |e: KeyboardEvent| {
            // Enter sends, Shift+Enter is a new line; never while an IME is composing.
            if e.key() == "Enter" && !e.shift_key() && !e.is_composing() {
                e.prevent_default();
                submit.emit(true);
            }
        })
    };
    let onsubmit = {
        let submit = submit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            submit.emit(true);
        })
    };
    // Send is a plain button, not a submit button. Chromium brings style and layout up to date
    // when a form is submitted, before the submit event, `novalidate` or not: a trace of the
    // latency bench showed 4-5 ms of forced layout under the click of Send, on the sending
    // page's main thread while the picked photo was being read. The form's own submit still
    // sends, for whoever submits it.
    let onclick = {
        let submit = submit.clone();
        Callback::from(move |_: MouseEvent| submit.emit(true))
    };
    let onpaste = {
        let on_files = props.on_files.clone();
        Callback::from(move |e: Event| {
            let files = media::files_from_paste(&e);
            if !files.is_empty() {
                e.prevent_default();
                on_files.emit(files);
            }
        })
    };
    let onchange = {
        let on_files = props.on_files.clone();
        Callback::from(move |e: Event| {
            let files = media::files_from_input(&e);
            if !files.is_empty() {
                on_files.emit(files);
            }
        })
    };
    let attach = {
        let picker = picker.clone();
        Callback::from(move |_: MouseEvent| dom::click(&picker))
    };
    // A message that waited is sent right after this render (the effect above): its
    // attachments are not drawn again for that moment, nor their previews loaded.
    let sending_now = *waiting && props.preparing.is_none() && props.problem.is_none();
    let cards = props.drafts.iter().map(|p| {
        html! { <PendingCard key={p.key} item={p.clone()} on_remove={props.on_remove.clone()} on_allow={props.on_allow.clone()} /> }
    });
    let limit = crate::state::human_size(props.max_file_size);
    html! {
        // `novalidate`: nothing here uses the browser's form validation.
        <form class="fc-composer" novalidate=true {onsubmit}>
            if !props.drafts.is_empty() && !sending_now {
                <ul class="fc-pending-list" aria-label="Attachments">{ for cards }</ul>
            }
            if *too_long {
                <p class="fc-problem" role="alert">
                    { format!("The message is too long (at most {} KB of text).", MAX_TEXT_LEN / 1024) }
                </p>
            }
            if let Some(problem) = &props.problem {
                <p class="fc-problem" role="alert">{ problem }</p>
            } else if let Some(preparing) = &props.preparing {
                <p class="fc-preparing" role="status">
                    if *waiting {
                        { "Sends as soon as metadata is removed… " }
                        <button type="button" class="fc-btn fc-btn-small" onclick={stop_waiting}>{ "Don’t send yet" }</button>
                    } else {
                        { preparing }
                    }
                </p>
            }
            <div class="fc-compose-row">
                <button type="button" class="fc-btn fc-btn-icon fc-attach" onclick={attach}
                    aria-label={format!("Attach files (up to {limit} each)")} title={format!("Attach files (up to {limit} each)")}>
                    <svg class="fc-icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                        <path d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5"
                            fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />
                    </svg>
                </button>
                <input ref={picker} type="file" multiple=true class="fc-hidden" {onchange} tabindex="-1" aria-hidden="true" />
                <textarea ref={text} class="fc-input fc-text-input" rows="1" placeholder="Message"
                    aria-label="Message" {onkeydown} {onpaste} />
                <button type="button" class="fc-btn fc-btn-primary fc-send" {onclick} disabled={props.problem.is_some() || *waiting}>{ "Send" }</button>
            </div>
        </form>
    }
}
