//! A lean server side of WebSocket (RFC 6455) for the relay, over the
//! upgraded HTTP connection.
//!
//! Why not tungstenite's: an idle connection there holds a read buffer of
//! its configured size and a write buffer that keeps the capacity of the
//! largest message it ever wrote, and every outgoing message is copied into
//! that write buffer. Here an idle connection holds no buffer at all (a
//! small inline array for frame headers), a payload is read straight into
//! a buffer of its exact size (one copy, from the kernel), and outgoing
//! messages are written with vectored writes from the shared `Bytes` (no
//! copy in user space): a frame header and its payload, and a burst of
//! messages, go out in one system call.
//!
//! Scope: no extensions (per-message deflate is never negotiated), no
//! subprotocols; client frames must be masked; fragmented messages are
//! reassembled; text must be UTF-8.

use std::collections::VecDeque;
use std::io::{self, IoSlice};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use bytes::{BufMut as _, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// Why reading a message failed; each maps to a close code in `conn`.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// A message larger than the limit (1009).
    TooBig,
    /// A text message that is not UTF-8 (1007).
    Utf8,
    /// Frames that break RFC 6455 (1002).
    Protocol(&'static str),
    /// The transport failed or ended mid-frame.
    Io(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooBig => f.write_str("message too big"),
            Self::Utf8 => f.write_str("text message is not valid UTF-8"),
            Self::Protocol(why) => write!(f, "protocol error: {why}"),
            Self::Io(err) => write!(f, "transport: {err}"),
        }
    }
}

/// Bytes read ahead (a frame header and the start of small frames) are kept
/// inline: an idle connection allocates nothing to wait for its next frame.
const HEAD: usize = 128;

/// Reads whole messages from a client.
pub(crate) struct Reader<R> {
    io: R,
    head: [u8; HEAD],
    start: usize,
    end: usize,
    max: usize,
    /// A fragmented message being reassembled: its opcode and bytes so far.
    partial: Option<(u8, BytesMut)>,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    pub fn new(io: R, max_message_size: usize) -> Self {
        Self {
            io,
            head: [0; HEAD],
            start: 0,
            end: 0,
            max: max_message_size,
            partial: None,
        }
    }

    /// Makes at least `n` (≤ [`HEAD`]) read-ahead bytes available; `false`
    /// at a clean end of stream before any of them.
    async fn fill(&mut self, n: usize) -> Result<bool, ReadError> {
        if self.end - self.start >= n {
            return Ok(true);
        }
        if self.start > 0 {
            self.head.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end < n {
            let got = self
                .io
                .read(&mut self.head[self.end..])
                .await
                .map_err(ReadError::Io)?;
            if got == 0 {
                if self.end == 0 {
                    return Ok(false);
                }
                return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
            self.end += got;
        }
        Ok(true)
    }

    fn ahead(&self) -> &[u8] {
        &self.head[self.start..self.end]
    }

    /// Reads `len` payload bytes: what is read ahead, then straight from the
    /// socket into a buffer of exactly that size.
    async fn payload(&mut self, len: usize) -> Result<BytesMut, ReadError> {
        let mut out = BytesMut::with_capacity(len);
        let have = (self.end - self.start).min(len);
        out.extend_from_slice(&self.head[self.start..self.start + have]);
        self.start += have;
        while out.len() < len {
            let want = len - out.len();
            let got = (&mut self.io)
                .take(want as u64)
                .read_buf(&mut out)
                .await
                .map_err(ReadError::Io)?;
            if got == 0 {
                return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
        }
        Ok(out)
    }

    /// The next message; `None` at a clean end of stream between frames.
    pub async fn next(&mut self) -> Option<Result<Message, ReadError>> {
        loop {
            match self.frame().await {
                Ok(Some(Some(msg))) => return Some(Ok(msg)),
                Ok(Some(None)) => {}
                Ok(None) => return None,
                Err(err) => return Some(Err(err)),
            }
        }
    }

    /// Reads one frame: `Some(Some(msg))` when it completes a message,
    /// `Some(None)` for a fragment, `None` at the end of the stream.
    async fn frame(&mut self) -> Result<Option<Option<Message>>, ReadError> {
        if !self.fill(2).await? {
            return Ok(None);
        }
        let (b0, b1) = match self.ahead() {
            [b0, b1, ..] => (*b0, *b1),
            _ => return Err(ReadError::Protocol("short header")),
        };
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0F;
        if b0 & 0x70 != 0 {
            return Err(ReadError::Protocol("reserved bits set"));
        }
        if b1 & 0x80 == 0 {
            return Err(ReadError::Protocol("unmasked client frame"));
        }
        let ext = match b1 & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        if !self.fill(2 + ext + 4).await? {
            return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        let head = self.ahead();
        let field = |range: std::ops::Range<usize>| -> Result<u64, ReadError> {
            let bytes = head.get(range).ok_or(ReadError::Protocol("short header"))?;
            Ok(bytes.iter().fold(0, |n, &b| (n << 8) | u64::from(b)))
        };
        let len = match ext {
            0 => u64::from(b1 & 0x7F),
            _ => field(2..2 + ext)?,
        };
        let mask: [u8; 4] = head
            .get(2 + ext..2 + ext + 4)
            .and_then(|m| m.try_into().ok())
            .ok_or(ReadError::Protocol("short header"))?;
        self.start += 2 + ext + 4;
        let control = opcode & 0x08 != 0;
        if control && (len > 125 || !fin) {
            return Err(ReadError::Protocol("bad control frame"));
        }
        let so_far = self.partial.as_ref().map_or(0, |(_, b)| b.len());
        let len = usize::try_from(len).map_err(|_| ReadError::TooBig)?;
        if !control && so_far.saturating_add(len) > self.max {
            return Err(ReadError::TooBig);
        }
        let mut data = self.payload(len).await?;
        unmask(&mut data, mask);
        match (opcode, self.partial.take()) {
            (0x8, _) => Ok(Some(Some(Message::Close(close_frame(&data)?)))),
            (0x9, partial) => {
                self.partial = partial;
                Ok(Some(Some(Message::Ping(data.freeze()))))
            }
            (0xA, partial) => {
                self.partial = partial;
                Ok(Some(Some(Message::Pong(data.freeze()))))
            }
            (0x1 | 0x2, None) if fin => Ok(Some(Some(message(opcode, data)?))),
            (0x1 | 0x2, None) => {
                self.partial = Some((opcode, data));
                Ok(Some(None))
            }
            (0x0, Some((op, mut buf))) => {
                buf.extend_from_slice(&data);
                if fin {
                    Ok(Some(Some(message(op, buf)?)))
                } else {
                    self.partial = Some((op, buf));
                    Ok(Some(None))
                }
            }
            (0x0, None) => Err(ReadError::Protocol("continuation without a message")),
            (0x1 | 0x2, Some(_)) => Err(ReadError::Protocol("new message inside a fragmented one")),
            _ => Err(ReadError::Protocol("unknown opcode")),
        }
    }
}

fn message(opcode: u8, data: BytesMut) -> Result<Message, ReadError> {
    if opcode == 0x1 {
        Utf8Bytes::try_from(data.freeze())
            .map(Message::Text)
            .map_err(|_| ReadError::Utf8)
    } else {
        Ok(Message::Binary(data.freeze()))
    }
}

fn close_frame(data: &[u8]) -> Result<Option<CloseFrame>, ReadError> {
    match data {
        [] => Ok(None),
        [_] => Err(ReadError::Protocol("one-byte close payload")),
        [a, b, reason @ ..] => {
            let reason = std::str::from_utf8(reason).map_err(|_| ReadError::Utf8)?;
            Ok(Some(CloseFrame {
                code: u16::from_be_bytes([*a, *b]),
                reason: reason.into(),
            }))
        }
    }
}

/// XORs `data` with the 4-byte `mask` (RFC 6455 §5.3), eight bytes at a time.
fn unmask(data: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0_u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
}

/// One outgoing frame: header and payload, and how much of both is written.
struct Out {
    header: [u8; 10],
    header_len: usize,
    payload: Bytes,
    written: usize,
}

impl Out {
    fn new(opcode: u8, payload: Bytes) -> Self {
        let mut header = [0_u8; 10];
        header[0] = 0x80 | opcode;
        let len = payload.len();
        let header_len = if let Ok(tiny @ 0..=125) = u8::try_from(len) {
            header[1] = tiny;
            2
        } else if let Ok(short) = u16::try_from(len) {
            header[1] = 126;
            header[2..4].copy_from_slice(&short.to_be_bytes());
            4
        } else {
            header[1] = 127;
            header[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        };
        Self {
            header,
            header_len,
            payload,
            written: 0,
        }
    }

    fn total(&self) -> usize {
        self.header_len + self.payload.len()
    }

    /// The unwritten parts, as up to two slices.
    fn slices(&self) -> [&[u8]; 2] {
        let h = self
            .header
            .get(self.written..self.header_len)
            .unwrap_or(&[]);
        let p = self
            .payload
            .get(self.written.saturating_sub(self.header_len)..)
            .unwrap_or(&[]);
        [h, p]
    }
}

/// Most frames handed to one vectored write.
const MAX_BATCH: usize = 32;

/// Writes messages to a client: `feed` queues (no I/O), `flush` writes all
/// queued frames with vectored writes.
pub(crate) struct Writer<W> {
    io: W,
    queue: VecDeque<Out>,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    pub fn new(io: W) -> Self {
        Self {
            io,
            queue: VecDeque::new(),
        }
    }

    /// Queues `msg` (written at the next flush).
    pub fn feed(&mut self, msg: Message) {
        let (opcode, payload) = match msg {
            Message::Text(t) => (0x1, Bytes::from(t)),
            Message::Binary(b) => (0x2, b),
            Message::Close(frame) => {
                let mut b = BytesMut::new();
                if let Some(f) = frame {
                    b.put_u16(f.code);
                    // A close payload is at most 125 bytes (RFC 6455 §5.5).
                    let reason = f.reason.as_str();
                    let mut cut = reason.len().min(123);
                    while !reason.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    b.extend_from_slice(&reason.as_bytes()[..cut]);
                }
                (0x8, b.freeze())
            }
            Message::Ping(b) => (0x9, b),
            Message::Pong(b) => (0xA, b),
        };
        self.queue.push_back(Out::new(opcode, payload));
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> io::Result<()> {
        while !self.queue.is_empty() {
            // The slices live only inside one poll: kept across an await
            // they would be part of every connection's task.
            let n = std::future::poll_fn(|cx| {
                let mut slices = [IoSlice::new(&[]); 2 * MAX_BATCH];
                let mut used = 0;
                for out in self.queue.iter().take(MAX_BATCH) {
                    for part in out.slices() {
                        if let (false, Some(slot)) = (part.is_empty(), slices.get_mut(used)) {
                            *slot = IoSlice::new(part);
                            used += 1;
                        }
                    }
                }
                std::pin::Pin::new(&mut self.io)
                    .poll_write_vectored(cx, slices.get(..used).unwrap_or(&[]))
            })
            .await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            let mut left = n;
            while left > 0 {
                let Some(front) = self.queue.front_mut() else {
                    break;
                };
                let rest = front.total() - front.written;
                if left >= rest {
                    left -= rest;
                    self.queue.pop_front();
                } else {
                    front.written += left;
                    left = 0;
                }
            }
        }
        self.io.flush().await
    }

    /// Queues and writes `msg`.
    pub async fn send(&mut self, msg: Message) -> io::Result<()> {
        self.feed(msg);
        self.flush().await
    }

    /// Flushes, then shuts the write side down.
    pub async fn close(&mut self) -> io::Result<()> {
        self.flush().await?;
        self.io.shutdown().await
    }
}

#[cfg(test)]
#[path = "ws_tests.rs"]
mod tests;
