//! A reduced version of the image-chat load (the full one is `framechat-load`):
//! many clients, several rooms, image-sized messages, default limits.

mod common;

use framechat_relay::Config;
use framechat_relay::load::{LoadConfig, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_chat_load_with_default_limits_loses_and_reorders_nothing() {
    let config = Config::default();
    let server = common::start(config.clone()).await;
    let load = LoadConfig {
        url: format!("ws://{}/ws/chat/", server.addr),
        clients: 60,
        rooms: 6,
        messages: 600,
        size: 200 * 1024,
        window: 1,
        timeout: common::WAIT,
    };
    let report = run(&load).await.expect("load runs");
    println!("{report}");

    let per_room = (load.clients / load.rooms) as u64;
    assert_eq!(report.expected, load.messages as u64 * per_room);
    assert_eq!(report.delivered, report.expected);
    assert_eq!(report.lost, 0);
    assert_eq!(report.reordered, 0);
    assert_eq!(report.duplicated, 0);
    assert!(report.closed_early.is_empty(), "{:?}", report.closed_early);

    let stats = server.relay.stats();
    assert_eq!(stats.slow_consumers, 0);
    assert_eq!(stats.rate_limited, 0);
    assert_eq!(stats.messages_in, load.messages as u64);
    // Every client's queue is a suffix of its room's messages, and the
    // messages are shared: the per-client bound times the clients caps the
    // queued bytes, and in practice they stay far below it.
    assert!(stats.peak_queued_bytes <= load.clients * config.queue_bytes);
    println!(
        "relay peak queued: {} bytes ({} messages' worth)",
        stats.peak_queued_bytes,
        stats.peak_queued_bytes / load.size
    );
    // The whole test process (relay and 60 clients) stays small: nothing
    // buffers per client without bound. Linux only.
    if let Some(hwm) = peak_rss_kib() {
        println!("test process VmHWM: {hwm} kB");
        assert!(hwm < 768 * 1024, "VmHWM {hwm} kB");
    }
    server.shutdown().await.expect("clean shutdown");
}

/// Peak resident memory of this process, from /proc/self/status.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
