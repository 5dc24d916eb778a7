//! Round trips, corruption, malformed and oversized frames, and the accumulator.
#![allow(clippy::unwrap_used)]

mod common;

use token_proto::*;

fn encode_req(seq: u16, r: &Request) -> Vec<u8> {
    let mut out = [0u8; MAX_WIRE_LEN];
    let n = encode_request(seq, r, &mut out);
    out[..n].to_vec()
}

/// Re-frames `raw` (header + payload, CRC appended here) as wire bytes.
fn frame(raw: &[u8]) -> Vec<u8> {
    let mut v = raw.to_vec();
    v.extend_from_slice(&crc32(raw).to_le_bytes());
    let mut out = vec![0u8; v.len() + v.len() / 254 + 2];
    let n = cobs_encode(&v, &mut out).unwrap();
    out.truncate(n);
    out
}

#[test]
fn every_single_bit_flip_in_any_request_is_detected() {
    for (seq, req) in common::requests() {
        let wire = encode_req(seq, &req);
        let body = &wire[..wire.len() - 1];
        for i in 0..body.len() {
            for bit in 0..8 {
                let mut bad = body.to_vec();
                bad[i] ^= 1 << bit;
                let err = decode_request(&bad).unwrap_err();
                assert!(
                    matches!(err.error, WireError::BadCrc | WireError::Malformed),
                    "{} byte {i} bit {bit}: {err:?}",
                    req.name()
                );
            }
        }
    }
}

#[test]
fn bad_crc_reports_the_sequence_number_it_read() {
    let mut wire = encode_req(0x0042, &Request::Identify);
    let n = wire.len();
    wire[n - 2] ^= 0x01; // inside the CRC
    let err = decode_request(&wire).unwrap_err();
    assert_eq!(
        err,
        FrameError {
            seq: Some(0x0042),
            error: WireError::BadCrc
        }
    );
}

#[test]
fn unknown_version_kind_and_trailing_bytes_are_refused() {
    // A version-1 or -2 frame (before addressing, before sealed seeds) is refused as such.
    for version in [1, 2, 4, 0xFF] {
        let e = decode_request(&frame(&[version, 0x01, 7, 0])).unwrap_err();
        assert_eq!(
            e,
            FrameError {
                seq: Some(7),
                error: WireError::UnsupportedVersion
            }
        );
    }
    let e = decode_request(&frame(&[3, 0x42, 7, 0])).unwrap_err();
    assert_eq!(e.error, WireError::UnknownMessage);
    let e = decode_request(&frame(&[3, 0x01, 7, 0, 0xAA])).unwrap_err();
    assert_eq!(e.error, WireError::Malformed);
    let e = decode_request(&frame(&[3, 0x02, 7, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3])).unwrap_err();
    assert_eq!(e.error, WireError::Malformed, "short SetTime");
    let e = decode_request(&[0x03, 0x01]).unwrap_err();
    assert_eq!(
        e,
        FrameError {
            seq: None,
            error: WireError::Malformed
        }
    );
}

#[test]
fn a_write_without_its_hardware_id_is_malformed() {
    // Version 1's empty Lock / ReadDisplay / FactoryReset payloads, sent with version 3.
    for kind in [0x04, 0x05, 0x06] {
        let e = decode_request(&frame(&[3, kind, 7, 0])).unwrap_err();
        assert_eq!(e.error, WireError::Malformed, "kind {kind:#04x}");
        // 7 of the 8 address bytes.
        let e = decode_request(&frame(&[3, kind, 7, 0, 1, 2, 3, 4, 5, 6, 7])).unwrap_err();
        assert_eq!(e.error, WireError::Malformed, "kind {kind:#04x}");
    }
    // SetTime with the time but no address: 8 bytes are read as the address, then the time
    // is missing.
    let e = decode_request(&frame(&[3, 0x02, 7, 0, 0, 0xf1, 0x53, 0x65, 0, 0, 0, 0])).unwrap_err();
    assert_eq!(e.error, WireError::Malformed);
}

#[test]
fn every_request_but_identify_names_its_target() {
    for (_, req) in common::requests() {
        let want = (req.kind() != 0x01).then_some(common::HWID);
        assert_eq!(req.target(), want, "{}", req.name());
    }
}

#[test]
fn provision_field_errors_name_the_field() {
    let good = encode_req(1, &common::provision_request(common::provision_totp()));
    let mut raw = [0u8; MAX_ENCODED_LEN];
    let n = cobs_decode(&good[..good.len() - 1], &mut raw).unwrap();
    let raw = &raw[..n - CRC_LEN];
    // header 4, hardware id 8, then the credential
    let body = 4 + 8;
    // seed length 0
    let mut r = raw[..body].to_vec();
    r.push(0);
    r.extend_from_slice(&raw[body + 1 + 20..]);
    assert_eq!(
        decode_request(&frame(&r)).unwrap_err().error,
        WireError::InvalidSeedLength
    );
    // serial with a lower-case letter
    let mut r = raw.to_vec();
    r[body + 1 + 20 + 1] = b'a';
    assert_eq!(
        decode_request(&frame(&r)).unwrap_err().error,
        WireError::InvalidSerial
    );
    // expiry 2031-02-30
    let mut r = raw.to_vec();
    let at = body + 1 + 20 + 1 + 8;
    r[at + 2] = 2;
    r[at + 3] = 30;
    assert_eq!(
        decode_request(&frame(&r)).unwrap_err().error,
        WireError::InvalidExpiry
    );
    // 9 digits
    let mut r = raw.to_vec();
    r[at + 4 + 1] = 9;
    assert_eq!(
        decode_request(&frame(&r)).unwrap_err().error,
        WireError::InvalidParams
    );
    // TOTP period 0
    let mut r = raw.to_vec();
    r[at + 4 + 3] = 0;
    assert_eq!(
        decode_request(&frame(&r)).unwrap_err().error,
        WireError::InvalidParams
    );
}

#[test]
fn inconsistent_info_is_malformed() {
    // State blank but a credential present.
    let mut out = [0u8; MAX_WIRE_LEN];
    let mut info = common::info_locked();
    info.state = State::Blank;
    let n = encode_response(1, &Response::Info(info), &mut out);
    assert_eq!(
        decode_response(&out[..n]).unwrap_err().error,
        WireError::Malformed
    );
}

#[test]
fn accumulator_splits_chunked_input_and_skips_empty_frames() {
    let a = encode_req(1, &Request::Identify);
    let b = encode_req(2, &common::provision_request(common::provision_totp()));
    let mut stream = vec![0, 0];
    stream.extend_from_slice(&a);
    stream.push(0);
    stream.extend_from_slice(&b);
    let mut acc = Accumulator::new();
    let mut got = Vec::new();
    for chunk in stream.chunks(3) {
        for &byte in chunk {
            if let Some(Event::Frame(f)) = acc.push(byte) {
                got.push(decode_request(f).unwrap().0);
            }
        }
    }
    assert_eq!(got, vec![1, 2]);
}

#[test]
fn accumulator_reports_an_oversized_frame_once_and_recovers() {
    let mut acc = Accumulator::new();
    let mut events = 0;
    for _ in 0..(MAX_ENCODED_LEN * 3) {
        assert_eq!(acc.push(0x55), None);
    }
    if let Some(Event::Oversized) = acc.push(0) {
        events += 1;
    }
    assert_eq!(events, 1);
    let lock = Request::Lock {
        hardware_id: common::HWID,
    };
    let good = encode_req(9, &lock);
    let mut last = None;
    for &b in &good {
        if let Some(Event::Frame(f)) = acc.push(b) {
            last = Some(decode_request(f).unwrap());
        }
    }
    assert_eq!(last, Some((9, lock)));
}

#[test]
fn a_frame_of_exactly_the_maximum_length_is_accepted_by_the_accumulator() {
    let mut acc = Accumulator::new();
    for _ in 0..MAX_ENCODED_LEN {
        assert_eq!(acc.push(0x01), None);
    }
    assert!(matches!(acc.push(0), Some(Event::Frame(f)) if f.len() == MAX_ENCODED_LEN));
}

#[test]
fn the_largest_message_fits_the_limits() {
    let p = Provision {
        seed: Seed::new(&[0xFF; MAX_SEED_LEN]).unwrap(),
        serial: Serial::parse("ABCDEFGHIJKLMNOP").unwrap(),
        ..common::provision_totp()
    };
    let req = common::provision_request(p);
    let wire = encode_req(0xFFFE, &req);
    assert!(wire.len() <= MAX_WIRE_LEN);
    assert_eq!(decode_request(&wire).unwrap(), (0xFFFE, req));
}

#[test]
fn serials_follow_the_label_rules() {
    for ok in [
        "23456789",
        "123456789012",
        "SKTH12345",
        "SKTS00001",
        "ABCDEFGHIJKLMNOP",
    ] {
        assert!(Serial::parse(ok).is_ok(), "{ok}");
    }
    assert_eq!(Serial::parse("1234567"), Err(InvalidSerial::Length(7)));
    assert_eq!(
        Serial::parse("1234567890123"),
        Err(InvalidSerial::Length(13))
    );
    assert_eq!(Serial::parse("skth12345"), Err(InvalidSerial::Character(0)));
    assert_eq!(
        Serial::parse("SKTH-12345"),
        Err(InvalidSerial::Character(4))
    );
}

#[test]
fn dates_are_real_calendar_days() {
    assert!(Date::new(2024, 2, 29).is_ok());
    assert!(Date::new(2023, 2, 29).is_err());
    assert!(Date::new(2000, 2, 29).is_ok());
    assert!(Date::new(2031, 4, 31).is_err());
    assert!(Date::new(1999, 12, 31).is_err());
    assert_eq!(Date::new(2031, 1, 31).unwrap().to_string(), "2031-01-31");
}

#[test]
fn seed_debug_is_redacted() {
    let s = Seed::new(common::RFC_SEED).unwrap();
    let dbg = format!("{:?}", common::provision_request(common::provision_totp()));
    assert_eq!(format!("{s:?}"), "Seed([REDACTED; 20 bytes])");
    assert!(!dbg.contains("1234567890"), "{dbg}");
    assert!(Seed::new(&[]).is_err());
    assert!(Seed::new(&[1; 65]).is_err());
}
