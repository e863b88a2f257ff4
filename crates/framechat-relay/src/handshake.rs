//! The WebSocket opening handshake (RFC 6455 §4.2): checks the client's
//! request and builds the 101 answer. No extensions, no subprotocols.

use axum::body::Body;
use axum::http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Why a request to a room is not a WebSocket handshake we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a GET with `Connection: upgrade`, `Upgrade: websocket` and a key.
    NotWebSocket,
    /// `Sec-WebSocket-Version` is not 13.
    Version,
}

impl axum::response::IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::NotWebSocket => (
                StatusCode::BAD_REQUEST,
                "this is a WebSocket endpoint (GET with Upgrade: websocket)\n",
            )
                .into_response(),
            // RFC 6455 §4.4: answer with the versions we speak.
            Self::Version => (
                StatusCode::UPGRADE_REQUIRED,
                [(SEC_WEBSOCKET_VERSION, "13")],
                "unsupported WebSocket version\n",
            )
                .into_response(),
        }
    }
}

fn has_token(headers: &HeaderMap, name: axum::http::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// The `Sec-WebSocket-Accept` value for a valid handshake request.
pub(crate) fn accept_key(method: &Method, headers: &HeaderMap) -> Result<String, Refusal> {
    if method != Method::GET
        || !has_token(headers, CONNECTION, "upgrade")
        || !has_token(headers, UPGRADE, "websocket")
    {
        return Err(Refusal::NotWebSocket);
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(Refusal::Version);
    }
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .ok_or(Refusal::NotWebSocket)?;
    Ok(derive_accept_key(key.as_bytes()))
}

/// The 101 answer that switches the connection to WebSocket.
pub(crate) fn switching(accept: &str) -> Response {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(accept) {
        h.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    res
}
