//! Golden bytes for every message: the exact wire bytes (COBS frame + `0x00`) that
//! spec/wire-format.md §8 shows. A change here is a protocol change.
#![allow(clippy::unwrap_used)]

mod common;

use token_proto::*;

fn wire_request(seq: u16, r: &Request) -> String {
    let mut out = [0u8; MAX_WIRE_LEN];
    let n = encode_request(seq, r, &mut out);
    hex::encode(&out[..n])
}

fn wire_response(seq: u16, r: &Response) -> String {
    let mut out = [0u8; MAX_WIRE_LEN];
    let n = encode_response(seq, r, &mut out);
    hex::encode(&out[..n])
}

const REQUESTS: [&str; 7] = [
    // Identify, seq 1
    "04010101050fe3218100",
    // SetTime 1700000000 (2023-11-14T22:13:20Z), seq 2
    "040102020104f1536501010105f55028a500",
    // Provision: RFC seed "12345678901234567890", serial 10000001, expiry 2031-01-31,
    // TOTP SHA-1 6 digits 30 s T0 0, seq 3
    "0401030323143132333435363738393031323334353637383930083130303030303031ef07011f0406011e0101010101010101010105113cb81500",
    // Provision: 32 x 0xA5, serial SKTH12345, expiry 2025-01-31, HOTP SHA-256 8 digits counter 5, seq 0x0103
    "360103030120a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a509534b54483132333435e907011f010801010101020501010101010105b341eced00",
    // ReadDisplay, seq 4
    "0401040405a1d59dfa00",
    // Lock, seq 5
    "0401050505d78e44e200",
    // FactoryReset, seq 6
    "04010606054d632fcb00",
];

const RESPONSES: [&str; 21] = [
    // Info: blank token 0102030405060708, firmware 1.0.0, clock not set, seq 1
    "040181010a0102030405060708010101010105cc3b5a4600",
    // Info: locked, serial 10000001, expiry 2031-01-31, TOTP SHA-1/6/30/0, clock 1700000000, seq 1
    "040181010a01020304050607080101100201083130303030303031ef07011f0406011e01010101010101010101020104f1536501010105093b752c00",
    // Ack, seq 2
    "040182020515157f4900",
    // Display "287082" (RFC 4226 Appendix D, counter 1), seq 4
    "04018304090632383730383201010101010101052381a5f000",
    // Display "94287082" (RFC 6238 Appendix B, SHA-1, T = 1), seq 4
    "040183040b0839343238373038320101010101010105ca86169700",
    // Display "084774" (zero-padded), moving factor 37037036, seq 4
    "040183040c06303834373734ec233502010101053576880500",
    // Error, seq 9, one per WireError in code order
    "0401ff09060145d3915d00",
    "0401ff090602ff8298c400",
    "0401ff09060369b29fb300",
    "0401ff090604ca27fb2d00",
    "0401ff0906055c17fc5a00",
    "0401ff090610b7f3213700",
    "0401ff09061121c3264000",
    "0401ff0906129b922fd900",
    "0401ff0906130da228ae00",
    "0401ff0906201bc3f81100",
    "0401ff0906218df3ff6600",
    "0401ff09062237a2f6ff00",
    "0401ff090623a192f18800",
    "0401ff0906240207951600",
    "0401ff0906307fd34f0c00",
];

#[test]
fn every_request_encodes_to_its_golden_bytes_and_back() {
    let reqs = common::requests();
    assert_eq!(reqs.len(), REQUESTS.len());
    for ((seq, req), golden) in reqs.iter().zip(REQUESTS) {
        assert_eq!(wire_request(*seq, req), golden, "{}", req.name());
        let bytes = hex::decode(golden).unwrap();
        assert_eq!(decode_request(&bytes).unwrap(), (*seq, req.clone()));
    }
}

#[test]
fn every_response_encodes_to_its_golden_bytes_and_back() {
    let resps = common::responses();
    assert_eq!(resps.len(), RESPONSES.len());
    for ((seq, resp), golden) in resps.iter().zip(RESPONSES) {
        assert_eq!(wire_response(*seq, resp), golden, "{resp:?}");
        let bytes = hex::decode(golden).unwrap();
        assert_eq!(decode_response(&bytes).unwrap(), (*seq, resp.clone()));
    }
}

#[test]
fn every_request_kind_and_every_error_code_has_a_golden_example() {
    let kinds: Vec<u8> = common::requests().iter().map(|(_, r)| r.kind()).collect();
    for k in 1..=6u8 {
        assert!(kinds.contains(&k), "request kind {k:#04x}");
    }
    let errors: Vec<WireError> = common::responses()
        .into_iter()
        .filter_map(|(_, r)| {
            if let Response::Error(e) = r {
                Some(e)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(errors, WireError::ALL);
}

#[test]
fn crc_is_crc32_iso_hdlc() {
    // The catalogue check value of CRC-32/ISO-HDLC.
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn identify_frame_before_cobs_is_header_plus_crc() {
    // version 1, kind 0x01, seq 0x0001 LE, CRC-32 0x8121E30F LE.
    let mut raw = [0u8; MAX_FRAME_LEN];
    let n = cobs_decode(&hex::decode("04010101050fe32181").unwrap(), &mut raw).unwrap();
    assert_eq!(hex::encode(&raw[..n]), "010101000fe32181");
}

#[test]
fn cobs_matches_the_paper_examples() {
    // Cheshire & Baker (1999) / Wikipedia examples.
    let cases: [(&[u8], &[u8]); 4] = [
        (&[0x00], &[0x01, 0x01]),
        (&[0x00, 0x00], &[0x01, 0x01, 0x01]),
        (&[0x11, 0x22, 0x00, 0x33], &[0x03, 0x11, 0x22, 0x02, 0x33]),
        (&[0x11, 0x00, 0x00, 0x00], &[0x02, 0x11, 0x01, 0x01, 0x01]),
    ];
    for (plain, enc) in cases {
        let mut buf = [0u8; 16];
        let n = cobs_encode(plain, &mut buf).unwrap();
        assert_eq!(&buf[..n], enc);
        let m = cobs_decode(enc, &mut buf).unwrap();
        assert_eq!(&buf[..m], plain);
    }
    // 254 non-zero bytes: one full block.
    let plain: Vec<u8> = (1..=254u8).collect();
    let mut buf = [0u8; 300];
    let n = cobs_encode(&plain, &mut buf).unwrap();
    assert_eq!(buf[0], 0xFF);
    let mut back = [0u8; 300];
    let m = cobs_decode(&buf[..n], &mut back).unwrap();
    assert_eq!(&back[..m], &plain[..]);
}
