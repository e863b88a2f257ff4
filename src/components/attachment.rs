//! One attachment in a message: an image or a video (size reserved while it arrives, the
//! sender's ThumbHash painted in the reserved box until the picture shows) or a download link.

use gloo::timers::callback::Timeout;
use yew::prelude::*;

use super::ViewRequest;
use crate::media::thumb;
use crate::state::{FileEntry, file_tag, human_size};

#[derive(Properties, PartialEq)]
pub struct AttachmentProps {
    pub file: FileEntry,
    /// (done, total) bytes while sending or receiving.
    pub progress: Option<(u64, u64)>,
    pub failed: bool,
    /// The sender's own picture while it is being sent: shown once it is, or after
    /// [`HOLD_MS`], whichever comes first.
    #[prop_or_default]
    pub hold: bool,
    pub on_open: Callback<ViewRequest>,
}

/// How long the sender's own picture may wait for its upload before it is shown anyway.
/// Decoding a 12 MP photo for display costs ~80 ms of CPU; during the first moments of
/// an upload that CPU is the upload's (latency bench, 2 cores: 7 ms of ~110 from picking to
/// shown on the other page). The user saw the picture in the composer already, and a
/// placeholder of its size holds its place meanwhile.
pub const HOLD_MS: u32 = 250;

fn percent(done: u64, total: u64) -> u64 {
    done.saturating_mul(100).checked_div(total).unwrap_or(100)
}

/// Largest box an inline image gets, CSS pixels.
const BOX_W: u64 = 280;
const BOX_H: u64 = 360;

/// `aspect-ratio` and width from the header's width/height, so the list does not jump.
fn ratio_style(file: &FileEntry) -> Option<String> {
    match (file.width, file.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => {
            let width = BOX_W.min(BOX_H * u64::from(w) / u64::from(h)).max(48);
            Some(format!("aspect-ratio: {w} / {h}; width: {width}px;"))
        }
        _ => None,
    }
}

fn progress_bar(name: &str, done: u64, total: u64) -> Html {
    let pct = percent(done, total);
    html! {
        <div class="fc-progress">
            <progress max={total.to_string()} value={done.to_string()} aria-label={format!("{name}: {pct}%")}></progress>
            <span class="fc-progress-text">{ format!("{pct}% · {} of {}", human_size(done), human_size(total)) }</span>
        </div>
    }
}

#[function_component(AttachmentView)]
pub fn attachment_view(props: &AttachmentProps) -> Html {
    let file = &props.file;
    let reserved = ratio_style(file);
    // The header's ThumbHash, painted into a small canvas that CSS stretches over the box,
    // under the picture until it has loaded. (Painted again when the canvas is made anew:
    // the placeholder and the picture are different elements.)
    let loaded = use_state(|| false);
    let canvas = use_node_ref();
    let thumb = file
        .thumb
        .clone()
        .filter(|_| reserved.is_some() && !*loaded);
    let onload = {
        let loaded = loaded.clone();
        Callback::from(move |_| loaded.set(true))
    };
    // A video whose type the browser claims but whose codec it cannot decode (HEVC without
    // a platform decoder): a download link instead.
    let unplayable = use_state(|| false);
    let onerror = {
        let unplayable = unplayable.clone();
        Callback::from(move |_| unplayable.set(true))
    };
    let progress = props
        .progress
        .map(|(done, total)| progress_bar(&file.name, done, total));
    // Whether HOLD_MS have passed while held.
    let expired = use_state(|| false);
    {
        let expired = expired.clone();
        use_effect_with(props.hold, move |&hold| {
            let timer = hold.then(|| Timeout::new(HOLD_MS, move || expired.set(true)));
            move || drop(timer)
        });
    }
    let held = props.hold && !*expired;
    // Held only where a placeholder of the picture's size can stand in for it.
    let media = file
        .media
        .as_ref()
        .filter(|m| !(m.inline && held && reserved.is_some()));
    {
        let canvas = canvas.clone();
        let shown = media.is_some();
        use_effect_with((thumb.clone(), shown), move |(thumb, _)| {
            if let Some(thumb) = thumb {
                thumb::paint(&canvas, thumb);
            }
        });
    }
    let preview = thumb.map(|_| {
        html! { <canvas ref={canvas} class="fc-preview" aria-hidden="true"></canvas> }
    });
    match media {
        Some(media) if media.inline && media.video && !*unplayable => html! {
            <figure class="fc-image fc-video">
                <div class="fc-thumb" style={reserved}>
                    { preview.unwrap_or_default() }
                    <video src={media.url().to_string()} controls=true preload="metadata" playsinline=true
                        aria-label={file.name.clone()} onloadeddata={onload} {onerror}
                        width={file.width.map(|w| w.to_string())} height={file.height.map(|h| h.to_string())}></video>
                </div>
                { progress.unwrap_or_default() }
            </figure>
        },
        Some(media) if media.inline && !media.video => {
            let onclick = {
                let req = ViewRequest {
                    url: media.url().to_string(),
                    alt: file.name.clone(),
                };
                let on_open = props.on_open.clone();
                Callback::from(move |_| on_open.emit(req.clone()))
            };
            html! {
                <figure class="fc-image">
                    <button type="button" class="fc-thumb" style={reserved} {onclick}
                        aria-label={format!("Open {} full size", file.name)}>
                        { preview.unwrap_or_default() }
                        <img {onload} src={media.url().to_string()} alt={file.name.clone()} loading="lazy"
                            width={file.width.map(|w| w.to_string())} height={file.height.map(|h| h.to_string())} />
                    </button>
                    { progress.unwrap_or_default() }
                </figure>
            }
        }
        Some(media) => html! {
            <div class="fc-file">
                <a class="fc-file-link" href={media.url().to_string()} download={file.name.clone()}>
                    <span class="fc-tag" aria-hidden="true">{ file_tag(&file.name) }</span>
                    <span class="fc-file-name">{ &file.name }</span>
                    <span class="fc-file-size">{ human_size(file.size) }</span>
                </a>
                { progress.unwrap_or_default() }
            </div>
        },
        None if reserved.is_some() && !file.evicted => html! {
            // An image on its way (or that failed, or the sender's own, held): hold its place
            // at the final size.
            <figure class="fc-image">
                <div class="fc-thumb fc-placeholder" style={reserved} role="img"
                    aria-label={format!("{} ({})", file.name, if held { "sending" } else { "arriving" })}>
                    { preview.unwrap_or_default() }
                    if props.failed { <span class="fc-placeholder-text">{ "not received" }</span> }
                </div>
                { progress.unwrap_or_default() }
            </figure>
        },
        None => {
            let note = if file.evicted {
                Some("no longer available")
            } else if props.failed {
                Some("not received")
            } else {
                None
            };
            html! {
                <div class="fc-file fc-file-pending">
                    <span class="fc-tag" aria-hidden="true">{ file_tag(&file.name) }</span>
                    <span class="fc-file-name">{ &file.name }</span>
                    <span class="fc-file-size">{ human_size(file.size) }</span>
                    if let Some(note) = note { <span class="fc-file-note">{ note }</span> }
                    { progress.unwrap_or_default() }
                </div>
            }
        }
    }
}
