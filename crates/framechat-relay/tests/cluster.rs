//! Cluster mode (`--redis`): several relays on one real `redis-server` share
//! rooms, history and positions; Redis going away and coming back.

// Test helpers fail the test by panicking, as the tests themselves do
// (clippy.toml allows it in #[test] functions, not in their helpers).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::redis_server::RedisServer;
use common::{
    Server, WAIT, Ws, connect_plain, control, control_json, control_kind, open_config, post,
    read_until_close, recv_any, send, start, v1,
};
use framechat_relay::{Config, close_code};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;

/// A text message from `from`, complete in one frame.
fn text(from: &str, n: u32) -> Message {
    v1(
        &format!(r#"{{"kind":"msg","id":"{n:032x}","from":"{from}","ts":0,"text":"t{n}"}}"#),
        &[],
    )
}

/// A file of `size` bytes from `from` as a `msg` frame with the first
/// `chunk` bytes, then `chunk`s; byte i of the file is `(i * 7 + n) as u8`.
fn file(from: &str, n: u32, size: usize, chunk: usize) -> Vec<Message> {
    let byte = |i: usize| (i.wrapping_mul(7) as u32).wrapping_add(n) as u8;
    let body = |a: usize, b: usize| (a..b).map(byte).collect::<Vec<u8>>();
    let id = format!("{n:032x}");
    let mut frames = vec![v1(
        &format!(
            r#"{{"kind":"msg","id":"{id}","from":"{from}","ts":0,"files":[{{"name":"f.bin","mime":"application/octet-stream","size":{size}}}]}}"#
        ),
        &body(0, chunk.min(size)),
    )];
    let mut at = chunk.min(size);
    while at < size {
        let end = (at + chunk).min(size);
        let last = if end == size { r#","last":true"# } else { "" };
        frames.push(v1(
            &format!(
                r#"{{"kind":"chunk","id":"{id}","from":"{from}","offset":{at},"total":{size}{last}}}"#
            ),
            &body(at, end),
        ));
        at = end;
    }
    frames
}

fn pos(offset: u64) -> Message {
    control(&format!(r#"{{"kind":"pos","offset":{offset}}}"#))
}

fn resume(epoch: &str, offset: u64) -> Message {
    control(&format!(
        r#"{{"kind":"resume","epoch":"{epoch}","offset":{offset}}}"#
    ))
}

/// A relay of the cluster on `redis`, history on.
async fn node(redis: &RedisServer) -> Server {
    start(config(redis)).await
}

fn config(redis: &RedisServer) -> Config {
    Config {
        redis_url: Some(redis.url()),
        history_messages: 100,
        replay_messages: 100,
        ..open_config()
    }
}

/// The ids of the Pub/Sub connections Redis has now.
fn pubsub_clients(redis: &RedisServer) -> Vec<String> {
    let list: String = redis.query(redis::cmd("CLIENT").arg("LIST").arg("TYPE").arg("pubsub"));
    let mut ids: Vec<String> = list
        .lines()
        .filter_map(|l| {
            l.split(' ')
                .find_map(|f| f.strip_prefix("id="))
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids
}

/// Opens a connection and reads its `hello`: (epoch, offset). A node that
/// cannot reach Redis yet closes with 4002: try again until it can.
async fn open(url: &str) -> (Ws, String, u64) {
    let attempt = async {
        loop {
            let mut ws = connect_plain(url).await;
            let first = recv_any(&mut ws).await;
            if let Some(json) = control_json(&first) {
                assert_eq!(json["kind"], "hello", "{json}");
                let epoch = json["epoch"].as_str().expect("epoch").to_owned();
                return (ws, epoch, json["offset"].as_u64().expect("offset"));
            }
            let Message::Close(Some(frame)) = &first else {
                panic!("expected hello or close, got {first:?}")
            };
            assert_eq!(u16::from(frame.code), close_code::STORE_UNAVAILABLE);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(WAIT, attempt)
        .await
        .expect("the node joins in time")
}

/// Joins fresh (the room's recent history is replayed).
async fn join(url: &str) -> (Ws, String) {
    let (mut ws, epoch, _) = open(url).await;
    send(&mut ws, control(r#"{"kind":"resume"}"#)).await;
    (ws, epoch)
}

/// Reads `n` messages (data and control frames) in order.
async fn take(ws: &mut Ws, n: usize) -> Vec<Message> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(recv_any(ws).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_three_nodes_see_every_message_in_one_order() {
    let redis = RedisServer::start().await;
    let nodes = [node(&redis).await, node(&redis).await, node(&redis).await];
    const EACH: u32 = 30;
    let mut tasks = Vec::new();
    for (k, n) in nodes.iter().enumerate() {
        let (ws, _) = join(&n.url("order")).await;
        let from = format!("n{k}");
        tasks.push(tokio::spawn(async move {
            let (mut tx, mut rx) = ws.split();
            let sending = async {
                for i in 0..EACH {
                    tx.send(text(&from, i)).await.expect("send");
                }
            };
            // Whatever the timing, each client gets all 90 messages, replayed
            // or live, each followed by its position.
            let receiving = async {
                let mut seen = Vec::new();
                while seen.len() < 3 * EACH as usize {
                    let data = common::next_data(&mut rx).await;
                    let p = tokio::time::timeout(WAIT, rx.next())
                        .await
                        .expect("pos in time")
                        .expect("open")
                        .expect("ok");
                    let offset = control_json(&p).expect("pos follows")["offset"]
                        .as_u64()
                        .expect("offset");
                    seen.push((offset, data));
                }
                seen
            };
            let ((), seen) = tokio::join!(sending, receiving);
            seen
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(
            tokio::time::timeout(WAIT, t)
                .await
                .expect("in time")
                .expect("task"),
        );
    }
    let offsets: Vec<u64> = seqs[0].iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (1..=u64::from(3 * EACH)).collect::<Vec<_>>());
    assert_eq!(seqs[0], seqs[1], "node 0 and node 1 disagree on the order");
    assert_eq!(seqs[0], seqs[2], "node 0 and node 2 disagree on the order");
    // Each sender's messages in the order it sent them.
    for k in 0..3 {
        let expected: Vec<Message> = (0..EACH).map(|i| text(&format!("n{k}"), i)).collect();
        let got: Vec<Message> = seqs[0]
            .iter()
            .map(|(_, m)| m.clone())
            .filter(|m| expected.contains(m))
            .collect();
        assert_eq!(got, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_outlives_a_node_restart() {
    let redis = RedisServer::start().await;
    let a = node(&redis).await;
    let (mut ws, epoch) = join(&a.url("kept")).await;
    let mut expected = Vec::new();
    for n in 1..=3 {
        assert_eq!(post(&mut ws, text("ann", n)).await, u64::from(n));
        expected.extend([text("ann", n), pos(u64::from(n))]);
    }
    let f = file("bob", 9, 10_000, 4096);
    for frame in &f {
        send(&mut ws, frame.clone()).await;
    }
    let mut echoed = f.clone();
    echoed.push(pos(4));
    assert_eq!(take(&mut ws, echoed.len()).await, echoed);
    expected.extend(echoed);
    drop(ws);
    a.shutdown().await.expect("node stops");

    let a2 = node(&redis).await;
    let (mut ws, epoch2, offset) = open(&a2.url("kept")).await;
    assert_eq!((epoch2, offset), (epoch, 4));
    send(&mut ws, control(r#"{"kind":"resume"}"#)).await;
    assert_eq!(take(&mut ws, expected.len()).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_back_on_another_node_gets_exactly_what_it_missed() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let (mut x, epoch) = join(&a.url("resume")).await;
    for n in 1..=3 {
        post(&mut x, text("x", n)).await;
    }
    drop(x);

    // While x is away: texts and a three-frame file, sent through node b.
    let (mut y, _) = join(&b.url("resume")).await;
    assert_eq!(take(&mut y, 6).await.len(), 6, "y's replay of 1..=3");
    post(&mut y, text("y", 4)).await;
    let f = file("y", 5, 10, 4);
    for frame in &f {
        send(&mut y, frame.clone()).await;
    }
    assert_eq!(take(&mut y, f.len() + 1).await.last(), Some(&pos(5)));
    post(&mut y, text("y", 6)).await;

    let (mut x, epoch2, offset) = open(&b.url("resume")).await;
    assert_eq!((epoch2.as_str(), offset), (epoch.as_str(), 6));
    send(&mut x, resume(&epoch, 3)).await;
    let mut expected = vec![text("y", 4), pos(4)];
    expected.extend(f);
    expected.extend([pos(5), text("y", 6), pos(6)]);
    assert_eq!(take(&mut x, expected.len()).await, expected);
    // Then live traffic from either node, nothing twice.
    post(&mut y, text("y", 7)).await;
    assert_eq!(take(&mut x, 2).await, vec![text("y", 7), pos(7)]);
    let (mut z, _) = join(&a.url("resume")).await;
    assert_eq!(take(&mut z, 2 * 6 + 3 + 1).await.len(), 16, "z's replay");
    post(&mut z, text("z", 8)).await;
    assert_eq!(take(&mut x, 2).await, vec![text("z", 8), pos(8)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_redis_lost_its_data_is_told_lost() {
    let mut redis = RedisServer::start().await;
    let a = node(&redis).await;
    let (mut x, epoch) = join(&a.url("wiped")).await;
    post(&mut x, text("x", 1)).await;
    post(&mut x, text("x", 2)).await;
    drop(x);
    redis.stop(false).await;
    redis.restart().await;

    let (mut x, epoch2, offset) = open(&a.url("wiped")).await;
    assert_ne!(
        epoch2, epoch,
        "a Redis without the room's data starts a new epoch"
    );
    assert_eq!(offset, 0);
    send(&mut x, resume(&epoch, 2)).await;
    let lost = recv_any(&mut x).await;
    assert_eq!(control_kind(&lost).as_deref(), Some("lost"), "{lost:?}");
    let json = control_json(&lost).expect("json");
    assert_eq!(
        (json["epoch"].as_str(), json["first"].as_u64()),
        (Some(epoch2.as_str()), Some(1))
    );
    assert_eq!(post(&mut x, text("x", 3)).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_run_closes_senders_with_4002_then_works_again() {
    let mut redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let (mut x, _) = join(&a.url("outage")).await;
    let (mut y, _) = join(&b.url("outage")).await;
    post(&mut x, text("x", 1)).await;
    assert_eq!(take(&mut y, 2).await, vec![text("x", 1), pos(1)]);

    redis.stop(true).await;
    // A send while Redis is away is not relayed: its connection ends with 4002.
    send(&mut x, text("x", 2)).await;
    let (code, data) = read_until_close(&mut x).await;
    assert_eq!((code, data), (Some(close_code::STORE_UNAVAILABLE), 0));
    // A client that does not send stays connected meanwhile.
    let quiet = tokio::time::timeout(Duration::from_millis(500), y.next()).await;
    assert!(quiet.is_err(), "y got {quiet:?} while Redis was away");

    redis.restart().await;
    // Redis kept its data: same epoch, and y (which missed nothing) is
    // still connected and gets what x sends once x is back.
    let (mut x, _) = join(&a.url("outage")).await;
    assert_eq!(take(&mut x, 2).await, vec![text("x", 1), pos(1)]);
    assert_eq!(post(&mut x, text("x", 2)).await, 2);
    assert_eq!(take(&mut y, 2).await, vec![text("x", 2), pos(2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_room_whose_redis_lost_its_data_are_closed_with_4002() {
    let mut redis = RedisServer::start().await;
    let b = node(&redis).await;
    let (mut y, _) = join(&b.url("reset")).await;
    post(&mut y, text("y", 1)).await;
    redis.stop(false).await;
    redis.restart().await;
    // Its positions mean nothing now: y is told to reconnect (and then resume).
    let (code, _) = read_until_close(&mut y).await;
    assert_eq!(code, Some(close_code::STORE_UNAVAILABLE));
    let (mut y, _, offset) = open(&b.url("reset")).await;
    assert_eq!(offset, 0);
    send(&mut y, control(r#"{"kind":"resume"}"#)).await;
    assert_eq!(post(&mut y, text("y", 2)).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_megabytes_through_two_nodes_arrive_whole_and_in_order() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let (sender, _) = join(&a.url("big")).await;
    let (mut receiver, _) = join(&b.url("big")).await;
    // The receiver is live (its snapshot is read) once it sees its own marker.
    post(&mut receiver, Message::text("ready")).await;

    let size = 50 * 1024 * 1024;
    let frames = file("ann", 1, size, 256 * 1024);
    assert_eq!(frames.len(), 200);
    let expected = frames.clone();
    let (mut tx, mut rx) = sender.split();
    let started = std::time::Instant::now();
    let send_all = async move {
        for f in frames {
            tx.send(f).await.expect("send");
        }
        tx
    };
    // The sender reads its echo too, so that its own queue drains.
    let echo = async move {
        // "ready" and its pos come first.
        assert_eq!(common::next_data(&mut rx).await, Message::text("ready"));
        for _ in 0..200 {
            common::next_data(&mut rx).await;
        }
        rx
    };
    let receive = async {
        let mut got = 0;
        for (i, want) in expected.iter().enumerate() {
            let frame = common::next_data(&mut receiver).await;
            assert!(frame == *want, "frame {i} differs");
            got += frame.len();
        }
        got
    };
    let (tx, _rx, got) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(send_all, echo, receive)
    })
    .await
    .expect("50 MB through two nodes in time");
    assert!(got > size);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "50 MiB through two nodes in {secs:.2} s ({:.1} MiB/s)",
        50.0 / secs
    );
    drop(tx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_does_not_get_its_node_cut_off_by_redis_pubsub_limits() {
    // redis-server's default `client-output-buffer-limit pubsub 32mb 8mb 60`.
    let redis = RedisServer::start().await;
    let limit: Vec<String> = redis.query(
        redis::cmd("CONFIG")
            .arg("GET")
            .arg("client-output-buffer-limit"),
    );
    assert!(limit[1].contains("pubsub 33554432 8388608 60"), "{limit:?}");
    let a = node(&redis).await;
    let b = start(Config {
        queue_bytes: 8 * 1024 * 1024,
        ..config(&redis)
    })
    .await;
    // On b: a fast reader and one that never reads.
    let (mut fast, _) = join(&b.url("flood")).await;
    let (mut slow, _) = join(&b.url("flood")).await;
    post(&mut fast, Message::text("ready")).await;

    const SENDERS: u32 = 4;
    const EACH: u32 = 40;
    let big = |s: u32, i: u32| common::tagged(s, i, 256 * 1024);
    let mut clients = Vec::new();
    for _ in 0..SENDERS {
        clients.push(join(&a.url("flood")).await.0);
    }
    let before = pubsub_clients(&redis);
    assert_eq!(before.len(), 2, "one Pub/Sub connection per node");
    let mut senders = Vec::new();
    for (s, ws) in (0..SENDERS).zip(clients) {
        senders.push(tokio::spawn(async move {
            let (mut tx, mut rx) = ws.split();
            let drain = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
            for i in 0..EACH {
                tx.send(big(s, i)).await.expect("send");
            }
            (tx, drain)
        }));
    }
    // 160 frames of 256 KiB (40 MiB) within a second or two: more than the
    // 32 MiB hard limit if the node read its Pub/Sub connection no faster
    // than its slowest client.
    let mut next = [0_u32; SENDERS as usize];
    let receive = async {
        let mut n = 0;
        while n < SENDERS * EACH {
            let msg = common::next_data(&mut fast).await;
            if msg == Message::text("ready") {
                continue;
            }
            let (s, i) = common::tag_of(&msg);
            assert_eq!(i, next[s as usize], "sender {s}'s frames in order");
            next[s as usize] += 1;
            n += 1;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), receive)
        .await
        .expect("every frame reaches the fast client");
    for s in senders {
        let _ = tokio::time::timeout(WAIT, s).await.expect("sender in time");
    }
    let (code, _) = read_until_close(&mut slow).await;
    assert_eq!(
        code,
        Some(close_code::SLOW_CONSUMER),
        "the slow client alone is dropped"
    );
    assert_eq!(
        pubsub_clients(&redis),
        before,
        "redis cut a node's Pub/Sub connection"
    );
}

/// An encrypted envelope with `flags`, message `tag` and some ciphertext.
fn sealed(flags: u8, tag: u8) -> Message {
    let mut v = vec![0xFD, flags];
    v.extend_from_slice(&[tag; 16]);
    v.extend_from_slice(&[tag ^ flags; 12 + 16 + 8]);
    Message::binary(v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_history_keeps_whole_messages_under_its_caps() {
    let redis = RedisServer::start().await;
    let a = start(Config {
        history_messages: 3,
        history_bytes: 20_000,
        ..config(&redis)
    })
    .await;
    let (mut x, epoch) = join(&a.url("caps")).await;
    post(&mut x, text("x", 1)).await;
    // A three-frame file and a three-frame encrypted message, interleaved.
    let f = file("x", 2, 10_000, 4096);
    let s = [sealed(0x01, 7), sealed(0x00, 7), sealed(0x02, 7)];
    for m in [&f[0], &s[0], &f[1], &s[1], &f[2], &s[2]] {
        send(&mut x, m.clone()).await;
    }
    let mut echo = vec![f[0].clone(), s[0].clone(), f[1].clone(), s[1].clone()];
    echo.extend([f[2].clone(), pos(2), s[2].clone(), pos(3)]);
    assert_eq!(take(&mut x, echo.len()).await, echo);
    // Too big to keep (30,000 > 20,000 bytes): a position, no replay.
    let big = file("x", 4, 30_000, 4096);
    for m in &big {
        send(&mut x, m.clone()).await;
    }
    assert_eq!(take(&mut x, big.len() + 1).await.last(), Some(&pos(4)));
    post(&mut x, text("x", 5)).await;

    // Kept: 3 messages (3, the hole 4, 5); 1 and 2 were evicted whole.
    let (mut y, _) = join(&a.url("caps")).await;
    let mut kept = s.to_vec();
    kept.extend([pos(3), text("x", 5), pos(5)]);
    assert_eq!(take(&mut y, kept.len()).await, kept);
    // A resume from 1 is told what is lost, then gets the whole messages kept.
    let (mut z, _, _) = open(&a.url("caps")).await;
    send(&mut z, resume(&epoch, 1)).await;
    let lost = recv_any(&mut z).await;
    assert_eq!(control_json(&lost).expect("lost")["first"], 3, "{lost:?}");
    assert_eq!(take(&mut z, kept.len()).await, kept);
    post(&mut x, text("x", 6)).await;
    assert_eq!(take(&mut z, 2).await, vec![text("x", 6), pos(6)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_joins_after_a_message_start_was_dropped_gets_none_of_its_rest() {
    let redis = RedisServer::start().await;
    let (a, b) = (
        start(Config {
            history_bytes: 20_000,
            ..config(&redis)
        })
        .await,
        start(Config {
            history_bytes: 20_000,
            ..config(&redis)
        })
        .await,
    );
    let (mut x, _) = join(&a.url("dropped")).await;
    // 60,000 bytes in 15 frames: past 20,000 its frames so far are dropped.
    let f = file("x", 1, 60_000, 4096);
    for frame in &f[..8] {
        send(&mut x, frame.clone()).await;
    }
    assert_eq!(take(&mut x, 8).await, f[..8].to_vec());
    // y joins (on the other relay) after the drop: it never gets the message's
    // start, so it gets none of the rest either, nor its position.
    let (mut y, _) = join(&b.url("dropped")).await;
    for frame in &f[8..] {
        send(&mut x, frame.clone()).await;
    }
    let mut rest = f[8..].to_vec();
    rest.push(pos(1));
    assert_eq!(take(&mut x, rest.len()).await, rest);
    post(&mut x, text("x", 2)).await;
    assert_eq!(take(&mut y, 2).await, vec![text("x", 2), pos(2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_whose_pubsub_connection_was_cut_misses_nothing_silently() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let (mut x, epoch) = join(&a.url("cut")).await;
    let (mut y, _) = join(&b.url("cut")).await;
    post(&mut x, text("x", 1)).await;
    assert_eq!(take(&mut y, 2).await, vec![text("x", 1), pos(1)]);
    // Redis drops every relay's Pub/Sub connection (as its output buffer limit
    // would) and, for a moment, takes no new connection: x's next frame is
    // published while no relay listens.
    let client = redis::Client::open(redis.url()).expect("url");
    let mut admin = client.get_connection().expect("connect");
    let mut cut = redis::pipe();
    cut.atomic()
        .cmd("CONFIG")
        .arg("SET")
        .arg("maxclients")
        .arg(3)
        .ignore()
        .cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub");
    let (killed,): (u64,) = cut.query(&mut admin).expect("cut");
    assert_eq!(killed, 2);
    send(&mut x, text("x", 2)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxclients")
        .arg(10_000)
        .query(&mut admin)
        .expect("restore");
    // Back, each relay sees that the room moved on without it: its clients
    // are told with 4002, and recover exactly what they missed.
    for (ws, relay) in [(&mut x, &a), (&mut y, &b)] {
        let (code, _) = read_until_close(ws).await;
        assert_eq!(code, Some(close_code::STORE_UNAVAILABLE));
        let (mut again, _, offset) = open(&relay.url("cut")).await;
        assert_eq!(offset, 2);
        send(&mut again, resume(&epoch, 1)).await;
        assert_eq!(take(&mut again, 2).await, vec![text("x", 2), pos(2)]);
    }
}
