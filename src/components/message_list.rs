//! The scrolling message list; stays pinned to the bottom unless the reader scrolled up.

use framechat_wire::Uuid;
use yew::prelude::*;

use super::{MessageView, ViewRequest};
use crate::embed;
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
    let list = use_node_ref();
    let stick = use_mut_ref(|| true);
    {
        let list = list.clone();
        let stick = stick.clone();
        // Only a new entry at the end moves the view. Progress and state changes keep every
        // entry's size (images have their box reserved), and reading the list's height after
        // each of them forced a layout in the middle of a transfer (latency bench: ~6 ms on
        // the sending page and ~13 ms on the receiving one per 12 MP photo).
        let tail = (props.entries.len(), props.entries.last().map(Entry::key));
        use_effect_with(tail, move |_| {
            if *stick.borrow() {
                embed::scroll_to_bottom(&list);
            }
        });
    }
    let onscroll = {
        let list = list.clone();
        Callback::from(move |_: Event| *stick.borrow_mut() = embed::near_bottom(&list))
    };
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
        <div class="fc-scroll" ref={list} {onscroll}>
            if props.entries.is_empty() {
                <p class="fc-empty">{ "No messages yet. Say hello, or drop a picture here." }</p>
            }
            <ol class="fc-list" aria-live="polite" aria-relevant="additions" aria-label="Messages">{ for items }</ol>
        </div>
    }
}
