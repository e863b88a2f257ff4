//! Idle connections: opens many WebSockets that send nothing (people with a
//! chat tab open), then reads the relay's memory, to give the memory one
//! idle connection costs the relay.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::Semaphore;

use crate::load::{LoadError, greet};

/// This process's soft open-file limit, from /proc/self/limits (Linux). The
/// tool holds one socket per connection: whoever starts it (the bench) raises
/// the limit first (`ulimit -n`), the product's defaults stay as they are.
pub fn nofile_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Holds `count` idle connections to rooms `idle0-<run> … idle{rooms-1}-<run>` under
/// `url`; calls `measure` once all are open and settled, then closes them.
///
/// # Errors
/// A connection that fails.
pub async fn hold<F: FnOnce()>(
    url: &str,
    count: usize,
    rooms: usize,
    settle: Duration,
    measure: F,
) -> Result<(), LoadError> {
    let gate = Arc::new(Semaphore::new(256));
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let url = format!("{url}idle{}-{}/", i % rooms.max(1), crate::load::run_id());
        let gate = Arc::clone(&gate);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            match tokio_tungstenite::connect_async(&url).await {
                Ok((ws, _)) => greet(ws)
                    .await
                    .map_err(|source| LoadError::Connect { url, source }),
                Err(source) => Err(LoadError::Connect { url, source }),
            }
        }));
    }
    let mut sockets = Vec::with_capacity(count);
    for t in tasks {
        match t.await {
            Ok(Ok(ws)) => sockets.push(ws),
            Ok(Err(err)) => return Err(err),
            Err(_) => return Err(LoadError::Config("connect task panicked")),
        }
    }
    tokio::time::sleep(settle).await;
    measure();
    // Closing 10,000 sockets one by one takes a while; dropping them is enough.
    for ws in &mut sockets {
        let _ = tokio::time::timeout(Duration::from_millis(1), ws.next()).await;
    }
    drop(sockets);
    Ok(())
}
