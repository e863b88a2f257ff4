//! The composer's attachments, and the one way an unscrubbable original is released.

use std::rc::Rc;

use yew::Reducible;

use super::body::Sendable;
use super::prepare::Prepared;

/// The composer's attachments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Drafts {
    pub items: Vec<Rc<Prepared>>,
}

impl Drafts {
    /// Every attachment as the send path takes it, or `None` while any of them may not go
    /// out (still being read, rejected, or an unscrubbable image not released).
    pub fn to_send(&self) -> Option<Vec<Sendable>> {
        self.items.iter().map(|p| p.to_send()).collect()
    }
}

pub enum DraftAction {
    Add(Prepared),
    /// Replace the entry with the same key (ignored if it was removed meanwhile).
    Ready(Prepared),
    Remove(u32),
    /// The user chose "send original anyway" for an unscrubbable image.
    AllowOriginal(u32),
    Clear,
}

impl Reducible for Drafts {
    type Action = DraftAction;

    fn reduce(self: Rc<Self>, action: DraftAction) -> Rc<Self> {
        let mut next = Rc::unwrap_or_clone(self);
        match action {
            DraftAction::Add(p) => next.items.push(Rc::new(p)),
            DraftAction::Ready(p) => {
                if let Some(slot) = next.items.iter_mut().find(|i| i.key == p.key) {
                    *slot = Rc::new(p);
                }
            }
            DraftAction::Remove(key) => next.items.retain(|i| i.key != key),
            DraftAction::AllowOriginal(key) => {
                if let Some(slot) = next.items.iter_mut().find(|i| i.key == key) {
                    Rc::make_mut(slot).release_original();
                }
            }
            DraftAction::Clear => next.items.clear(),
        }
        Rc::new(next)
    }
}
