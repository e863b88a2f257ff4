//! The relay's own WebSocket layer against tungstenite's client: pings from
//! the client, fragmented messages, the close handshake, non-WebSocket requests.

// Test helpers fail the test by panicking, as the tests themselves do
// (clippy.toml allows it in #[test] functions, not in their helpers).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::{WAIT, connect_url, http_get, open_config, recv, send, start};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

#[tokio::test]
async fn a_client_ping_gets_a_pong_with_its_payload() {
    let server = start(open_config()).await;
    let mut ws = connect_url(&server.url("ping")).await;
    send(&mut ws, Message::Ping(b"are you there".to_vec().into())).await;
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("pong in time")
            .expect("open")
            .expect("ok");
        if let Message::Pong(payload) = msg {
            assert_eq!(&payload[..], b"are you there");
            break;
        }
    }
}

#[tokio::test]
async fn fragmented_messages_are_reassembled() {
    let server = start(open_config()).await;
    let mut ws = connect_url(&server.url("frag")).await;
    let parts: [(&[u8], OpCode, bool); 3] = [
        (b"hello ", OpCode::Data(Data::Binary), false),
        (b"fragmented ", OpCode::Data(Data::Continue), false),
        (b"world", OpCode::Data(Data::Continue), true),
    ];
    for (bytes, op, fin) in parts {
        send(
            &mut ws,
            Message::Frame(Frame::message(bytes.to_vec(), op, fin)),
        )
        .await;
    }
    assert_eq!(
        recv(&mut ws).await,
        Message::binary(b"hello fragmented world".to_vec())
    );
}

#[tokio::test]
async fn the_relay_echoes_the_clients_close_code() {
    let server = start(open_config()).await;
    let mut ws = connect_url(&server.url("bye")).await;
    tokio::time::timeout(
        WAIT,
        ws.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: 4321.into(),
            reason: "done".into(),
        })),
    )
    .await
    .expect("close in time")
    .expect("close sent");
    // tungstenite hands the echoed close to the reader, then ends the stream.
    let mut echoed = None;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(WAIT, ws.next()).await {
        if let Message::Close(frame) = msg {
            echoed = frame.map(|f| u16::from(f.code));
        }
    }
    assert_eq!(echoed, Some(4321));
    let _ = ws.flush().await;
}

#[tokio::test]
async fn a_plain_get_to_a_room_is_400() {
    let server = start(open_config()).await;
    let (status, _) = http_get(server.addr, "/ws/chat/plain/").await;
    assert_eq!(status, 400);
}
