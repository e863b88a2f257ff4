//! A connection the host page owns (`mount(el, { transport })`): the host gives framechat a
//! function that sends a frame, and tells it about received frames and the connection's state
//! through the mounted chat's handle (`receive(bytes)`, `online()`, `offline()`). With it, a
//! site that already has a socket.io-client, a Phoenix channel or anything else that carries
//! binary messages wires framechat in with a few lines (README).
//!
//! The host's object: `send(frame)` (required) gets each frame, a `Uint8Array` or a `Blob`,
//! to pass on as one binary message; `bufferedAmount()` (optional) says how many bytes it
//! still holds, for pacing (without it, frames are handed over as fast as they are made and
//! a message counts as delivered once handed over).
//!
//! What the host reports reaches the connection in a later microtask, never inside a call
//! of the connection's own: a host that loops a frame straight back from `send` is fine.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue};

use super::link::{Events, Link, LinkEvent, Outgoing};
use crate::error::AppError;
use crate::platform::get;

/// The host's transport object and what it last said. Clones share it.
#[derive(Clone)]
pub struct HostTransport(Rc<Shared>);

struct Shared {
    send: js_sys::Function,
    target: JsValue,
    buffered: Option<js_sys::Function>,
    online: Cell<bool>,
    /// The live link's events, while there is one.
    events: RefCell<Option<Events>>,
}

impl PartialEq for HostTransport {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for HostTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostTransport")
            .field("online", &self.0.online.get())
            .finish_non_exhaustive()
    }
}

impl HostTransport {
    /// The host's `transport` option: an object with a `send` function.
    pub fn new(target: JsValue) -> Result<Self, AppError> {
        let send = get(&target, "send")
            .dyn_into::<js_sys::Function>()
            .map_err(|_| AppError::Config("transport.send must be a function".into()))?;
        let buffered = get(&target, "bufferedAmount").dyn_into().ok();
        Ok(Self(Rc::new(Shared {
            send,
            target,
            buffered,
            online: Cell::new(false),
            events: RefCell::new(None),
        })))
    }

    /// A frame the host received: an `ArrayBuffer` or a view of one. Anything else is not
    /// part of the protocol and is ignored.
    pub fn receive(&self, data: &JsValue) {
        let buffer = if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
            buffer.clone()
        } else if let Some(view) = data.dyn_ref::<js_sys::Uint8Array>() {
            // Its own buffer, exactly the frame: a view into a larger one is copied (in JS).
            if view.byte_offset() == 0 && view.byte_length() == view.buffer().byte_length() {
                view.buffer()
            } else {
                view.slice(0, view.length()).buffer()
            }
        } else {
            return;
        };
        self.report(LinkEvent::Frame(buffer));
    }

    /// The host's connection is up (again) or down.
    pub fn set_online(&self, online: bool) {
        if self.0.online.replace(online) != online {
            self.report(if online {
                LinkEvent::Open
            } else {
                LinkEvent::Closed
            });
        }
    }

    /// Hands `event` to the live link's connection in a later microtask.
    fn report(&self, event: LinkEvent) {
        let Some(events) = self.0.events.borrow().clone() else {
            return;
        };
        wasm_bindgen_futures::spawn_local(async move { events(event) });
    }
}

/// The link over a [`HostTransport`]; dropping it stops reporting to the connection.
pub struct HostLink(HostTransport);

impl HostLink {
    pub fn open(host: &HostTransport, events: &Events) -> Self {
        *host.0.events.borrow_mut() = Some(events.clone());
        if host.0.online.get() {
            host.report(LinkEvent::Open);
        }
        Self(host.clone())
    }
}

impl Link for HostLink {
    fn is_open(&self) -> bool {
        self.0.0.online.get()
    }

    fn buffered_amount(&self) -> u32 {
        let Some(f) = &self.0.0.buffered else {
            return 0;
        };
        // A count of bytes from the host: anything else counts as nothing waiting.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        f.call0(&self.0.0.target)
            .ok()
            .and_then(|v| v.as_f64())
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map_or(0, |n| n.min(f64::from(u32::MAX)) as u32)
    }

    fn send(&self, frame: Outgoing, _len: u64, _echo: Option<&[u8]>) -> Result<(), AppError> {
        let data: JsValue = match frame {
            Outgoing::Bytes(bytes) => bytes.into(),
            Outgoing::Blob(blob) => blob.into(),
        };
        self.0.0.send.call1(&self.0.0.target, &data)?;
        Ok(())
    }
}

impl Drop for HostLink {
    fn drop(&mut self) {
        self.0.0.events.borrow_mut().take();
    }
}
