//! One message bubble: author, text, attachments (image grid), time and delivery status.

use std::rc::Rc;

use framechat_wire::Uuid;
use yew::prelude::*;

use super::{AttachmentView, ViewRequest};
use crate::state::{FileEntry, Message, Status, clock, removed_labels};

#[derive(Properties, PartialEq)]
pub struct MessageProps {
    pub message: Rc<Message>,
    /// Local time offset, minutes.
    pub offset: i64,
    pub on_open: Callback<ViewRequest>,
    pub on_cancel: Callback<Uuid>,
}

fn status_text(status: &Status) -> Option<String> {
    match status {
        Status::Queued => Some("waiting for connection".into()),
        Status::Sending { .. } => Some("sending…".into()),
        Status::Sent => Some("sent".into()),
        Status::Receiving { .. } => Some("receiving…".into()),
        Status::Received => None,
        Status::Failed(reason) => Some(format!("failed: {reason}")),
        Status::Cancelled => Some("cancelled".into()),
    }
}

/// "location, date taken" for what the sender's scrubber removed from the message's images.
fn removed_summary(m: &Message) -> Option<String> {
    let labels = removed_labels(m.files.iter().flat_map(|f| f.removed.iter()));
    (!labels.is_empty()).then(|| format!("removed: {}", labels.join(", ")))
}

/// Images (arrived, or announced with a size) go in the grid; everything else is a file row.
fn shows_as_image(f: &FileEntry) -> bool {
    match &f.media {
        Some(m) => m.inline,
        None => f.width.is_some() && f.height.is_some() && !f.evicted,
    }
}

#[function_component(MessageView)]
pub fn message_view(props: &MessageProps) -> Html {
    let m = &props.message;
    let failed = matches!(m.status, Status::Failed(_) | Status::Cancelled);
    let hold = m.mine && matches!(m.status, Status::Sending { .. } | Status::Queued);
    let view = |(i, f): (usize, &FileEntry)| {
        html! {
            <AttachmentView key={i} file={f.clone()} progress={m.file_progress(i)} {failed} {hold}
                on_open={props.on_open.clone()} />
        }
    };
    let (images, others): (Vec<_>, Vec<_>) = m
        .files
        .iter()
        .enumerate()
        .partition(|(_, f)| shows_as_image(f));
    let grid = classes!("fc-files", (images.len() > 1).then_some("fc-grid"));
    // Offered while the message can still be stopped: not once every frame is with the socket.
    let cancellable = matches!(
        m.status,
        Status::Queued
            | Status::Sending {
                cancellable: true,
                ..
            }
    );
    let cancel = (m.mine && cancellable && !m.files.is_empty()).then(|| {
        let id = m.id;
        let on_cancel = props.on_cancel.clone();
        html! {
            <button type="button" class="fc-btn fc-btn-small" onclick={Callback::from(move |_| on_cancel.emit(id))}>
                { "Cancel" }
            </button>
        }
    });
    let class = classes!(
        "fc-msg",
        if m.mine { "fc-mine" } else { "fc-theirs" },
        failed.then_some("fc-failed"),
        m.in_transfer().then_some("fc-busy"),
    );
    let time = clock(m.ts, props.offset);
    html! {
        <li class={class} aria-busy={m.in_transfer().to_string()}>
            <div class="fc-bubble">
                if !m.mine { <div class="fc-from">{ &m.from }</div> }
                if !images.is_empty() { <div class={grid}>{ for images.into_iter().map(view) }</div> }
                if !others.is_empty() { <div class="fc-files">{ for others.into_iter().map(view) }</div> }
                if !m.text.is_empty() { <div class="fc-text">{ &m.text }</div> }
                <div class="fc-meta">
                    if let Some(r) = removed_summary(m) { <span class="fc-removed" title="metadata removed before sending">{ r }</span> }
                    <time>{ time }</time>
                    if let Some(s) = status_text(&m.status) { <span class="fc-status">{ s }</span> }
                    { cancel.unwrap_or_default() }
                </div>
            </div>
        </li>
    }
}
