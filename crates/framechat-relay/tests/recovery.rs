//! Whole-message history, positions and recovery over real sockets:
//! `hello`, `pos`, `resume`, `lost` (PROTOCOL.md, "Relay control frames").

// Test helpers fail the test by panicking, as the tests themselves do
// (clippy.toml allows it in #[test] functions, not in their helpers).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{
    WAIT, Ws, connect_plain, connect_url, control, control_json, control_kind, open_config, post,
    recv, recv_any, send, start, v1,
};
use framechat_relay::Config;
use tokio_tungstenite::tungstenite::Message;

fn id(n: u32) -> String {
    format!("{n:032x}")
}

/// A text message, complete in one frame.
fn text(n: u32) -> Message {
    v1(
        &format!(
            r#"{{"kind":"msg","id":"{}","from":"ann","ts":0,"text":"t{n}"}}"#,
            id(n)
        ),
        &[],
    )
}

/// A 10-byte attachment in three frames: `msg` (4 bytes), `chunk` (3), last `chunk` (3).
fn file(n: u32) -> [Message; 3] {
    let i = id(n);
    [
        v1(
            &format!(
                r#"{{"kind":"msg","id":"{i}","from":"bob","ts":0,"files":[{{"name":"a.bin","mime":"application/octet-stream","size":10}}]}}"#
            ),
            &[0, 1, 2, 3],
        ),
        v1(
            &format!(r#"{{"kind":"chunk","id":"{i}","from":"bob","offset":4,"total":10}}"#),
            &[4, 5, 6],
        ),
        v1(
            &format!(
                r#"{{"kind":"chunk","id":"{i}","from":"bob","offset":7,"total":10,"last":true}}"#
            ),
            &[7, 8, 9],
        ),
    ]
}

/// An encrypted envelope with `flags`, message `tag` and some ciphertext.
fn sealed(flags: u8, tag: u8, body: u8) -> Message {
    let mut v = vec![0xFD, flags];
    v.extend_from_slice(&[tag; 16]);
    v.extend_from_slice(&[body; 12 + 16 + 8]);
    Message::binary(v)
}

fn history_config() -> Config {
    Config {
        history_messages: 100,
        replay_messages: 100,
        ..open_config()
    }
}

/// Reads the `hello` of a fresh connection: (epoch, offset).
async fn hello(ws: &mut Ws) -> (String, u64) {
    let msg = recv_any(ws).await;
    let json = control_json(&msg).expect("a control frame first");
    assert_eq!(json["kind"], "hello");
    let epoch = json["epoch"].as_str().expect("epoch").to_owned();
    assert_eq!(epoch.len(), 16);
    assert!(epoch.bytes().all(|b| b.is_ascii_hexdigit()));
    (epoch, json["offset"].as_u64().expect("offset"))
}

fn resume(epoch: &str, offset: u64) -> Message {
    control(&format!(
        r#"{{"kind":"resume","epoch":"{epoch}","offset":{offset}}}"#
    ))
}

/// Reads `n` messages (data and control frames) in order.
async fn take(ws: &mut Ws, n: usize) -> Vec<Message> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(recv_any(ws).await);
    }
    out
}

fn pos(offset: u64) -> Message {
    control(&format!(r#"{{"kind":"pos","offset":{offset}}}"#))
}

#[tokio::test]
async fn hello_comes_first_and_every_finished_message_gets_the_next_position() {
    let server = start(history_config()).await;
    let mut a = connect_plain(&server.url("pos")).await;
    let (epoch, offset) = hello(&mut a).await;
    assert_eq!(offset, 0);
    send(&mut a, control(r#"{"kind":"resume"}"#)).await;
    assert_eq!(post(&mut a, text(1)).await, 1);
    assert_eq!(post(&mut a, Message::text("not a frame")).await, 2);

    // A three-frame message interleaved with a text: `pos` follows each
    // message's last frame only.
    let [m, c1, c2] = file(3);
    for f in [m.clone(), c1.clone(), text(4), c2.clone()] {
        send(&mut a, f).await;
    }
    assert_eq!(
        take(&mut a, 6).await,
        vec![m, c1, text(4), pos(3), c2, pos(4)]
    );
    let mut b = connect_plain(&server.url("pos")).await;
    assert_eq!(hello(&mut b).await, (epoch, 4));
}

#[tokio::test]
async fn resume_replays_exactly_the_missed_whole_messages_then_live_traffic() {
    let server = start(history_config()).await;
    let mut a = connect_url(&server.url("resume")).await;
    let mut b = connect_plain(&server.url("resume")).await;
    let (epoch, _) = hello(&mut b).await;
    send(&mut b, control(r#"{"kind":"resume"}"#)).await;
    for n in 1..=2 {
        post(&mut a, text(n)).await;
        assert_eq!(take(&mut b, 2).await, vec![text(n), pos(u64::from(n))]);
    }
    drop(b);
    // B is away for a text, a three-frame file and another text.
    post(&mut a, text(3)).await;
    let [m, c1, c2] = file(4);
    send(&mut a, m.clone()).await;
    send(&mut a, c1.clone()).await;
    send(&mut a, c2.clone()).await;
    assert_eq!(
        take(&mut a, 4).await,
        vec![m.clone(), c1.clone(), c2.clone(), pos(4)]
    );
    post(&mut a, text(5)).await;

    let mut b = connect_plain(&server.url("resume")).await;
    assert_eq!(hello(&mut b).await, (epoch.clone(), 5));
    send(&mut b, resume(&epoch, 2)).await;
    let expected = vec![text(3), pos(3), m, c1, c2, pos(4), text(5), pos(5)];
    assert_eq!(take(&mut b, expected.len()).await, expected);
    // Then live traffic, with nothing in between.
    post(&mut a, text(6)).await;
    assert_eq!(take(&mut b, 2).await, vec![text(6), pos(6)]);

    // Resuming at the newest position replays nothing.
    let mut c = connect_plain(&server.url("resume")).await;
    hello(&mut c).await;
    send(&mut c, resume(&epoch, 6)).await;
    post(&mut a, text(7)).await;
    assert_eq!(take(&mut c, 2).await, vec![text(7), pos(7)]);
}

#[tokio::test]
async fn resume_past_history_or_from_another_epoch_is_told_lost_and_gets_what_is_kept() {
    let server = start(Config {
        history_messages: 2,
        ..history_config()
    })
    .await;
    let mut a = connect_url(&server.url("lost")).await;
    for n in 1..=5 {
        post(&mut a, text(n)).await;
    }
    let mut b = connect_plain(&server.url("lost")).await;
    let (epoch, _) = hello(&mut b).await;
    send(&mut b, resume(&epoch, 1)).await;
    let lost = recv_any(&mut b).await;
    assert_eq!(
        control_json(&lost).expect("lost"),
        serde_json::json!({"kind":"lost","epoch":epoch,"first":4})
    );
    assert_eq!(
        take(&mut b, 4).await,
        vec![text(4), pos(4), text(5), pos(5)]
    );

    let mut c = connect_plain(&server.url("lost")).await;
    hello(&mut c).await;
    send(&mut c, resume("0123456789abcdef", 5)).await;
    let lost = recv_any(&mut c).await;
    assert_eq!(
        control_json(&lost).expect("lost"),
        serde_json::json!({"kind":"lost","epoch":epoch,"first":4})
    );
    assert_eq!(
        take(&mut c, 4).await,
        vec![text(4), pos(4), text(5), pos(5)]
    );
}

#[tokio::test]
async fn history_evicts_whole_messages_and_a_joiner_gets_messages_in_progress_from_their_start() {
    // Room for 2 messages: a three-frame file and a text, never a chunk without its msg.
    let server = start(Config {
        history_messages: 2,
        ..history_config()
    })
    .await;
    let mut a = connect_url(&server.url("whole")).await;
    post(&mut a, text(1)).await;
    let [m, c1, c2] = file(2);
    for f in [m.clone(), c1.clone(), c2.clone()] {
        send(&mut a, f).await;
    }
    take(&mut a, 4).await;
    post(&mut a, text(3)).await;
    // A fourth message is in progress: its first two frames.
    let [m4, c41, c42] = file(4);
    send(&mut a, m4.clone()).await;
    send(&mut a, c41.clone()).await;
    take(&mut a, 2).await;

    let mut b = connect_url(&server.url("whole")).await;
    let expected = vec![
        m.clone(),
        c1.clone(),
        c2.clone(),
        pos(2),
        text(3),
        pos(3),
        m4.clone(),
        c41.clone(),
    ];
    assert_eq!(take(&mut b, expected.len()).await, expected);
    send(&mut a, c42.clone()).await;
    assert_eq!(take(&mut b, 2).await, vec![c42, pos(4)]);
}

#[tokio::test]
async fn a_message_bigger_than_the_history_has_a_position_but_recovering_it_is_lost() {
    let server = start(Config {
        history_bytes: 1000,
        ..history_config()
    })
    .await;
    let mut a = connect_url(&server.url("big")).await;
    let epoch = {
        let mut p = connect_plain(&server.url("big")).await;
        hello(&mut p).await.0
    };
    post(&mut a, text(1)).await;
    assert_eq!(post(&mut a, Message::binary(vec![7_u8; 5000])).await, 2);
    post(&mut a, text(3)).await;
    let mut b = connect_plain(&server.url("big")).await;
    hello(&mut b).await;
    send(&mut b, resume(&epoch, 1)).await;
    let lost = recv_any(&mut b).await;
    assert_eq!(control_json(&lost).expect("lost")["first"], 3);
    assert_eq!(take(&mut b, 2).await, vec![text(3), pos(3)]);
}

#[tokio::test]
async fn encrypted_messages_are_grouped_by_tag_and_flags() {
    let server = start(Config {
        validate: true,
        max_invalid_frames: 0,
        ..history_config()
    })
    .await;
    let mut a = connect_url(&server.url("sealed")).await;
    let (begin, middle, end, single) = (
        sealed(0x01, 1, 10),
        sealed(0x00, 1, 11),
        sealed(0x02, 1, 12),
        sealed(0x03, 2, 13),
    );
    for f in [begin.clone(), middle.clone(), single.clone(), end.clone()] {
        send(&mut a, f).await;
    }
    assert_eq!(
        take(&mut a, 6).await,
        vec![
            begin.clone(),
            middle.clone(),
            single.clone(),
            pos(1),
            end.clone(),
            pos(2)
        ]
    );
    // Bad flags or a short envelope are invalid under --validate.
    send(&mut a, sealed(0x04, 3, 0)).await;
    send(&mut a, Message::binary(vec![0xFD, 0x03, 0])).await;
    let b_single = sealed(0x03, 4, 14);
    assert_eq!(post(&mut a, b_single.clone()).await, 3);
    assert_eq!(server.relay.stats().invalid_frames, 2);

    let mut b = connect_url(&server.url("sealed")).await;
    let expected = vec![single, pos(1), begin, middle, end, pos(2), b_single, pos(3)];
    assert_eq!(take(&mut b, expected.len()).await, expected);
}

#[tokio::test]
async fn a_resent_message_restarts_and_a_cancel_ends_it() {
    let server = start(history_config()).await;
    let mut a = connect_url(&server.url("resend")).await;
    let [m, c1, c2] = file(1);
    // Sent half, then resent whole (after a reconnect, say).
    for f in [m.clone(), c1.clone(), m.clone(), c1.clone(), c2.clone()] {
        send(&mut a, f).await;
    }
    take(&mut a, 6).await;
    // Another message, cancelled after its first frame.
    let [m2, _, _] = file(2);
    let cancel = v1(
        &format!(r#"{{"kind":"cancel","id":"{}","from":"bob"}}"#, id(2)),
        &[],
    );
    send(&mut a, m2.clone()).await;
    send(&mut a, cancel.clone()).await;
    assert_eq!(
        take(&mut a, 3).await,
        vec![m2.clone(), cancel.clone(), pos(2)]
    );

    let mut b = connect_url(&server.url("resend")).await;
    let expected = vec![m, c1, c2, pos(1), m2, cancel, pos(2)];
    assert_eq!(take(&mut b, expected.len()).await, expected);
}

#[tokio::test]
async fn a_client_without_resume_gets_recent_history_after_the_wait_or_at_its_first_message() {
    let server = start(Config {
        replay_messages: 2,
        hello_wait: Duration::from_millis(300),
        ..history_config()
    })
    .await;
    let mut a = connect_url(&server.url("old")).await;
    for n in 1..=3 {
        post(&mut a, text(n)).await;
    }
    // Says nothing: the replay (the newest 2) starts after hello_wait.
    let mut b = connect_plain(&server.url("old")).await;
    hello(&mut b).await;
    let t0 = std::time::Instant::now();
    assert_eq!(recv(&mut b).await, text(2));
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(take(&mut b, 3).await, vec![pos(2), text(3), pos(3)]);
    // Sends a message first: the replay starts at once, before its message.
    let mut c = connect_plain(&server.url("old")).await;
    hello(&mut c).await;
    send(&mut c, Message::text("hi")).await;
    let expected = vec![
        text(2),
        pos(2),
        text(3),
        pos(3),
        Message::text("hi"),
        pos(4),
    ];
    assert_eq!(take(&mut c, expected.len()).await, expected);
}

#[tokio::test]
async fn control_frames_from_clients_are_never_relayed() {
    let server = start(history_config()).await;
    let mut a = connect_url(&server.url("ctl")).await;
    let mut b = connect_url(&server.url("ctl")).await;
    send(&mut a, control(r#"{"kind":"resume"}"#)).await;
    send(&mut a, control(r#"{"kind":"pos","offset":99}"#)).await;
    send(&mut a, Message::binary(vec![0xFE])).await;
    post(&mut a, text(1)).await;
    assert_eq!(take(&mut b, 2).await, vec![text(1), pos(1)]);
    assert_eq!(server.relay.stats().messages_in, 1);
}

#[tokio::test]
async fn an_empty_room_keeps_its_history_for_the_idle_time_then_drops_it() {
    let server = start(Config {
        history_idle: Duration::from_millis(600),
        ..history_config()
    })
    .await;
    let epoch = {
        let mut a = connect_plain(&server.url("idle")).await;
        let (epoch, _) = hello(&mut a).await;
        send(&mut a, control(r#"{"kind":"resume"}"#)).await;
        post(&mut a, text(1)).await;
        epoch
    };
    // Alone and gone; the next visitor still finds the message.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut b = connect_plain(&server.url("idle")).await;
    assert_eq!(hello(&mut b).await, (epoch.clone(), 1));
    send(&mut b, resume(&epoch, 0)).await;
    assert_eq!(take(&mut b, 2).await, vec![text(1), pos(1)]);
    drop(b);
    // After the idle time the room and its history are gone.
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.relay.stats().rooms > 0 {
        assert!(tokio::time::Instant::now() < deadline, "room not expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.relay.stats().history_bytes, 0);
    let mut c = connect_plain(&server.url("idle")).await;
    let (new_epoch, offset) = hello(&mut c).await;
    assert_ne!(new_epoch, epoch);
    assert_eq!(offset, 0);
    send(&mut c, resume(&epoch, 1)).await;
    let lost = recv_any(&mut c).await;
    assert_eq!(control_kind(&lost).as_deref(), Some("lost"));
}

#[tokio::test]
async fn the_total_history_cap_drops_idle_rooms_first() {
    let server = start(Config {
        history_total_bytes: 3000,
        ..history_config()
    })
    .await;
    let mut idle = connect_url(&server.url("was-here")).await;
    post(&mut idle, Message::binary(vec![1_u8; 1500])).await;
    common::close(idle).await;
    let mut a = connect_url(&server.url("busy")).await;
    post(&mut a, Message::binary(vec![2_u8; 1000])).await;
    // 2500 bytes so far; 1000 more pass the cap: the idle room goes.
    post(&mut a, Message::binary(vec![3_u8; 1000])).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.relay.stats().rooms > 1 {
        assert!(tokio::time::Instant::now() < deadline, "idle room kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.relay.stats().history_bytes, 2000);
    // Past the cap with no idle room left: the oldest messages go.
    post(&mut a, Message::binary(vec![4_u8; 1500])).await;
    assert_eq!(server.relay.stats().history_bytes, 2500);
}

#[tokio::test]
async fn a_new_room_beyond_max_rooms_evicts_the_longest_idle_room() {
    let server = start(Config {
        max_rooms: 2,
        ..history_config()
    })
    .await;
    for room in ["first", "second"] {
        let mut ws = connect_url(&server.url(room)).await;
        post(&mut ws, text(1)).await;
        common::close(ws).await;
    }
    assert_eq!(server.relay.stats().rooms, 2);
    // Both are idle: a third room takes the place of "first".
    let mut third = connect_url(&server.url("third")).await;
    post(&mut third, text(1)).await;
    assert_eq!(server.relay.stats().rooms, 2);
    let mut again = connect_plain(&server.url("second")).await;
    assert_eq!(hello(&mut again).await.1, 1, "second kept its history");
    send(&mut again, control(r#"{"kind":"resume"}"#)).await;
    common::close(again).await;
    // "first" was evicted: it comes back as a new room (taking idle "second"'s place).
    let mut back = connect_plain(&server.url("first")).await;
    assert_eq!(hello(&mut back).await.1, 0);
    assert_eq!(server.relay.stats().rooms, 2);
}

/// An envelope of `len` bytes.
fn sealed_of(flags: u8, tag: u8, len: usize) -> Message {
    let mut v = vec![0xFD, flags];
    v.extend_from_slice(&[tag; 16]);
    v.resize(len.max(46), 0xAB);
    Message::binary(v)
}

#[tokio::test]
async fn a_client_that_joins_after_a_message_outgrew_history_gets_none_of_its_frames() {
    let server = start(Config {
        history_bytes: 1000,
        ..history_config()
    })
    .await;
    let mut a = connect_url(&server.url("outgrown")).await;
    let (begin, middle, end) = (
        sealed_of(0x01, 7, 600),
        sealed_of(0x00, 7, 600),
        sealed_of(0x02, 7, 600),
    );
    send(&mut a, begin.clone()).await;
    send(&mut a, middle.clone()).await;
    assert_eq!(take(&mut a, 2).await, vec![begin, middle]);
    // 1,200 bytes in progress: more than history holds, so its frames are
    // dropped; B joins now and could not get its start.
    let mut b = connect_url(&server.url("outgrown")).await;
    send(&mut a, end.clone()).await;
    assert_eq!(take(&mut a, 2).await, vec![end, pos(1)]);
    post(&mut a, text(2)).await;
    assert_eq!(take(&mut b, 2).await, vec![text(2), pos(2)]);
}
