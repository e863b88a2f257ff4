//! A WebSocket on this thread: the link where workers cannot start, or when the host asks
//! for it (`worker: false`).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, MessageEvent, WebSocket};

use super::link::{Events, Link, LinkEvent, Outgoing};
use crate::error::AppError;

pub struct DirectSocket {
    ws: WebSocket,
    /// Its event handlers, alive as long as it is.
    _handlers: [Closure<dyn FnMut(JsValue)>; 3],
}

impl DirectSocket {
    /// Starts connecting to `url`; fails only for a URL the browser will never accept.
    pub fn open(url: &str, events: &Events) -> Result<Self, AppError> {
        let ws = WebSocket::new(url)?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on = |make: fn(JsValue) -> Option<LinkEvent>| {
            let events = events.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
                if let Some(e) = make(ev) {
                    events(e);
                }
            })
        };
        let on_open = on(|_| Some(LinkEvent::Open));
        let on_message = on(|ev| {
            // Text messages are not part of the protocol (PROTOCOL.md: clients ignore them):
            // a site's server may send its own (presence, pings) on the same socket.
            let data = ev.unchecked_into::<MessageEvent>().data();
            data.dyn_into::<js_sys::ArrayBuffer>()
                .ok()
                .map(LinkEvent::Frame)
        });
        let on_close = on(|_| Some(LinkEvent::Closed));
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Self {
            ws,
            _handlers: [on_open, on_message, on_close],
        })
    }
}

impl Link for DirectSocket {
    fn is_open(&self) -> bool {
        self.ws.ready_state() == WebSocket::OPEN
    }

    fn buffered_amount(&self) -> u32 {
        self.ws.buffered_amount()
    }

    fn send(&self, frame: Outgoing, _len: u64, _echo: Option<&[u8]>) -> Result<(), AppError> {
        match frame {
            Outgoing::Bytes(bytes) => self.ws.send_with_array_buffer_view(&bytes)?,
            Outgoing::Blob(blob) => self.ws.send_with_blob(&blob)?,
        }
        Ok(())
    }
}

impl Drop for DirectSocket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        // Closing an already closed socket is harmless; nothing to report on teardown.
        let _ = self.ws.close();
    }
}
