//! What the client keeps in localStorage: the display name and the ids of messages this
//! browser sent. Storage may be unavailable (private mode, a full quota): then nothing is
//! kept, and nothing worse happens.

use gloo::storage::{LocalStorage, Storage};

use crate::state::fit_field;

const NAME_KEY: &str = "framechat.name";
const OWN_IDS_KEY: &str = "framechat.own";
/// Own message ids remembered across reloads; the relay replays far fewer (50 by default).
const OWN_IDS_KEPT: usize = 500;

/// A display name as headers take it: no control characters, at most the header's limit.
pub fn clean_name(name: Option<String>) -> Option<String> {
    name.map(|n| fit_field(&n, framechat_wire::MAX_FROM_LEN, ""))
        .filter(|n| !n.is_empty())
}

pub fn stored_name() -> Option<String> {
    clean_name(LocalStorage::get::<String>(NAME_KEY).ok())
}

pub fn store_name(name: &str) {
    // Private mode or a full quota: the name is then asked again next visit, nothing worse.
    let _ = LocalStorage::set(NAME_KEY, name);
}

/// Ids of the messages sent from this browser (32 hex digits each), oldest first.
pub fn stored_own_ids() -> Vec<String> {
    LocalStorage::get::<Vec<String>>(OWN_IDS_KEY).unwrap_or_default()
}

/// Remember an own message id, so that after a reload the relay's history replay of it shows
/// as the user's own message rather than someone else's.
pub fn store_own_id(id: &str) {
    let mut ids = stored_own_ids();
    ids.retain(|x| x != id);
    ids.push(id.to_string());
    let excess = ids.len().saturating_sub(OWN_IDS_KEPT);
    ids.drain(..excess);
    // Private mode or a full quota: a reload then shows them as received, nothing worse.
    let _ = LocalStorage::set(OWN_IDS_KEY, ids);
}
