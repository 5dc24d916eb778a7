//! Frames: header + payload + CRC-32, COBS-encoded, `0x00`-terminated.

use crc::{Crc, CRC_32_ISO_HDLC};
use zeroize::Zeroize;

use crate::message::{read_request, read_response, write_request, write_response, Writer};
use crate::{
    FrameError, Request, Response, WireError, CRC_LEN, HEADER_LEN, MAX_ENCODED_LEN, MAX_FRAME_LEN,
    MAX_WIRE_LEN, PROTOCOL_VERSION,
};

/// CRC-32/ISO-HDLC (the zlib/Ethernet CRC): poly `0x04C11DB7` reflected, init `0xFFFFFFFF`,
/// xorout `0xFFFFFFFF`; check value `crc32(b"123456789") == 0xCBF43926`.
const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// CRC-32/ISO-HDLC of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

/// COBS-encodes `src` into `dst` (Cheshire & Baker 1999): the output has no `0x00` byte and
/// is at most `src.len() + ceil(src.len() / 254) + 1` long... returns the length written.
/// No delimiter is appended. Returns `None` if `dst` is too small.
pub fn cobs_encode(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    let mut code_pos = 0;
    let mut out = 1;
    let mut code: u8 = 1;
    if dst.is_empty() {
        return None;
    }
    for &b in src {
        if b == 0 {
            dst[code_pos] = code;
            code_pos = out;
            out += 1;
            code = 1;
            if code_pos >= dst.len() {
                return None;
            }
        } else {
            *dst.get_mut(out)? = b;
            out += 1;
            code += 1;
            if code == 0xFF {
                dst[code_pos] = code;
                code_pos = out;
                out += 1;
                code = 1;
                if code_pos >= dst.len() {
                    return None;
                }
            }
        }
    }
    dst[code_pos] = code;
    Some(out)
}

/// Decodes one COBS block (without its `0x00` delimiter) into `dst`; returns the length.
/// `None` if the input holds a `0x00`, a code byte runs past the end, or `dst` is too small.
pub fn cobs_decode(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    let mut i = 0;
    let mut out = 0;
    while i < src.len() {
        let code = src[i];
        if code == 0 {
            return None;
        }
        let end = i + usize::from(code);
        if end > src.len() {
            return None;
        }
        for &b in &src[i + 1..end] {
            if b == 0 {
                return None;
            }
            *dst.get_mut(out)? = b;
            out += 1;
        }
        i = end;
        if code != 0xFF && i < src.len() {
            *dst.get_mut(out)? = 0;
            out += 1;
        }
    }
    Some(out)
}

/// Builds the raw frame (header, payload, CRC) and COBS-encodes it with the delimiter.
fn encode(
    kind: u8,
    seq: u16,
    write: impl FnOnce(&mut Writer<'_>),
    out: &mut [u8; MAX_WIRE_LEN],
) -> usize {
    let mut raw = [0u8; MAX_FRAME_LEN];
    let mut w = Writer::new(&mut raw);
    w.u8(PROTOCOL_VERSION);
    w.u8(kind);
    w.u16(seq);
    write(&mut w);
    let len = w.len();
    let crc = crc32(&raw[..len]).to_le_bytes();
    raw[len..len + CRC_LEN].copy_from_slice(&crc);
    let n = cobs_encode(&raw[..len + CRC_LEN], &mut out[..MAX_ENCODED_LEN]).unwrap_or(0);
    raw.zeroize(); // a Provision frame holds a seed
    out[n] = 0;
    n + 1
}

/// Encodes a request as it goes on the wire (COBS + `0x00`); returns the length used in `out`.
pub fn encode_request(seq: u16, req: &Request, out: &mut [u8; MAX_WIRE_LEN]) -> usize {
    encode(req.kind(), seq, |w| write_request(w, req), out)
}

/// Encodes a response as it goes on the wire (COBS + `0x00`); returns the length used in `out`.
pub fn encode_response(seq: u16, resp: &Response, out: &mut [u8; MAX_WIRE_LEN]) -> usize {
    encode(resp.kind(), seq, |w| write_response(w, resp), out)
}

/// COBS-decodes and checks a frame; calls `parse(kind, payload)` on a good one.
fn decode<T>(
    encoded: &[u8],
    parse: impl FnOnce(u8, &[u8]) -> Result<T, WireError>,
) -> Result<(u16, T), FrameError> {
    let encoded = encoded.strip_suffix(&[0]).unwrap_or(encoded);
    if encoded.len() > MAX_ENCODED_LEN {
        return Err(FrameError {
            seq: None,
            error: WireError::FrameTooLarge,
        });
    }
    let mut raw = [0u8; MAX_ENCODED_LEN];
    let result = decode_raw(encoded, &mut raw, parse);
    raw.zeroize();
    result
}

fn decode_raw<T>(
    encoded: &[u8],
    raw: &mut [u8; MAX_ENCODED_LEN],
    parse: impl FnOnce(u8, &[u8]) -> Result<T, WireError>,
) -> Result<(u16, T), FrameError> {
    let n = cobs_decode(encoded, raw).ok_or(FrameError {
        seq: None,
        error: WireError::Malformed,
    })?;
    if n > MAX_FRAME_LEN {
        return Err(FrameError {
            seq: None,
            error: WireError::FrameTooLarge,
        });
    }
    if n < HEADER_LEN + CRC_LEN {
        return Err(FrameError {
            seq: None,
            error: WireError::Malformed,
        });
    }
    let seq = u16::from_le_bytes([raw[2], raw[3]]);
    let body = n - CRC_LEN;
    let crc = u32::from_le_bytes([raw[body], raw[body + 1], raw[body + 2], raw[body + 3]]);
    if crc32(&raw[..body]) != crc {
        return Err(FrameError {
            seq: Some(seq),
            error: WireError::BadCrc,
        });
    }
    if raw[0] != PROTOCOL_VERSION {
        return Err(FrameError {
            seq: Some(seq),
            error: WireError::UnsupportedVersion,
        });
    }
    let value = parse(raw[1], &raw[HEADER_LEN..body]).map_err(|error| FrameError {
        seq: Some(seq),
        error,
    })?;
    Ok((seq, value))
}

/// Decodes a request from one COBS-encoded frame (a trailing `0x00` is allowed).
pub fn decode_request(encoded: &[u8]) -> Result<(u16, Request), FrameError> {
    decode(encoded, read_request)
}

/// Decodes a response from one COBS-encoded frame (a trailing `0x00` is allowed).
pub fn decode_response(encoded: &[u8]) -> Result<(u16, Response), FrameError> {
    decode(encoded, read_response)
}
