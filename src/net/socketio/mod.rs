//! A Socket.IO server as the link (`transport: "socketio"`): Engine.IO v4 over a WebSocket on
//! this thread, each frame one binary event with the frame as its attachment ([`codec`]).
//!
//! The link is open once the server acknowledged the Socket.IO connect (`40`); it answers
//! the server's pings, and closes the socket when no ping came for the handshake's
//! `pingInterval + pingTimeout`, as socket.io-client does: a half-open TCP connection
//! otherwise looks alive for minutes. Reconnects, the outbox, echo dedupe and backpressure
//! (the WebSocket's `bufferedAmount`) are the connection's, as on a plain WebSocket.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo::timers::callback::Timeout;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, MessageEvent, WebSocket};

use super::link::{Events, Link, LinkEvent, Outgoing};
use crate::error::AppError;

pub mod codec;

use codec::{Handshake, Incoming};

pub struct SocketIo {
    ws: WebSocket,
    state: Rc<State>,
    _handlers: [Closure<dyn FnMut(JsValue)>; 2],
}

struct State {
    ws: WebSocket,
    event: String,
    events: Events,
    handshake: Cell<Option<Handshake>>,
    /// Socket.IO connected: frames may go.
    open: Cell<bool>,
    /// A binary event's attachments still to come: how many, and which one is the frame.
    pending: Cell<Option<Pending>>,
    /// Closes the socket when the server stops pinging.
    watchdog: RefCell<Option<Timeout>>,
}

#[derive(Clone, Copy)]
struct Pending {
    left: usize,
    at: usize,
    frame: Option<usize>,
}

impl SocketIo {
    /// Connects to the Socket.IO server at `url` (the full endpoint, [`codec::endpoint`]);
    /// frames travel as the event `event`.
    pub fn open(url: &str, event: &str, events: &Events) -> Result<Self, AppError> {
        let ws = WebSocket::new(url)?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let state = Rc::new(State {
            ws: ws.clone(),
            event: event.to_string(),
            events: events.clone(),
            handshake: Cell::new(None),
            open: Cell::new(false),
            pending: Cell::new(None),
            watchdog: RefCell::new(None),
        });
        let on_message = {
            let state = state.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
                let data = ev.unchecked_into::<MessageEvent>().data();
                match data.as_string() {
                    Some(text) => state.on_text(&text),
                    None => {
                        if let Ok(buffer) = data.dyn_into::<js_sys::ArrayBuffer>() {
                            state.on_binary(buffer);
                        }
                    }
                }
            })
        };
        let on_close = {
            let state = state.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                state.open.set(false);
                state.watchdog.borrow_mut().take();
                (state.events)(LinkEvent::Closed);
            })
        };
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Self {
            ws,
            state,
            _handlers: [on_message, on_close],
        })
    }
}

impl State {
    fn on_text(self: &Rc<Self>, text: &str) {
        match codec::decode(text, &self.event) {
            Incoming::Open(handshake) => {
                self.handshake.set(Some(handshake));
                self.arm_watchdog();
                self.send_text(codec::CONNECT);
            }
            Incoming::Ping => {
                self.arm_watchdog();
                self.send_text(codec::PONG);
            }
            Incoming::Connected => {
                if !self.open.replace(true) {
                    (self.events)(LinkEvent::Open);
                }
            }
            Incoming::ConnectError(reason) => {
                // Refused by the server's middleware: socket.io-client does not retry either.
                self.watchdog.borrow_mut().take();
                (self.events)(LinkEvent::Unreachable(format!(
                    "the Socket.IO server refused the connection: {reason}"
                )));
            }
            Incoming::Closed => {
                let _ = self.ws.close();
            }
            Incoming::BinaryEvent { attachments, frame } => {
                self.pending.set((attachments > 0).then_some(Pending {
                    left: attachments,
                    at: 0,
                    frame,
                }));
            }
            Incoming::Other => {}
        }
    }

    fn on_binary(&self, buffer: js_sys::ArrayBuffer) {
        // A binary message that no event announced is not part of the protocol: ignored.
        let Some(mut p) = self.pending.get() else {
            return;
        };
        let is_frame = p.frame == Some(p.at);
        p.at += 1;
        p.left -= 1;
        self.pending.set((p.left > 0).then_some(p));
        if is_frame {
            (self.events)(LinkEvent::Frame(buffer));
        }
    }

    fn send_text(&self, text: &str) {
        // A socket that is closing throws; its close event follows.
        let _ = self.ws.send_with_str(text);
    }

    /// (Re)starts the wait for the server's next ping.
    fn arm_watchdog(self: &Rc<Self>) {
        let Some(h) = self.handshake.get() else {
            return;
        };
        let weak = Rc::downgrade(self);
        let ms = h.ping_interval.saturating_add(h.ping_timeout);
        *self.watchdog.borrow_mut() = Some(Timeout::new(ms, move || {
            if let Some(state) = weak.upgrade() {
                let _ = state.ws.close();
            }
        }));
    }
}

impl Link for SocketIo {
    fn is_open(&self) -> bool {
        self.state.open.get() && self.ws.ready_state() == WebSocket::OPEN
    }

    fn buffered_amount(&self) -> u32 {
        self.ws.buffered_amount()
    }

    fn send(&self, frame: Outgoing, len: u64, _echo: Option<&[u8]>) -> Result<(), AppError> {
        if !self.is_open() {
            return Err(AppError::NotOpen);
        }
        let max = self
            .state
            .handshake
            .get()
            .map_or(codec::DEFAULT_MAX_PAYLOAD, |h| h.max_payload);
        if len > max {
            return Err(AppError::FrameTooLarge { len });
        }
        self.ws
            .send_with_str(&codec::binary_event(&self.state.event))?;
        match frame {
            Outgoing::Bytes(bytes) => self.ws.send_with_array_buffer_view(&bytes)?,
            Outgoing::Blob(blob) => self.ws.send_with_blob(&blob)?,
        }
        Ok(())
    }
}

impl Drop for SocketIo {
    fn drop(&mut self) {
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.state.watchdog.borrow_mut().take();
        // A Socket.IO disconnect first, so that the server does not wait for a ping timeout.
        let _ = self.ws.send_with_str("41");
        let _ = self.ws.close();
    }
}
