//! One attachment in the composer: preview, name, size, what the scrubber removed, remove button.

use std::rc::Rc;

use yew::prelude::*;

use crate::media::{Prep, Prepared};
use crate::state::{file_tag, human_size, removed_labels};

#[derive(Properties, PartialEq)]
pub struct PendingProps {
    pub item: Rc<Prepared>,
    pub on_remove: Callback<u32>,
    pub on_allow: Callback<u32>,
}

/// The sentence under the file name.
fn describe(prep: &Prep) -> (String, &'static str) {
    match prep {
        Prep::Reading => ("removing metadata…".into(), "fc-note"),
        Prep::Clean { removed, .. } if removed.is_empty() => {
            ("no metadata found".into(), "fc-note fc-ok")
        }
        Prep::Clean { removed, .. } => {
            let labels = removed_labels(removed);
            (format!("removed: {}", labels.join(", ")), "fc-note fc-ok")
        }
        Prep::Plain => ("sent as a file".into(), "fc-note"),
        Prep::Unscrubbable {
            reason,
            allowed: false,
        } => (
            format!("metadata could not be removed ({reason})"),
            "fc-note fc-warn",
        ),
        Prep::Unscrubbable { allowed: true, .. } => (
            "original will be sent, metadata included".into(),
            "fc-note fc-warn",
        ),
        Prep::Rejected(reason) => (reason.clone(), "fc-note fc-error"),
    }
}

#[function_component(PendingCard)]
pub fn pending_card(props: &PendingProps) -> Html {
    let p = &props.item;
    let key = p.key;
    let remove = {
        let cb = props.on_remove.clone();
        Callback::from(move |_| cb.emit(key))
    };
    let allow = {
        let cb = props.on_allow.clone();
        Callback::from(move |_| cb.emit(key))
    };
    let (note, note_class) = describe(p.prep());
    let preview = match &p.media {
        Some(m) if m.inline && m.video => html! {
            <video class="fc-pending-thumb" src={m.url().to_string()} preload="metadata" muted=true
                playsinline=true aria-hidden="true"></video>
        },
        Some(m) if m.inline => {
            html! { <img class="fc-pending-thumb" src={m.url().to_string()} alt="" /> }
        }
        _ => {
            html! { <span class="fc-pending-thumb fc-tag" aria-hidden="true">{ file_tag(&p.name) }</span> }
        }
    };
    let ask = matches!(p.prep(), Prep::Unscrubbable { allowed: false, .. });
    html! {
        <li class={classes!("fc-pending", ask.then_some("fc-pending-warn"))}>
            { preview }
            <div class="fc-pending-body">
                <div class="fc-pending-name" title={p.name.clone()}>{ &p.name }</div>
                <div class="fc-pending-size">{ human_size(p.size()) }</div>
                <div class={note_class}>{ note }</div>
                if ask {
                    <button type="button" class="fc-btn fc-btn-small fc-btn-warn" onclick={allow}>
                        { "Send original anyway" }
                    </button>
                }
            </div>
            <button type="button" class="fc-btn fc-btn-icon" onclick={remove} aria-label={format!("Remove {}", p.name)}>
                { "✕" }
            </button>
        </li>
    }
}
