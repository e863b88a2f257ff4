//! Frames in JS memory: a planned frame becomes one `Uint8Array` (payload in memory) or a
//! Blob of the header and file slices (a plain file, read by the browser as it sends); a
//! received frame becomes its header, decoded in WASM, and its payload as a view that never
//! enters WASM. This is the client's one frame parser: the socket worker matches echoes by
//! the header bytes it is given ([`super::link::Link::send`]).

use framechat_wire::{CancelHeader, Header, PlannedFrame, decode_header, header_end, write_frame};
use js_sys::Uint8Array;

use super::link::{Link, Outgoing};
use super::outbox::Sink;
use crate::error::AppError;
use crate::media::{Body, JsPart, count_in, count_out};

/// A frame as a link takes it, its length, and its header bytes.
pub struct Built {
    pub out: Outgoing,
    pub len: u64,
    pub head: Vec<u8>,
}

/// One planned frame: header bytes from WASM, then the payload, copied into one
/// `Uint8Array` when it is all in memory, else a Blob with slices of the files.
pub fn build(frame: &PlannedFrame, bodies: &[Body], sizes: &[u64]) -> Result<Built, AppError> {
    let payload_len = frame.range.end - frame.range.start;
    let mut head = Vec::new();
    framechat_wire::write_header(&frame.header, payload_len, &mut head)?;
    count_out(head.len() as u64);
    let len = head.len() as u64 + payload_len;
    if frame.range.is_empty() {
        let out = Outgoing::Bytes(Uint8Array::from(head.as_slice()));
        return Ok(Built { out, len, head });
    }
    let seq = js_sys::Array::new();
    let mut in_memory = true;
    let mut base = 0u64;
    for (body, &size) in bodies.iter().zip(sizes) {
        let (start, end) = (base, base.saturating_add(size));
        base = end;
        let a = frame.range.start.max(start);
        let b = frame.range.end.min(end);
        if a < b {
            in_memory &= body.push_slices(a - start, b - start, &seq)?;
        }
    }
    if !in_memory {
        seq.unshift(&Uint8Array::from(head.as_slice()));
        let blob = web_sys::Blob::new_with_blob_sequence(&seq)?;
        return Ok(Built {
            out: Outgoing::Blob(blob),
            len,
            head,
        });
    }
    // A frame is at most the frame budget (a few hundred KiB): its length fits in u32.
    let total = u32::try_from(len).map_err(|_| AppError::FrameTooLarge { len })?;
    let out = Uint8Array::new_with_length(total);
    out.subarray(0, head.len() as u32).copy_from(&head);
    let mut at = head.len() as u32;
    for part in seq.iter() {
        let part = Uint8Array::from(part);
        out.set(&part, at);
        at += part.length();
    }
    Ok(Built {
        out: Outgoing::Bytes(out),
        len,
        head,
    })
}

/// A received frame's header, and its payload as a view of `frame`. Only the header is
/// copied into WASM.
pub fn decode(frame: &Uint8Array) -> Result<(Header, JsPart), AppError> {
    let len = frame.length();
    let mut prefix = [0u8; 3];
    if len < 3 {
        return Err(AppError::Truncated { len });
    }
    frame.subarray(0, 3).copy_to(&mut prefix);
    let end = match header_end(&prefix).map(u32::try_from) {
        Ok(Ok(end)) if end <= len => end,
        Ok(_) => return Err(AppError::Truncated { len }),
        Err(e) => return Err(e.into()),
    };
    let head = frame.subarray(0, end).to_vec();
    count_in(head.len() as u64);
    let (header, at) = decode_header(&head)?;
    let at = u32::try_from(at).unwrap_or(end).min(len);
    Ok((header, JsPart(frame.subarray(at, len))))
}

/// Whether `frame` is the last of its message.
fn ends_message(frame: &PlannedFrame) -> bool {
    match &frame.header {
        Header::Msg(m) => frame.range.end >= m.files.iter().map(|f| f.size).sum::<u64>(),
        Header::Chunk(c) => c.last,
        Header::Cancel(_) => true,
    }
}

/// Whether `frame` is a private room's sealed envelope (PROTOCOL.md, version 0xFD).
pub fn is_sealed(frame: &Uint8Array) -> bool {
    frame.length() > 0 && framechat_wire::is_envelope(&[frame.get_index(0)])
}

/// A sealed envelope's message tag, as an id (16 bytes either way), if it has one.
pub fn sealed_tag(frame: &Uint8Array) -> Option<framechat_wire::Uuid> {
    crate::platform::webcrypto::EnvelopeHead::read(frame)
        .ok()
        .map(|head| framechat_wire::Uuid::from_bytes(head.tag))
}

/// The outbox's frames, built here and handed to a link.
pub struct LinkSink<'a>(pub &'a dyn Link);

impl Sink<Body> for LinkSink<'_> {
    fn buffered(&self) -> u32 {
        self.0.buffered_amount()
    }

    fn send_frame(
        &mut self,
        frame: &PlannedFrame,
        bodies: &[Body],
        sizes: &[u64],
    ) -> Result<u64, AppError> {
        let built = build(frame, bodies, sizes)?;
        // Only the echo of the frame that ends a message proves anything.
        let echo = (!ends_message(frame)).then_some(built.head.as_slice());
        self.0.send(built.out, built.len, echo)?;
        Ok(built.len)
    }

    fn send_cancel(&mut self, cancel: &CancelHeader) -> Result<u64, AppError> {
        let mut bytes = Vec::new();
        write_frame(&Header::Cancel(cancel.clone()), &[], &mut bytes)?;
        let len = bytes.len() as u64;
        count_out(len);
        self.0.send(
            Outgoing::Bytes(Uint8Array::from(bytes.as_slice())),
            len,
            None,
        )?;
        Ok(len)
    }
}
