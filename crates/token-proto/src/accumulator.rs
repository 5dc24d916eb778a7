//! Splits a byte stream (chunked serial reads, one byte per UART interrupt) into frames.

use zeroize::Zeroize;

use crate::MAX_ENCODED_LEN;

/// Collects bytes up to each `0x00` delimiter, like postcard's `CobsAccumulator`.
///
/// - An empty frame (two `0x00` in a row) is skipped: a host may send `0x00` before a
///   request to flush whatever line noise the token has collected.
/// - More than [`MAX_ENCODED_LEN`] bytes without a delimiter: the bytes are dropped up to the
///   next `0x00`, then [`Event::Oversized`] is reported once, and collecting starts afresh.
pub struct Accumulator {
    buf: [u8; MAX_ENCODED_LEN],
    len: usize,
    overflowed: bool,
}

/// What one byte completed.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A complete COBS-encoded frame (without the delimiter): pass it to
    /// [`crate::decode_request`] or [`crate::decode_response`].
    Frame(&'a [u8]),
    /// A frame longer than [`MAX_ENCODED_LEN`] was discarded.
    Oversized,
}

impl Default for Accumulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Accumulator {
    /// An empty accumulator (usable in a `static`).
    pub const fn new() -> Self {
        Accumulator {
            buf: [0; MAX_ENCODED_LEN],
            len: 0,
            overflowed: false,
        }
    }

    /// Adds one byte; returns an event when it ends a frame.
    pub fn push(&mut self, byte: u8) -> Option<Event<'_>> {
        if byte == 0 {
            let len = core::mem::take(&mut self.len);
            if core::mem::take(&mut self.overflowed) {
                return Some(Event::Oversized);
            }
            if len == 0 {
                return None;
            }
            return Some(Event::Frame(&self.buf[..len]));
        }
        if self.overflowed {
            return None;
        }
        if self.len == MAX_ENCODED_LEN {
            self.overflowed = true;
            self.clear();
            return None;
        }
        self.buf[self.len] = byte;
        self.len += 1;
        None
    }

    /// Forgets a partial frame and wipes the buffer (which may have held a seed).
    pub fn clear(&mut self) {
        self.buf.zeroize();
        self.len = 0;
    }

    /// True when bytes of an unfinished frame are buffered.
    pub fn is_partial(&self) -> bool {
        self.len > 0 || self.overflowed
    }
}
