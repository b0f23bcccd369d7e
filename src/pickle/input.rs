//! Byte source of the pickle machine: counts offsets for error messages and never allocates
//! more than the input actually delivers, whatever a length field claims.

use std::io::{BufRead, ErrorKind, Read};

/// Largest buffer reserved up front for a length-prefixed read; beyond it the buffer grows only
/// as bytes actually arrive, so a corrupted length field cannot trigger a huge allocation.
const MAX_UPFRONT_RESERVE: u64 = 1 << 20;

pub(crate) struct Input<R> {
    reader: R,
    offset: u64,
    /// Total input length when known (files, slices): lets us reject absurd lengths at once.
    total_len: Option<u64>,
}

impl<R: BufRead> Input<R> {
    pub(crate) fn new(reader: R, total_len: Option<u64>) -> Self {
        Input { reader, offset: 0, total_len }
    }

    /// Bytes consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    fn fill(&mut self) -> Result<&[u8], String> {
        // Retry interrupted reads first; returning the buffer from inside the loop would
        // hold the borrow across iterations.
        while let Err(e) = self.reader.fill_buf() {
            if e.kind() != ErrorKind::Interrupted {
                break;
            }
        }
        self.reader.fill_buf().map_err(|e| format!("read error: {e}"))
    }

    /// The next byte, or `None` at the end of the input.
    pub(crate) fn next_byte(&mut self) -> Result<Option<u8>, String> {
        // Fast path: one opcode byte from the buffer (the common case, millions of times).
        if let Ok(&[b, ..]) = self.reader.fill_buf() {
            self.reader.consume(1);
            self.offset += 1;
            return Ok(Some(b));
        }
        let Some(&b) = self.fill()?.first() else {
            return Ok(None);
        };
        self.reader.consume(1);
        self.offset += 1;
        Ok(Some(b))
    }

    /// Exactly `N` bytes; `what` names the field for the error message.
    pub(crate) fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        if let Ok(buf) = self.reader.fill_buf() {
            if let Some(head) = buf.get(..N) {
                out.copy_from_slice(head);
                self.reader.consume(N);
                self.offset += N as u64;
                return Ok(out);
            }
        }
        let mut got = 0;
        while got < N {
            let buf = self.fill()?;
            if buf.is_empty() {
                return Err(format!("input ends after {got} of the {N} bytes of its {what}"));
            }
            let n = buf.len().min(N - got);
            out[got..got + n].copy_from_slice(&buf[..n]);
            self.reader.consume(n);
            self.offset += n as u64;
            got += n;
        }
        Ok(out)
    }

    /// Exactly `len` bytes of payload announced by a length field.
    pub(crate) fn bytes(&mut self, len: u64, what: &str) -> Result<Vec<u8>, String> {
        if let Some(total) = self.total_len {
            let left = total.saturating_sub(self.offset);
            if len > left {
                return Err(format!("{what} length {len} exceeds the {left} bytes left in the input"));
            }
        }
        let mut out = Vec::with_capacity(len.min(MAX_UPFRONT_RESERVE) as usize);
        let got =
            (&mut self.reader).take(len).read_to_end(&mut out).map_err(|e| format!("read error in {what}: {e}"))?;
        self.offset += got as u64;
        if (got as u64) < len {
            return Err(format!("input ends after {got} of the {len} bytes of its {what}"));
        }
        Ok(out)
    }

    /// A newline-terminated line (protocol-0 arguments), without the newline.
    pub(crate) fn line(&mut self, what: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let got = self.reader.read_until(b'\n', &mut out).map_err(|e| format!("read error in {what}: {e}"))?;
        self.offset += got as u64;
        if out.pop() != Some(b'\n') {
            return Err(format!("input ends inside the {what} line (no newline)"));
        }
        Ok(out)
    }
}
