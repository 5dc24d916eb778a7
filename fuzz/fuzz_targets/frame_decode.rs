//! The frame decoder and accumulator on arbitrary bytes (spec/wire-format.md §3–§5).
//!
//! Invariants: nothing panics; the accumulator never hands out more than `MAX_ENCODED_LEN`
//! bytes; every frame that decodes re-encodes to a frame that decodes to the same message
//! and sequence number; COBS decode → encode → decode is the identity.
#![no_main]

use libfuzzer_sys::fuzz_target;
use token_proto::{
    cobs_decode, cobs_encode, decode_request, decode_response, encode_request, encode_response,
    Accumulator, Event, MAX_ENCODED_LEN, MAX_WIRE_LEN,
};

fn check_frame(frame: &[u8]) {
    if let Ok((seq, req)) = decode_request(frame) {
        let mut out = [0u8; MAX_WIRE_LEN];
        let n = encode_request(seq, &req, &mut out);
        assert_eq!(
            decode_request(&out[..n]),
            Ok((seq, req)),
            "request round trip"
        );
    }
    if let Ok((seq, resp)) = decode_response(frame) {
        let mut out = [0u8; MAX_WIRE_LEN];
        let n = encode_response(seq, &resp, &mut out);
        assert_eq!(
            decode_response(&out[..n]),
            Ok((seq, resp)),
            "response round trip"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    // The whole input as one frame (a trailing 0x00 is allowed by the decoders).
    check_frame(data);

    // The input as a byte stream, split into frames by the accumulator.
    let mut acc = Accumulator::new();
    for &b in data {
        match acc.push(b) {
            Some(Event::Frame(f)) => {
                assert!(!f.is_empty() && f.len() <= MAX_ENCODED_LEN && !f.contains(&0));
                let f = f.to_vec();
                check_frame(&f);
            }
            Some(Event::Oversized) | None => {}
        }
    }

    // COBS on its own: decode, encode, decode again gives the same bytes.
    let mut raw = [0u8; 4 * MAX_ENCODED_LEN];
    let body = data.strip_suffix(&[0]).unwrap_or(data);
    if body.len() <= MAX_ENCODED_LEN {
        if let Some(n) = cobs_decode(body, &mut raw) {
            let mut enc = [0u8; 4 * MAX_ENCODED_LEN];
            let m = cobs_encode(&raw[..n], &mut enc).expect("room for the encoding");
            assert!(!enc[..m].contains(&0), "COBS output holds no 0x00");
            let mut again = [0u8; 4 * MAX_ENCODED_LEN];
            let k = cobs_decode(&enc[..m], &mut again).expect("our own encoding decodes");
            assert_eq!(&again[..k], &raw[..n], "COBS round trip");
        }
    }
});
