//! Flow control of a relay's publishes in cluster mode (`cluster`).
//!
//! Redis answers a publish as soon as its script ran, long before every
//! relay has read the frame from its Pub/Sub connection; what is published
//! but not yet read waits in Redis's output buffer for that connection,
//! which Redis cuts at 32 MB by default (`client-output-buffer-limit pubsub
//! 32mb 8mb 60`). So a relay keeps at most [`WINDOW`] bytes published but
//! not yet seen back on its own Pub/Sub connection: each published frame
//! carries the relay's tag, and its bytes return to the window when the
//! frame comes back (or after the Redis timeout, or when Pub/Sub
//! reconnects). Senders then go at the pace relays read, and with k relays
//! reading at similar speeds at most about k × [`WINDOW`] waits in Redis.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::MIB;

/// Bytes a relay may have published and not yet read back.
pub const WINDOW: usize = 4 * MIB;

/// A relay's publishing window.
#[derive(Debug)]
pub(crate) struct Flow {
    /// This relay's name in tags (16 hex digits).
    node: String,
    next: AtomicU64,
    window: Arc<Semaphore>,
    /// Published frames not yet read back: id → (when, their bytes of window).
    unechoed: Mutex<BTreeMap<u64, (Instant, OwnedSemaphorePermit)>>,
    /// After this long a frame's bytes return to the window unseen.
    timeout: Duration,
}

/// Room in the window for one frame.
#[derive(Debug)]
pub(crate) struct Reserved {
    pub tag: String,
    id: u64,
    permit: OwnedSemaphorePermit,
}

impl Flow {
    pub fn new(timeout: Duration) -> Self {
        Self {
            node: crate::hub::new_epoch(),
            next: AtomicU64::new(1),
            window: Arc::new(Semaphore::new(WINDOW)),
            unechoed: Mutex::default(),
            timeout,
        }
    }

    fn unechoed(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<u64, (Instant, OwnedSemaphorePermit)>> {
        self.unechoed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for room for `len` bytes (a frame bigger than the window takes
    /// all of it); `None` after twice the timeout.
    pub async fn reserve(&self, len: usize) -> Option<Reserved> {
        let n = u32::try_from(len.clamp(1, WINDOW)).unwrap_or(u32::MAX);
        let started = Instant::now();
        loop {
            self.expire();
            let wait = Duration::from_millis(100);
            let acquire = Arc::clone(&self.window).acquire_many_owned(n);
            match tokio::time::timeout(wait, acquire).await {
                Ok(Ok(permit)) => {
                    let id = self.next.fetch_add(1, Ordering::Relaxed);
                    let tag = format!("{}:{id}", self.node);
                    return Some(Reserved { tag, id, permit });
                }
                Ok(Err(_)) => return None,
                // Past twice the timeout even the oldest frame's bytes came back.
                Err(_) if started.elapsed() >= self.timeout * 2 => return None,
                Err(_) => {}
            }
        }
    }

    /// The frame is about to be published (before the call: its echo may
    /// come back before Redis's answer does): its bytes stay taken until it
    /// is read back. Returns its id for [`Flow::failed`].
    pub fn publishing(&self, r: Reserved) -> u64 {
        self.unechoed().insert(r.id, (Instant::now(), r.permit));
        r.id
    }

    /// Publishing frame `id` failed: its bytes return at once.
    pub fn failed(&self, id: u64) {
        self.unechoed().remove(&id);
    }

    /// A frame was read from Pub/Sub with `tag`: if it is one of ours, its
    /// bytes return to the window.
    pub fn echoed(&self, tag: &str) {
        let Some(id) = tag
            .strip_prefix(self.node.as_str())
            .and_then(|t| t.strip_prefix(':'))
            .and_then(|t| t.parse::<u64>().ok())
        else {
            return;
        };
        self.unechoed().remove(&id);
    }

    /// Frames published long ago and never read back (their room was
    /// unsubscribed meanwhile) give their bytes back.
    fn expire(&self) {
        let mut map = self.unechoed();
        while let Some(entry) = map.first_entry() {
            if entry.get().0.elapsed() < self.timeout {
                break;
            }
            drop(entry.remove());
        }
    }

    /// Pub/Sub reconnected: whatever was not read back never will be.
    pub fn reset(&self) {
        self.unechoed().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_return_when_read_back_or_after_the_timeout() {
        let flow = Flow::new(Duration::from_millis(300));
        let a = flow.reserve(WINDOW - 10).await.expect("room");
        let tag = a.tag.clone();
        flow.publishing(a);
        // Full: a frame of 20 bytes waits.
        assert!(
            tokio::time::timeout(Duration::from_millis(50), flow.reserve(20))
                .await
                .is_err()
        );
        flow.echoed("someone-else:1");
        flow.echoed(&tag);
        let b = flow.reserve(WINDOW).await.expect("room again");
        let id = flow.publishing(b);
        assert!(flow.unechoed().contains_key(&id));
        // Never read back: given back after the timeout.
        let started = Instant::now();
        let c = flow.reserve(1).await.expect("room after the timeout");
        assert!(started.elapsed() >= Duration::from_millis(250));
        drop(c);
        flow.reset();
    }
}
