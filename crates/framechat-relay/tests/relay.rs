//! Relay behaviour over real sockets: fan-out, isolation, order, limits, history, shutdown, HTTP.

mod common;

use std::collections::HashMap;

use common::{
    WAIT, connect_url, http_get, join_all, open_config, read_until_close, recv, send, start,
    tag_of, tagged,
};
use framechat_relay::{Config, RateMode, close_code};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{self, Message};

#[tokio::test]
async fn fan_out_reaches_every_client_including_sender() {
    let server = start(open_config()).await;
    let mut clients = join_all(&server, "lobby", 3).await;
    let msg = Message::binary(vec![1, 2, 3, 4]);
    send(&mut clients[1], msg.clone()).await;
    for c in &mut clients {
        assert_eq!(recv(c).await, msg);
    }
}

#[tokio::test]
async fn text_and_binary_are_both_relayed_in_order() {
    let server = start(open_config()).await;
    let mut clients = join_all(&server, "mixed", 2).await;
    let msgs = [
        Message::text("héllo"),
        Message::binary(vec![0xFC, 0, 0]),
        Message::text(""),
        Message::binary(Vec::new()),
    ];
    for m in &msgs {
        send(&mut clients[0], m.clone()).await;
    }
    for c in &mut clients {
        for m in &msgs {
            assert_eq!(&recv(c).await, m);
        }
    }
}

#[tokio::test]
async fn route_without_trailing_slash_joins_the_same_room() {
    let server = start(open_config()).await;
    let mut a = join_all(&server, "same", 1).await.remove(0);
    let mut b = connect_url(&format!("ws://{}/ws/chat/same", server.addr)).await;
    send(&mut b, Message::text("from b")).await;
    assert_eq!(recv(&mut a).await, Message::text("from b"));
    assert_eq!(recv(&mut b).await, Message::text("from b"));
}

#[tokio::test]
async fn rooms_are_isolated() {
    let server = start(open_config()).await;
    let mut a = join_all(&server, "a", 2).await;
    let mut b = join_all(&server, "b", 2).await;
    send(&mut a[0], Message::text("for a")).await;
    // Once a[1] has it, the relay has queued it for all of room a.
    assert_eq!(recv(&mut a[1]).await, Message::text("for a"));
    send(&mut b[0], Message::text("for b")).await;
    for c in &mut b {
        assert_eq!(
            recv(c).await,
            Message::text("for b"),
            "room b saw room a's message"
        );
    }
    assert_eq!(recv(&mut a[0]).await, Message::text("for a"));
}

#[tokio::test]
async fn many_senders_every_client_sees_one_order_and_each_senders_order() {
    const SENDERS: u32 = 4;
    const EACH: u32 = 300;
    let server = start(open_config()).await;
    let clients = join_all(&server, "order", SENDERS as usize).await;
    let mut readers = Vec::new();
    for (i, ws) in clients.into_iter().enumerate() {
        let (mut sink, mut stream) = ws.split();
        let id = u32::try_from(i).expect("small");
        tokio::spawn(async move {
            for seq in 0..EACH {
                if sink
                    .send(tagged(id, seq, 64 + (seq as usize % 7) * 100))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            sink
        });
        readers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < (SENDERS * EACH) as usize {
                let msg = common::next_data(&mut stream).await;
                got.push(tag_of(&msg));
            }
            got
        }));
    }
    let mut orders = Vec::new();
    for r in readers {
        let got = tokio::time::timeout(WAIT, r)
            .await
            .expect("reader done")
            .expect("reader");
        let mut next: HashMap<u32, u32> = HashMap::new();
        for (sender, seq) in &got {
            let expected = next.entry(*sender).or_insert(0);
            assert_eq!(seq, expected, "sender {sender} out of order");
            *expected += 1;
        }
        assert!(next.values().all(|&n| n == EACH));
        orders.push(got);
    }
    // One room, one order: every client saw the same interleaving.
    assert!(orders.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn oversize_message_closes_that_client_with_1009_only() {
    let max = 64 * 1024;
    let server = start(Config {
        max_message_size: max,
        ..open_config()
    })
    .await;
    let mut c = join_all(&server, "big", 3).await;

    // Exactly the limit passes.
    send(&mut c[0], Message::binary(vec![7; max])).await;
    for ws in &mut c {
        assert_eq!(recv(ws).await, Message::binary(vec![7; max]));
    }

    send(&mut c[0], Message::binary(vec![8; max + 1])).await;
    let (code, data) = read_until_close(&mut c[0]).await;
    assert_eq!(code, Some(close_code::MESSAGE_TOO_BIG));
    assert_eq!(data, 0);

    // The others go on, and never saw the oversize message.
    send(&mut c[1], Message::text("still here")).await;
    assert_eq!(recv(&mut c[1]).await, Message::text("still here"));
    assert_eq!(recv(&mut c[2]).await, Message::text("still here"));
}

#[tokio::test]
async fn far_oversize_message_still_gets_its_1009() {
    // The relay stops reading at the header; the client is still sending
    // megabytes when the close frame goes out.
    let server = start(Config {
        max_message_size: 1024,
        ..open_config()
    })
    .await;
    let mut c = join_all(&server, "huge", 1).await.remove(0);
    // The relay may close before the whole message is written.
    let _ = tokio::time::timeout(WAIT, c.send(Message::binary(vec![0; 3 << 20]))).await;
    assert_eq!(
        read_until_close(&mut c).await.0,
        Some(close_code::MESSAGE_TOO_BIG)
    );
}

#[tokio::test]
async fn oversize_text_is_refused_too() {
    let max = 1024;
    let server = start(Config {
        max_message_size: max,
        ..open_config()
    })
    .await;
    let mut c = join_all(&server, "bigtext", 1).await.remove(0);
    send(&mut c, Message::text("x".repeat(max + 1))).await;
    assert_eq!(
        read_until_close(&mut c).await.0,
        Some(close_code::MESSAGE_TOO_BIG)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_is_disconnected_and_the_room_keeps_going() {
    const MSG: usize = 64 * 1024;
    const COUNT: u32 = 600; // ~38 MiB: more than loopback socket buffers hold
    const WINDOW: usize = 4; // the sender's own messages in flight
    let queue_bytes = 1024 * 1024;
    let server = start(Config {
        queue_messages: 32,
        queue_bytes,
        close_timeout: WAIT,
        ..open_config()
    })
    .await;
    let mut clients = join_all(&server, "slow", 3).await;
    let mut slow = clients.pop().expect("3 clients");

    // The sender keeps at most WINDOW messages ahead of each fast client
    // (like a client uploading pictures one after another and waiting for
    // them to show up): the fast clients keep up, the one that never reads
    // cannot.
    let f1 = clients.pop().expect("second fast client");
    let f0 = clients.pop().expect("first fast client");
    let (mut sink, stream0) = f0.split();
    let (sink1, stream1) = f1.split();
    let credits: Vec<_> = (0..2)
        .map(|_| std::sync::Arc::new(tokio::sync::Semaphore::new(WINDOW)))
        .collect();
    let mut readers = Vec::new();
    for (mut stream, credit) in [stream0, stream1].into_iter().zip(credits.iter().cloned()) {
        readers.push(tokio::spawn(async move {
            for seq in 0..COUNT {
                let msg = common::next_data(&mut stream).await;
                assert_eq!(tag_of(&msg), (0, seq));
                credit.add_permits(1);
            }
        }));
    }
    let sender = tokio::spawn(async move {
        for seq in 0..COUNT {
            for credit in &credits {
                tokio::time::timeout(WAIT, credit.acquire())
                    .await
                    .expect("fast clients keep up")
                    .expect("semaphore open")
                    .forget();
            }
            tokio::time::timeout(WAIT, sink.send(tagged(0, seq, MSG)))
                .await
                .expect("send in time")
                .expect("sender stays connected");
        }
        sink
    });
    for r in readers {
        tokio::time::timeout(WAIT, r)
            .await
            .expect("reader done")
            .expect("fast client got everything in order");
    }
    // Now the slow client reads: some data, then its close frame.
    let (code, data) = read_until_close(&mut slow).await;
    assert_eq!(code, Some(close_code::SLOW_CONSUMER));
    assert!(data < COUNT as usize, "slow client got {data} of {COUNT}");

    let stats = server.relay.stats();
    assert_eq!(stats.slow_consumers, 1);
    assert!(
        stats.peak_queued_bytes <= 3 * queue_bytes,
        "queued {} bytes, bound {}",
        stats.peak_queued_bytes,
        3 * queue_bytes
    );
    let sink0 = tokio::time::timeout(WAIT, sender)
        .await
        .expect("sender done")
        .expect("sender did not panic");
    drop((sink0, sink1));
}

#[tokio::test]
async fn history_replays_last_n_messages_then_live_traffic() {
    let server = start(Config {
        history_messages: 3,
        ..open_config()
    })
    .await;
    let mut a = connect_url(&server.url("hist")).await;
    for seq in 0..5 {
        send(&mut a, tagged(0, seq, 100)).await;
        assert_eq!(tag_of(&recv(&mut a).await), (0, seq));
    }
    let mut b = connect_url(&server.url("hist")).await;
    for seq in 2..5 {
        assert_eq!(tag_of(&recv(&mut b).await), (0, seq), "replay");
    }
    send(&mut a, tagged(0, 5, 100)).await;
    // Right after the replay, with nothing missed and nothing twice.
    assert_eq!(tag_of(&recv(&mut b).await), (0, 5));
    assert_eq!(tag_of(&recv(&mut a).await), (0, 5));
}

#[tokio::test]
async fn history_is_capped_in_bytes() {
    let server = start(Config {
        history_messages: 100,
        history_bytes: 10_000,
        ..open_config()
    })
    .await;
    let mut a = connect_url(&server.url("histbytes")).await;
    for seq in 0..5 {
        send(&mut a, tagged(0, seq, 4000)).await;
        recv(&mut a).await;
    }
    // 10 000 bytes hold the last two 4 000-byte messages.
    let mut b = connect_url(&server.url("histbytes")).await;
    send(&mut b, Message::text("b is here")).await;
    assert_eq!(tag_of(&recv(&mut b).await), (0, 3));
    assert_eq!(tag_of(&recv(&mut b).await), (0, 4));
    assert_eq!(recv(&mut b).await, Message::text("b is here"));
}

#[tokio::test]
async fn with_history_idle_zero_an_empty_room_is_removed_with_its_history() {
    let server = start(Config {
        history_messages: 10,
        history_idle: std::time::Duration::ZERO,
        ..open_config()
    })
    .await;
    let mut a = connect_url(&server.url("gone")).await;
    send(&mut a, Message::text("old")).await;
    assert_eq!(recv(&mut a).await, Message::text("old"));
    tokio::time::timeout(WAIT, a.close(None))
        .await
        .expect("close in time")
        .expect("close");
    // The relay answers our close after leaving the room.
    assert_eq!(read_until_close(&mut a).await.0, None);
    assert_eq!(server.relay.stats().rooms, 0);

    let mut b = connect_url(&server.url("gone")).await;
    send(&mut b, Message::text("new")).await;
    assert_eq!(
        recv(&mut b).await,
        Message::text("new"),
        "no history replayed"
    );
}

#[tokio::test]
async fn rate_limit_in_close_mode_closes_with_1008() {
    let server = start(Config {
        rate_mode: RateMode::Close,
        rate_messages_per_sec: 1,
        rate_burst_messages: 5,
        ..open_config()
    })
    .await;
    let mut c = connect_url(&server.url("rate")).await;
    for seq in 0..20 {
        // The relay may close us part-way: later sends can fail.
        if !matches!(
            tokio::time::timeout(WAIT, c.send(tagged(0, seq, 10))).await,
            Ok(Ok(()))
        ) {
            break;
        }
    }
    let (code, data) = read_until_close(&mut c).await;
    assert_eq!(code, Some(close_code::POLICY_VIOLATION));
    // The burst passes (one more if a second went by).
    assert!((5..=6).contains(&data), "{data} messages relayed");
    assert_eq!(server.relay.stats().rate_limited, 1);
}

#[tokio::test]
async fn byte_rate_limit_in_close_mode_closes_with_1008() {
    let server = start(Config {
        rate_mode: RateMode::Close,
        rate_bytes_per_sec: 1000,
        rate_burst_bytes: 10_000,
        ..open_config()
    })
    .await;
    let mut c = connect_url(&server.url("byterate")).await;
    for seq in 0..3 {
        if !matches!(
            tokio::time::timeout(WAIT, c.send(tagged(0, seq, 4000))).await,
            Ok(Ok(()))
        ) {
            break;
        }
    }
    let (code, data) = read_until_close(&mut c).await;
    assert_eq!(code, Some(close_code::POLICY_VIOLATION));
    assert_eq!(data, 2);
}

#[tokio::test]
async fn rate_limit_in_throttle_mode_slows_the_sender_and_drops_nothing() {
    // 20 messages/s after a burst of 5: 15 messages need at least 0.5 s.
    let server = start(Config {
        rate_mode: RateMode::Throttle,
        rate_messages_per_sec: 20,
        rate_burst_messages: 5,
        ..open_config()
    })
    .await;
    let mut c = join_all(&server, "throttle", 1).await.remove(0);
    let t0 = std::time::Instant::now();
    for seq in 0..15 {
        send(&mut c, tagged(0, seq, 10)).await;
    }
    for seq in 0..15 {
        assert_eq!(tag_of(&recv(&mut c).await), (0, seq));
    }
    let elapsed = t0.elapsed();
    assert!(
        elapsed >= std::time::Duration::from_millis(450),
        "{elapsed:?}"
    );
    assert!(server.relay.stats().rate_limited >= 9);
}

#[tokio::test]
async fn room_full_closes_with_1013() {
    let server = start(Config {
        max_clients_per_room: 2,
        ..open_config()
    })
    .await;
    let mut two = join_all(&server, "full", 2).await;
    let mut third = common::connect_plain(&server.url("full")).await;
    let (code, _) = read_until_close(&mut third).await;
    assert_eq!(code, Some(close_code::TRY_AGAIN_LATER));
    // The two inside are not disturbed, and another room still works.
    send(&mut two[0], Message::text("ok")).await;
    assert_eq!(recv(&mut two[1]).await, Message::text("ok"));
    join_all(&server, "other", 1).await;
}

#[tokio::test]
async fn too_many_rooms_closes_with_1013() {
    let server = start(Config {
        max_rooms: 1,
        ..open_config()
    })
    .await;
    let mut first = join_all(&server, "one", 1).await.remove(0);
    let mut second = common::connect_plain(&server.url("two")).await;
    let (code, _) = read_until_close(&mut second).await;
    assert_eq!(code, Some(close_code::TRY_AGAIN_LATER));
    // Joining the existing room is fine (and the first client sees it).
    join_all(&server, "one", 1).await;
    assert_eq!(recv(&mut first).await, Message::text("joined one 0"));
}

#[tokio::test]
async fn bad_room_names_are_rejected_with_400() {
    let server = start(open_config()).await;
    let long = "x".repeat(framechat_relay::MAX_ROOM_NAME_LEN + 1);
    for room in [
        "bad%20name",
        "a%2Fb",
        "caf%C3%A9",
        long.as_str(),
        "semi;colon",
    ] {
        let url = format!("ws://{}/ws/chat/{room}/", server.addr);
        let res = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(&url))
            .await
            .expect("answer in time");
        match res {
            Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 400, "{room}"),
            other => panic!("{room}: expected HTTP 400, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn healthz_reports_ok_and_counts() {
    let server = start(open_config()).await;
    let _a = join_all(&server, "h1", 2).await;
    let _b = join_all(&server, "h2", 1).await;
    let (status, body) = http_get(server.addr, "/healthz").await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).expect("json body");
    assert_eq!(json["status"], "ok");
    assert_eq!(json["rooms"], 2);
    assert_eq!(json["clients"], 3);
}

#[tokio::test]
async fn static_files_with_index_fallback() {
    let dir = std::env::temp_dir().join(format!("framechat-relay-static-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>framechat</title>",
    )
    .expect("write index");
    std::fs::write(dir.join("app.js"), "console.log(1)").expect("write js");
    let server = start(Config {
        static_dir: Some(dir.clone()),
        ..open_config()
    })
    .await;

    let (status, body) = http_get(server.addr, "/").await;
    assert_eq!(
        (status, body.contains("<title>framechat</title>")),
        (200, true)
    );
    let (status, body) = http_get(server.addr, "/app.js").await;
    assert_eq!((status, body.as_str()), (200, "console.log(1)"));
    let (status, body) = http_get(server.addr, "/some/client/route").await;
    assert_eq!(
        (status, body.contains("<title>framechat</title>")),
        (200, true)
    );
    // The WebSocket routes still win over the static fallback.
    join_all(&server, "withstatic", 1).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn without_static_dir_root_is_404() {
    let server = start(open_config()).await;
    let (status, body) = http_get(server.addr, "/").await;
    assert_eq!(status, 404);
    assert!(body.contains("--static"));
}

#[tokio::test]
async fn graceful_shutdown_closes_clients_with_1001_and_serve_returns() {
    let server = start(open_config()).await;
    let mut clients = join_all(&server, "bye", 2).await;
    clients.extend(join_all(&server, "bye2", 1).await);
    let addr = server.addr;
    // Clients read while the relay shuts down, so the close handshakes finish.
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut ws| tokio::spawn(async move { read_until_close(&mut ws).await.0 }))
        .collect();
    server.shutdown().await.expect("serve returns Ok");
    for r in readers {
        let code = tokio::time::timeout(WAIT, r)
            .await
            .expect("reader done")
            .expect("reader");
        assert_eq!(code, Some(close_code::GOING_AWAY));
    }
    // The listener is gone.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

fn valid_frame(text: &str) -> Message {
    use framechat_wire::{Frame, Header, MessageHeader, Uuid};
    let header = Header::Msg(MessageHeader {
        id: Uuid::from_u128(1),
        from: "ann".into(),
        ts: 0,
        text: text.into(),
        files: vec![],
    });
    let mut bytes = Vec::new();
    let frame = Frame {
        header,
        payload: &[],
    };
    let encoded = frame.encode(&mut bytes);
    assert!(encoded.is_ok(), "{encoded:?}");
    Message::binary(bytes)
}

#[tokio::test]
async fn validate_drops_invalid_frames_and_relays_valid_ones() {
    let server = start(Config {
        validate: true,
        max_invalid_frames: 0,
        ..open_config()
    })
    .await;
    // Join without text markers (they would be dropped): a valid frame
    // coming back proves the sender has joined.
    let mut a = connect_url(&server.url("valid")).await;
    send(&mut a, valid_frame("a here")).await;
    assert_eq!(recv(&mut a).await, valid_frame("a here"));
    let mut b = connect_url(&server.url("valid")).await;
    send(&mut b, valid_frame("b here")).await;
    assert_eq!(recv(&mut a).await, valid_frame("b here"));
    assert_eq!(recv(&mut b).await, valid_frame("b here"));

    let mut truncated = match valid_frame("cut") {
        Message::Binary(b) => b.to_vec(),
        other => panic!("{other:?}"),
    };
    truncated.pop();
    for bad in [
        Message::binary(vec![1, 2, 3]),
        Message::binary(Vec::new()),
        Message::binary(truncated),
        Message::binary(vec![0xFC, 0, 2, b'{', b'}']),
        Message::text("not a frame"),
    ] {
        send(&mut a, bad).await;
    }
    send(&mut a, valid_frame("after")).await;
    // Only the valid frame arrives, right after the earlier traffic.
    assert_eq!(recv(&mut b).await, valid_frame("after"));
    assert_eq!(recv(&mut a).await, valid_frame("after"));
    assert_eq!(server.relay.stats().invalid_frames, 5);
}

#[tokio::test]
async fn validate_closes_after_repeated_invalid_frames() {
    let server = start(Config {
        validate: true,
        max_invalid_frames: 3,
        ..open_config()
    })
    .await;
    let mut a = connect_url(&server.url("invalid")).await;
    for _ in 0..3 {
        send(&mut a, Message::binary(vec![0; 8])).await;
    }
    let (code, data) = read_until_close(&mut a).await;
    assert_eq!((code, data), (Some(close_code::INVALID_PAYLOAD), 0));
}

#[tokio::test]
async fn without_validate_anything_is_relayed_as_opaque_bytes() {
    let server = start(open_config()).await;
    let mut a = join_all(&server, "opaque", 1).await.remove(0);
    send(&mut a, Message::binary(vec![1, 2, 3])).await;
    assert_eq!(recv(&mut a).await, Message::binary(vec![1, 2, 3]));
}

#[tokio::test]
async fn invalid_utf8_text_closes_with_1007() {
    use tungstenite::protocol::frame::{
        Frame,
        coding::{Data, OpCode},
    };
    let server = start(open_config()).await;
    let mut c = join_all(&server, "utf8", 2).await;
    let bad = Frame::message(vec![0xFF, 0xFE], OpCode::Data(Data::Text), true);
    send(&mut c[0], Message::Frame(bad)).await;
    assert_eq!(
        read_until_close(&mut c[0]).await,
        (Some(close_code::INVALID_PAYLOAD), 0)
    );
    send(&mut c[1], Message::text("fine")).await;
    assert_eq!(recv(&mut c[1]).await, Message::text("fine"));
}

#[tokio::test]
async fn relay_pings_and_closes_a_silent_client_with_4001() {
    let server = start(Config {
        ping_interval: std::time::Duration::from_millis(400),
        ..open_config()
    })
    .await;
    // A client that keeps reading answers the pings (tungstenite does) and
    // stays until told "done".
    let mut alive = join_all(&server, "ping", 1).await.remove(0);
    let alive = tokio::spawn(async move {
        let mut pings = 0;
        loop {
            let next = tokio::time::timeout(WAIT, alive.next()).await;
            match next {
                Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
                Ok(Some(Ok(Message::Text(t)))) if t.as_str() == "done" => return (pings, None),
                Ok(Some(Ok(Message::Text(_)))) => {}
                Ok(Some(Ok(msg))) if common::is_control(&msg) => {}
                other => return (pings, Some(format!("{other:?}"))),
            }
        }
    });
    // A raw TCP client that never answers pings: after two intervals it is closed.
    let (pings, code) =
        tokio::time::timeout(WAIT, common::silent_client(server.addr, "/ws/chat/ping/"))
            .await
            .expect("silent client closed in time");
    assert_eq!(code, close_code::PING_TIMEOUT);
    assert!(pings >= 1, "{pings} pings before the close");

    let mut other = join_all(&server, "ping", 1).await.remove(0);
    send(&mut other, Message::text("done")).await;
    let (alive_pings, ended) = tokio::time::timeout(WAIT, alive)
        .await
        .expect("alive client done")
        .expect("no panic");
    assert_eq!(ended, None, "the reading client was closed");
    assert!(alive_pings >= 2, "{alive_pings} pings");
}
