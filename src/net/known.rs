//! [`KnownIds`]: a bounded set of message ids, oldest forgotten first.

use std::collections::{HashSet, VecDeque};

use framechat_wire::Uuid;

/// Ids remembered at most; the relay replays far fewer (50 by default).
pub const KNOWN_IDS: usize = 10_000;

/// Ids never processed twice: own messages and completed incoming ones. Bounded.
#[derive(Debug, Default)]
pub struct KnownIds {
    set: HashSet<Uuid>,
    order: VecDeque<Uuid>,
}

impl KnownIds {
    pub fn insert(&mut self, id: Uuid) {
        if self.set.insert(id) {
            self.order.push_back(id);
            if self.order.len() > KNOWN_IDS {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }

    pub fn contains(&self, id: &Uuid) -> bool {
        self.set.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_are_bounded() {
        let mut k = KnownIds::default();
        for n in 0..(KNOWN_IDS as u128 + 5) {
            k.insert(Uuid::from_u128(n));
        }
        assert_eq!(k.set.len(), KNOWN_IDS);
        assert!(!k.contains(&Uuid::from_u128(0)));
        assert!(k.contains(&Uuid::from_u128(KNOWN_IDS as u128 + 4)));
    }
}
