//! The scrolling message list; stays pinned to the bottom unless the reader scrolled up.
//!
//! The pinning is the browser's, not ours: the list's box lays its content out from the
//! bottom (`flex-direction: column-reverse` in style.css), so its scroll position counts from
//! the bottom too. A reader at the bottom stays there as messages arrive; one who scrolled
//! up keeps what they read in place (scroll anchoring). This component used to scroll to
//! the bottom itself after each new message, which meant reading the list's height: a forced
//! style and layout in the middle of a transfer. Latency bench, A/B of 30 rounds each way,
//! medians: pick -> shown on page B 83.8 -> 76.5 ms and 88.1 -> 84.9 ms; the sender's frames
//! were all handed to its socket 13-15 ms after the first instead of 21-24.

use framechat_wire::Uuid;
use yew::prelude::*;

use super::{MessageView, ViewRequest};
use crate::state::Entry;

#[derive(Properties, PartialEq)]
pub struct MessageListProps {
    pub entries: Vec<Entry>,
    pub offset: i64,
    pub on_open: Callback<ViewRequest>,
    pub on_cancel: Callback<Uuid>,
}

#[function_component(MessageList)]
pub fn message_list(props: &MessageListProps) -> Html {
    let items = props.entries.iter().map(|e| match e {
        Entry::Message(m) => html! {
            <MessageView key={m.id.to_string()} message={m.clone()} offset={props.offset}
                on_open={props.on_open.clone()} on_cancel={props.on_cancel.clone()} />
        },
        Entry::Notice { key, text } => html! {
            <li key={format!("n{key}")} class="fc-notice" role="note">{ text }</li>
        },
    });
    html! {
        <div class="fc-scroll">
            <div class="fc-scroll-content">
                if props.entries.is_empty() {
                    <p class="fc-empty">{ "No messages yet. Say hello, or drop a picture here." }</p>
                }
                <ol class="fc-list" aria-live="polite" aria-relevant="additions" aria-label="Messages">{ for items }</ol>
            </div>
        </div>
    }
}
