//! A made-up exchange of pictures drawn once at start-up, off the page, and then dropped.
//!
//! Browsers compile WebAssembly lazily, a function the first time it runs, and
//! [`super::warm_up`] only covers the scrubber, the frames and reassembly. The first
//! picture a page attached, sent or received still compiled everything that draws it: the
//! reducer, the message list, a message, an attachment, a composer card. A trace of the
//! latency bench counted 289 functions compiled on the sending page (10 ms of its main
//! thread) and 114 on the receiving one while the photo was on its way, on two cores
//! shared with the transfer. Drawing the same components once in a detached element, while
//! the page is idle after start-up, compiles them when nobody waits.
//!
//! The rehearsal goes through the same steps as a real exchange: a card for the picture being
//! prepared and then prepared (the scrubber reading a real `File`), an own message being sent
//! and then sent, and a received one arriving and then complete, its image loaded from a
//! blob: URL. It is dropped, and its object URLs revoked, as soon as its last step is drawn.
//! (It used to be dropped 400 ms after it was drawn, by a timer. A page that is not in front
//! runs its timers late: in the latency bench, the receiving page's rehearsal was dropped
//! 84-129 ms after the pick, during the transfer, in 3 of 4 rounds, and the sending page's
//! not before the picture was shown.)

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};

use framechat_wire::{Attachment, MessageHeader, Uuid};
use yew::AppHandle;
use yew::prelude::*;

use super::WARM_UP_JPEG;
use crate::components::{MessageList, PendingCard};
use crate::error::AppError;
use crate::media::{self, JsPart, Picked, Prepared};
use crate::platform::clock::now_ms;
use crate::state::{Action, ChatState};

static DONE: AtomicU32 = AtomicU32::new(0);

/// How many rehearsals have ended (dropped, their object URLs revoked) since start.
pub fn finished() -> u32 {
    DONE.load(Ordering::Relaxed)
}

#[derive(Properties, PartialEq)]
struct RehearsalProps {
    /// The chat as it is drawn, step by step.
    steps: Rc<Vec<Rc<ChatState>>>,
    /// Composer cards: the picture being read, then ready.
    cards: Rc<Vec<Rc<Prepared>>>,
    /// Called once the last step has been drawn.
    on_done: Callback<()>,
}

#[function_component(Rehearsal)]
fn rehearsal(props: &RehearsalProps) -> Html {
    let step = use_state(|| 0usize);
    {
        let step = step.clone();
        let last = props.steps.len().max(props.cards.len()).saturating_sub(1);
        let on_done = props.on_done.clone();
        use_effect_with(*step, move |&at| {
            if at < last {
                step.set(at + 1);
            } else {
                on_done.emit(());
            }
        });
    }
    let at = *step;
    let chat = props.steps.get(at).or(props.steps.last());
    let card = props.cards.get(at).or(props.cards.last());
    html! {
        <div class="framechat">
            if let Some(chat) = chat {
                <MessageList entries={chat.entries.clone()} offset={0}
                    on_open={Callback::noop()} on_cancel={Callback::noop()} />
            }
            if let Some(card) = card {
                <PendingCard item={card.clone()} on_remove={Callback::noop()} on_allow={Callback::noop()} />
            }
        </div>
    }
}

/// Starts the rehearsal: prepares the warm-up picture as if picked, then draws the exchange
/// off the page and drops it once its last step is drawn. Errors only say why it could not start; the
/// chat works the same without it.
pub fn rehearse() -> Result<(), AppError> {
    let bits = js_sys::Array::of1(&js_sys::Uint8Array::from(WARM_UP_JPEG));
    let file = web_sys::File::new_with_u8_array_sequence(&bits, "warm-up.jpg")?;
    let picked = Picked::from(file);
    let reading = Rc::new(media::placeholder(&picked));
    let key = reading.key;
    wasm_bindgen_futures::spawn_local(async move {
        let ready = Rc::new(media::prepare(picked, key, u64::MAX, None).await);
        if let Err(e) = draw(reading, ready) {
            DONE.fetch_add(1, Ordering::Relaxed);
            gloo::console::warn!(format!("framechat: the rehearsal was not drawn: {e}"));
        }
    });
    Ok(())
}

fn draw(reading: Rc<Prepared>, ready: Rc<Prepared>) -> Result<(), AppError> {
    let root = gloo::utils::document().create_element("div")?;
    // Filled as soon as `render` returns; the last step is drawn later, in Yew's scheduler.
    let handle = Rc::new(RefCell::new(None::<AppHandle<Rehearsal>>));
    let on_done = {
        let handle = handle.clone();
        // Not from inside the app's own effect: on the next turn of the microtask queue.
        Callback::from(move |()| {
            let handle = handle.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(app) = handle.borrow_mut().take() {
                    app.destroy();
                    DONE.fetch_add(1, Ordering::Relaxed);
                }
            });
        })
    };
    let props = RehearsalProps {
        steps: Rc::new(exchange(&ready)),
        cards: Rc::new(vec![reading, ready]),
        on_done,
    };
    let app = yew::Renderer::<Rehearsal>::with_root_and_props(root, props).render();
    *handle.borrow_mut() = Some(app);
    Ok(())
}

/// The chat after each step: `ready` sent as an own picture (its header and preview, as
/// `crate::net::Client::send` makes them) and received as someone else's, as the network
/// layer reports them.
fn exchange(ready: &Prepared) -> Vec<Rc<ChatState>> {
    let file = ready.attachment();
    let size = file.size;
    let (own, theirs) = (Uuid::from_u128(1), Uuid::from_u128(2));
    // What the other side sends: the warm-up picture's bytes as they are.
    let arrived = Attachment {
        size: WARM_UP_JPEG.len() as u64,
        ..file.clone()
    };
    let header = |id: Uuid, from: &str, file: &Attachment| MessageHeader {
        id,
        from: from.into(),
        ts: now_ms(),
        text: "warm-up".into(),
        files: vec![file.clone()],
    };
    let steps = [
        vec![Action::Local {
            header: header(own, "me", &file),
            media: vec![ready.media.clone()],
            queued: false,
        }],
        vec![
            Action::SendProgress {
                id: own,
                sent: size / 2,
                total: size,
                all_handed: false,
            },
            Action::Started {
                header: header(theirs, "them", &arrived),
                received: arrived.size / 2,
                total: arrived.size,
            },
        ],
        vec![
            Action::Sent { id: own },
            Action::Complete {
                header: header(theirs, "them", &arrived),
                media: media::received_media(
                    std::slice::from_ref(&arrived),
                    &[JsPart(js_sys::Uint8Array::from(WARM_UP_JPEG))],
                ),
            },
        ],
    ];
    let mut chat = Rc::new(ChatState::new(8, 8));
    let mut drawn = Vec::with_capacity(steps.len());
    for actions in steps {
        chat = Reducible::reduce(chat, Action::Batch(actions));
        drawn.push(chat.clone());
    }
    drawn
}
