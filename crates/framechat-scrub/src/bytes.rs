//! Bounds-checked reads from untrusted bytes: every miss is a `Truncated` error, never a panic.

use crate::ScrubError;

/// A cursor over a byte slice. Offsets in errors count from the start of `data`, so a
/// reader over the whole file reports absolute positions.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(crate) fn at(data: &'a [u8], pos: usize) -> Self {
        Self { data, pos }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Everything not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    /// The `n` next bytes, or `Truncated` when fewer are left.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ScrubError> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.short(n))?;
        let slice = self.data.get(self.pos..end).ok_or_else(|| self.short(n))?;
        self.pos = end;
        Ok(slice)
    }

    pub(crate) fn skip(&mut self, n: usize) -> Result<(), ScrubError> {
        self.take(n).map(|_| ())
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], ScrubError> {
        let slice = self.take(N)?;
        let mut out = [0; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ScrubError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn be_u16(&mut self) -> Result<u16, ScrubError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn be_u32(&mut self) -> Result<u32, ScrubError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn be_u64(&mut self) -> Result<u64, ScrubError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn le_u16(&mut self) -> Result<u16, ScrubError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn le_u32(&mut self) -> Result<u32, ScrubError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A big-endian unsigned integer of 0, 4 or 8 bytes (ISO-BMFF `iloc` field sizes).
    pub(crate) fn be_sized(&mut self, size: u8) -> Result<Option<u64>, ScrubError> {
        match size {
            0 => Ok(Some(0)),
            4 => self.be_u32().map(|v| Some(u64::from(v))),
            8 => self.be_u64().map(Some),
            _ => Ok(None),
        }
    }

    fn short(&self, n: usize) -> ScrubError {
        ScrubError::truncated((self.pos as u64).saturating_add(n as u64), self.data.len())
    }
}

/// `u32` → `usize` without a narrowing cast (usize is at least 32 bits on every target
/// this crate builds for; should it not be, the length cannot be in memory anyway).
pub(crate) fn usize_from(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
