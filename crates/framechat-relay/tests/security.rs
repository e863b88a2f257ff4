//! The WebSocket `Origin` check and the connection caps, over real sockets.

// Test helpers fail the test by panicking, as the tests themselves do
// (clippy.toml allows it in #[test] functions, not in their helpers).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::{WAIT, Ws, connect_url, open_config, recv, send, start};
use framechat_relay::Config;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{Error, Message, http::HeaderValue};

/// Handshake with extra headers: the socket, or the HTTP status of the refusal.
async fn handshake(url: &str, headers: &[(&'static str, String)]) -> Result<Ws, u16> {
    let mut req = url.into_client_request().expect("request");
    for (k, v) in headers {
        req.headers_mut()
            .insert(*k, HeaderValue::from_str(v).expect("header value"));
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
        .await
        .expect("handshake in time")
    {
        Ok((ws, _)) => Ok(ws),
        Err(Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(err) => panic!("handshake failed: {err}"),
    }
}

#[tokio::test]
async fn origin_must_be_the_relays_own_or_allowed() {
    let server = start(Config {
        allow_origins: vec!["http://allowed.test:3000".into()],
        ..open_config()
    })
    .await;
    let url = server.url("origin");
    let own = format!("http://{}", server.addr);
    assert_eq!(
        handshake(&url, &[("origin", "http://evil.test".into())])
            .await
            .err(),
        Some(403)
    );
    assert_eq!(
        handshake(&url, &[("origin", "null".into())]).await.err(),
        Some(403)
    );
    for headers in [
        vec![],
        vec![("origin", own.clone())],
        vec![("origin", "http://allowed.test:3000".into())],
        // trunk serve's proxy: Host is the relay, X-Forwarded-Host the page's.
        vec![
            ("origin", "http://127.0.0.1:8081".into()),
            ("x-forwarded-host", "127.0.0.1:8081".into()),
        ],
    ] {
        let mut ws = handshake(&url, &headers)
            .await
            .unwrap_or_else(|status| panic!("{headers:?} refused with {status}"));
        drop(recv_hello(&mut ws).await);
    }
}

async fn recv_hello(ws: &mut Ws) -> Message {
    let msg = common::recv_any(ws).await;
    assert_eq!(common::control_kind(&msg).as_deref(), Some("hello"));
    msg
}

#[tokio::test]
async fn connections_are_capped_per_ip_and_in_total() {
    let server = start(Config {
        max_connections_per_ip: 2,
        ..open_config()
    })
    .await;
    let url = server.url("caps");
    let a = connect_url(&url).await;
    let mut b = connect_url(&url).await;
    assert_eq!(handshake(&url, &[]).await.err(), Some(429));
    // One leaves: there is room again, and the two inside still talk.
    common::close(a).await;
    let mut c = connect_url(&url).await;
    send(&mut b, Message::text("still here")).await;
    assert_eq!(recv(&mut c).await, Message::text("still here"));

    let server = start(Config {
        max_connections: 1,
        ..open_config()
    })
    .await;
    let url = server.url("total");
    let _only = connect_url(&url).await;
    assert_eq!(handshake(&url, &[]).await.err(), Some(503));
}
