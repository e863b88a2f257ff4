//! What the browser keeps of the room, as the connection uses it ([`Store`]): the kept chat
//! shown and the pending messages queued before the link opens ([`restore`]), writes that
//! turn the store off with one notice when they fail ([`keep_going`]), and own messages
//! remembered and no longer pending once delivered ([`after_outbox`], [`sealed_echo`]); and own messages
//! queued, sent now or kept from before ([`Inner::queue`]).

use std::cell::RefCell;
use std::rc::Rc;

use framechat_wire::{MessageHeader, plan};

use super::{Inner, OutMsg, Outbox, Source, flush, received, with};
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

    /// Queues own message `header` with one body per attachment, and shows it.
    pub(super) fn queue(
        &mut self,
        header: MessageHeader,
        bodies: Vec<(Body, u64)>,
        media: Vec<Option<Media>>,
    ) -> Result<(), AppError> {
        let frames = plan(&header, self.cfg.plan_budget()?)?;
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
