//! A reduced version of the image-chat load: the `framechat-load` binary (the
//! bench's tool) against an in-process relay with its default limits: many
//! clients, several rooms, image-sized messages.

mod common;

use std::process::Stdio;

use framechat_relay::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_chat_load_with_default_limits_loses_and_reorders_nothing() {
    let config = Config::default();
    let server = common::start(config.clone()).await;
    let (clients, rooms, messages, size) = (60_usize, 6_usize, 600_usize, 200 * 1024_usize);
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_framechat-load"))
        .args(["--url", &format!("ws://{}/ws/chat/", server.addr)])
        .args(["--clients", &clients.to_string()])
        .args(["--rooms", &rooms.to_string()])
        .args(["--messages", &messages.to_string()])
        .args(["--size", &size.to_string()])
        .args(["--timeout", &common::WAIT.as_secs().to_string()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("framechat-load starts");
    let out = tokio::time::timeout(common::WAIT * 2, child.wait_with_output())
        .await
        .expect("framechat-load ends in time")
        .expect("framechat-load output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    // The tool exits with an error on any loss, reorder or duplicate.
    assert!(out.status.success(), "{}", out.status);
    let expected = messages * (clients / rooms);
    assert!(
        stdout.contains(&format!(
            "delivered {expected}/{expected} (0 lost, 0 reordered, 0 duplicated)"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("closed early"), "{stdout}");

    let stats = server.relay.stats();
    assert_eq!(stats.slow_consumers, 0);
    assert_eq!(stats.rate_limited, 0);
    assert_eq!(stats.messages_in, messages as u64);
    // Every client's queue is a suffix of its room's messages, and the
    // messages are shared: the per-client bound times the clients caps the
    // queued bytes.
    assert!(stats.peak_queued_bytes <= clients * config.queue_bytes);
    server.shutdown().await.expect("clean shutdown");
}
