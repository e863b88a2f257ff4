//! What the browser keeps of the room, as the connection uses it ([`Store`]): the kept chat
//! shown and the pending messages queued before the link opens ([`restore`]), writes that
//! turn the store off with one notice when they fail ([`keep_going`]), and own messages
//! remembered and no longer pending once delivered ([`after_outbox`], [`sealed_echo`]); own
//! messages kept as they are sent ([`keep_sent`]: in a private room, as the socket worker
//! sealed them, [`on_kept`]); received messages kept once complete ([`keep_received`]: in a
//! private room, as the envelopes they came in); and own messages queued, sent now or kept
//! from before ([`Inner::queue`]).

use std::cell::RefCell;
use std::rc::Rc;

use framechat_wire::{MessageHeader, PlannedFrame, TAG_LEN, Uuid, plan};

use super::{Inner, OutMsg, Outbox, Source, flush, private, received, with};
use crate::error::AppError;
use crate::media::Body;
use crate::platform::storage;
use crate::state::{Action, Media};
use crate::store::{Loaded, Op, Store, finish};
use wasm_bindgen::JsValue;

/// Own messages that left this page whole. Only now is an id remembered as this browser's,
/// for a reload to show the relay's replay of it as own: a message cut off by the reload is
/// not replayed anyway. Not earlier, because a page's first use of localStorage can wait
/// milliseconds for the browser, and while a picture is being sent that wait held up its
/// frames.
fn remember_confirmed(outbox: &mut Outbox<Body>) {
    for id in outbox.take_confirmed() {
        storage::store_own_id(&id.simple().to_string());
    }
}

/// After the outbox moved: own ids to remember, and delivered messages no longer pending.
pub(super) fn after_outbox(rc: &Rc<RefCell<Inner>>, i: &mut Inner) {
    remember_confirmed(&mut i.exchange.outbox);
    let delivered = i.exchange.outbox.take_delivered();
    // Delivered and kept, it is done with; not kept yet, it is kept as not pending.
    for k in i.keeping.iter_mut().filter(|k| delivered.contains(&k.id)) {
        k.seq = None;
    }
    i.keeping.retain(|k| !k.kept || k.seq.is_some());
    if let Some(store) = i.store.as_ref().filter(|_| !delivered.is_empty()) {
        keep_going(rc, store.sent(&delivered, false));
    }
}

/// The relay echoed the frame that ends own sealed message `tag` (a link that seals reports
/// it without handing the frame back): delivered.
pub(super) fn sealed_echo(rc: &Rc<RefCell<Inner>>, tag: &[u8; framechat_wire::TAG_LEN]) {
    let mut i = rc.borrow_mut();
    // A frame of this connection: the `pos` that follows is this message's.
    i.saw_frame = true;
    if let Some(id) = i.sealer.as_ref().and_then(|s| s.id_of(tag)) {
        let mut actions = Vec::new();
        i.exchange.outbox.on_delivered(id, &mut actions);
        i.actions.extend(actions);
        after_outbox(rc, &mut i);
    }
}

/// Messages that the frame from the link just completed (`actions` from `start` on) are kept;
/// own ones were when they were sent. A private room's as the envelopes it came in
/// (`arrived`), not sealed again.
pub(super) fn keep_received(
    rc: &Rc<RefCell<Inner>>,
    i: &Inner,
    start: usize,
    mut arrived: Option<js_sys::Array>,
) {
    let Some(store) = &i.store else {
        return;
    };
    for action in i.actions.get(start..).unwrap_or_default() {
        if let Action::Complete { header, media } = action {
            // Their blob: URLs, which the store reads back as Blobs.
            let blobs = media.iter().flatten().map(|m| JsValue::from(m.url()));
            let blobs: js_sys::Array = blobs.collect();
            // Whole, or not at all: a frame must carry every attachment.
            if blobs.length() as usize == header.files.len() {
                let write = match arrived.take() {
                    Some(envelopes) => store.put_kept(header, &envelopes, None),
                    None => store.put(header, blobs, None),
                };
                keep_going(rc, write);
            }
        }
    }
}

/// Runs a write of the store; should it fail, the store is off for this client, with one
/// notice.
pub(super) fn keep_going(rc: &Rc<RefCell<Inner>>, write: Op) {
    let weak = Rc::downgrade(rc);
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = finish(write).await {
            with(&weak, |i| i.store_failed(&e));
        }
    });
}

/// An own message of a private room that the socket worker seals whole, once, both to send
/// and to keep ([`keep_sent`]): until delivered and kept, or the link is lost.
pub(super) struct Keeping {
    pub(super) id: Uuid,
    pub(super) tag: [u8; TAG_LEN],
    header: MessageHeader,
    bodies: Vec<(Body, u64)>,
    /// Its place in the order the user sent; `None` once delivered.
    seq: Option<u64>,
    /// The store has its envelopes.
    kept: bool,
}

/// Own message `header`, planned as `frames` with attachments `bodies`, kept before it is
/// shown: the write starts now, ahead of the render. In a private room with a socket worker,
/// the worker seals every frame now, once: it sends those envelopes, and the store keeps
/// them ([`on_kept`]). Elsewhere its bytes are the views and file slices the frames are made
/// of (a private room's are sealed with the store key, see `store/idb.js`).
fn keep_sent(
    rc: &Rc<RefCell<Inner>>,
    i: &mut Inner,
    header: &MessageHeader,
    frames: &[PlannedFrame],
    bodies: &[(Body, u64)],
) {
    let Some(store) = i.store.clone() else {
        return;
    };
    i.seq += 1;
    let link = i.link.clone().filter(|l| i.open && l.is_open());
    if let Some(link) = link.filter(|_| i.cfg.private.is_some()) {
        match private::seal_whole(&*link, frames, bodies) {
            Ok(Some(tag)) => {
                i.keeping.push(Keeping {
                    id: header.id,
                    tag,
                    header: header.clone(),
                    bodies: bodies.to_vec(),
                    seq: Some(i.seq),
                    kept: false,
                });
                return;
            }
            Ok(None) => {}
            // The message fails as it is queued: nothing to keep.
            Err(_) => return,
        }
    }
    let seq = Some(i.seq);
    keep(rc, i, &store, header, bodies, seq);
}

/// Keeps own message `header` with attachments `bodies` as they are.
fn keep(
    rc: &Rc<RefCell<Inner>>,
    i: &mut Inner,
    store: &Store,
    header: &MessageHeader,
    bodies: &[(Body, u64)],
    seq: Option<u64>,
) {
    let parts = js_sys::Array::new();
    let slices = bodies
        .iter()
        .try_for_each(|(body, size)| body.push_slices(0, *size, &parts).map(drop));
    match slices {
        Ok(()) => keep_going(rc, store.put(header, parts, seq)),
        Err(e) => i.store_failed(&e),
    }
}

/// The socket worker sealed own message `tag` whole ([`keep_sent`]): the store keeps its
/// envelopes (`None`: nothing to keep).
pub(super) fn on_kept(
    rc: &Rc<RefCell<Inner>>,
    tag: &[u8; TAG_LEN],
    envelopes: Option<web_sys::Blob>,
) {
    let mut i = rc.borrow_mut();
    let (Some(store), Some(envelopes)) = (i.store.clone(), envelopes) else {
        return;
    };
    let Some(k) = i.keeping.iter_mut().find(|k| k.tag == *tag) else {
        return;
    };
    k.kept = true;
    let write = store.put_kept(&k.header, &envelopes, k.seq);
    i.keeping.retain(|k| !k.kept || k.seq.is_some());
    keep_going(rc, write);
}

/// The link is gone, and with it the envelopes its worker held: what it had not given the
/// store yet is kept as it is, and every message goes again sealed as any frame is.
pub(super) fn link_lost(rc: &Rc<RefCell<Inner>>, i: &mut Inner) {
    let keeping = std::mem::take(&mut i.keeping);
    let Some(store) = i.store.clone() else {
        return;
    };
    for k in keeping.iter().filter(|k| !k.kept) {
        keep(rc, i, &store, &k.header, &k.bodies, k.seq);
    }
}

/// Shows what the store kept, read as frames from the relay would be, and queues the
/// pending messages, first and in order, before the link opens.
pub(super) fn restore(rc: &Rc<RefCell<Inner>>, loaded: Result<Loaded, AppError>) {
    match loaded {
        Err(e) => {
            // Did not open, or could not be read: off, with its one notice.
            let mut i = rc.borrow_mut();
            i.store = Some(Store(JsValue::NULL));
            i.store_failed(&e);
        }
        Ok(loaded) => {
            if loaded.skipped > 0 {
                rc.borrow_mut().actions.push(Action::Notice(
                    "some messages kept in this browser could not be read".into(),
                ));
            }
            for frame in &loaded.recent {
                received(rc, frame, Source::Kept);
            }
            for frame in &loaded.pending {
                received(rc, frame, Source::Pending);
            }
        }
    }
    flush(rc);
}

impl Inner {
    /// The store failed: off, with one notice.
    pub(super) fn store_failed(&mut self, e: &AppError) {
        if self.store.take().is_some() {
            self.actions.push(Action::Notice(format!(
                "{e}: this chat is kept in memory only"
            )));
        }
    }

    /// Queues own message `header` with one body per attachment, and shows it; with `keep`
    /// (a message sent now, not one kept from before), the store keeps it first
    /// ([`keep_sent`]).
    pub(super) fn queue(
        &mut self,
        header: MessageHeader,
        bodies: Vec<(Body, u64)>,
        media: Vec<Option<Media>>,
        keep: Option<&Rc<RefCell<Inner>>>,
    ) -> Result<(), AppError> {
        let frames = plan(&header, self.cfg.plan_budget()?)?;
        if let Some(rc) = keep {
            keep_sent(rc, self, &header, &frames, &bodies);
        }
        let from = header.from.clone();
        let msg = OutMsg::new(header.id, from, frames, bodies);
        self.exchange.outbox.push(msg);
        let queued = !self.open;
        self.actions.push(Action::Local {
            header,
            media,
            queued,
        });
        Ok(())
    }
}
