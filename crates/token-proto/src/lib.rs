//! Every message between a host and a token: framing, CRC, errors — `no_std`, no allocation.
//!
//! The byte-level specification is `spec/wire-format.md`; this crate is its reference
//! implementation and the golden-byte tests in `tests/golden.rs` are its worked examples.
//!
//! # Layers
//! 1. **Message** ([`Request`], [`Response`]): a fixed little-endian layout, one kind byte per
//!    message, described field by field in the spec.
//! 2. **Frame**: `version (1) | kind (1) | seq (2, LE) | payload | CRC-32/ISO-HDLC (4, LE)`.
//!    The CRC covers every byte before it. At most [`MAX_FRAME_LEN`] bytes.
//! 3. **Wire**: the frame, COBS-encoded (no `0x00` inside), followed by one `0x00` delimiter.
//!    At most [`MAX_WIRE_LEN`] bytes. The [`Accumulator`] splits a byte stream into frames.
//!
//! # Endpoint table
//! | request | kind | success response | kind |
//! |---|---|---|---|
//! | [`Request::Identify`] | `0x01` | [`Response::Info`] | `0x81` |
//! | [`Request::SetTime`] | `0x02` | [`Response::Ack`] | `0x82` |
//! | [`Request::Provision`] | `0x03` | [`Response::Ack`] | `0x82` |
//! | [`Request::ReadDisplay`] | `0x04` | [`Response::Display`] | `0x83` |
//! | [`Request::Lock`] | `0x05` | [`Response::Ack`] | `0x82` |
//! | [`Request::FactoryReset`] | `0x06` | [`Response::Ack`] | `0x82` |
//! | [`Request::GenerateSealed`] | `0x07` | [`Response::Sealed`] | `0x84` |
//!
//! Any request may instead get [`Response::Error`] (`0xFF`) with a [`WireError`].
//!
//! Every request but Identify carries the hardware id of the token it is for
//! ([`Request::target`]); another token answers [`WireError::WrongToken`] and changes nothing,
//! so a write resent after a lost answer never reaches a token swapped onto the station.
//!
//! There is deliberately **no** message that carries a seed from the token to the host:
//! no [`Response`] variant has a field of type [`Seed`] (`tests/no_seed.rs` checks the bytes).
//! [`Response::Sealed`] carries a seed the token generated, encrypted to the bank's key
//! (`sealed-seed`): the host relays it and cannot open it.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod accumulator;
mod error;
mod frame;
mod message;
mod types;

pub use accumulator::{Accumulator, Event};
pub use error::{FrameError, WireError};
pub use frame::{
    cobs_decode, cobs_encode, crc32, decode_request, decode_response, encode_request,
    encode_response,
};
pub use message::{Credential, DisplayCode, Info, Provision, Request, Response, SealRequest};
pub use sealed_seed::{Binding, SealError, Sealed};
pub use types::{
    Date, FirmwareVersion, HardwareId, InvalidDate, InvalidSeedLength, InvalidSerial, Seed, Serial,
    State,
};

pub use otp_core::{Hash, Mode, Params};

/// The protocol version this crate speaks, byte 0 of every frame. Version 2 added the target
/// hardware id to every request but Identify; version 3 the device key in Identify and
/// GenerateSealed (spec/wire-format.md §9, §10). An older token answers a newer frame with
/// [`WireError::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u8 = 3;

/// Frame header: version, kind, sequence number (2 bytes).
pub const HEADER_LEN: usize = 4;

/// The CRC trailer: CRC-32/ISO-HDLC, little-endian.
pub const CRC_LEN: usize = 4;

/// The largest payload of any message: a Sealed answer for a 64-byte seed is 32 + 1 + 80 + 64
/// = 177 bytes (a Provision with a 64-byte seed is 109); the rest is headroom.
pub const MAX_PAYLOAD_LEN: usize = 192;

/// The largest frame before COBS encoding: header + payload + CRC.
pub const MAX_FRAME_LEN: usize = HEADER_LEN + MAX_PAYLOAD_LEN + CRC_LEN;

/// The largest COBS-encoded frame, without the `0x00` delimiter
/// (COBS adds one byte per started 254-byte block).
pub const MAX_ENCODED_LEN: usize = MAX_FRAME_LEN + MAX_FRAME_LEN.div_ceil(254);

/// The most bytes one message occupies on the wire, including the `0x00` delimiter.
pub const MAX_WIRE_LEN: usize = MAX_ENCODED_LEN + 1;

/// The sequence number a token puts in an error response when it could not read the
/// request's own (the frame was too short, too large, or not valid COBS).
pub const SEQ_UNKNOWN: u16 = 0xFFFF;

/// The shortest seed a token accepts, in bytes.
pub const MIN_SEED_LEN: usize = 1;

/// The longest seed a token accepts, in bytes (RFC 6238 Appendix B uses 64 for SHA-512).
pub const MAX_SEED_LEN: usize = 64;

/// The longest serial number, in characters.
pub const MAX_SERIAL_LEN: usize = 16;
