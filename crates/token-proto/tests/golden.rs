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

// Protocol version 3 (every request but Identify carries its target hardware id; Identify
// reports the device key; GenerateSealed / Sealed). Computed independently of this crate by
// scripts/interop/wire_golden.py (zlib.crc32, a COBS encoder written from the paper, the
// sealed record from Python's `cryptography`); `wire_golden.py --check` compares them with
// this file.
const REQUESTS: [&str; 8] = [
    // Identify, seq 1
    "0403010105842b282b00",
    // SetTime 1700000000 (2023-11-14T22:13:20Z) to token 0102030405060708, seq 2
    "0403020209010203040506070804f15365010101054363f95b00",
    // Provision to token 0102030405060708: RFC seed "12345678901234567890", serial 10000001,
    // expiry 2031-01-31, TOTP SHA-1 6 digits 30 s T0 0, seq 3
    "040303032b0102030405060708143132333435363738393031323334353637383930083130303030303031ef07011f0406011e01010101010101010101057421747b00",
    // Provision to token 0102030405060708: 32 x 0xA5, serial SKTH12345, expiry 2025-01-31,
    // HOTP SHA-256 8 digits counter 5, seq 0x0103
    "3e03030301010203040506070820a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a509534b54483132333435e907011f010801010101020501010101010105acfa908200",
    // ReadDisplay on token 0102030405060708, seq 4
    "040304040d0102030405060708cb9091ef00",
    // Lock token 0102030405060708, seq 5
    "040305050d01020304050607083524ddc100",
    // FactoryReset token 0102030405060708, seq 6
    "040306060d010203040506070837f908b300",
    // GenerateSealed on token 0102030405060708: 20-byte seed, serial 10000001, expiry 2031-01-31,
    // TOTP SHA-1/6/30/0, sealed to the bank key of spec §10.5 (key id b4b66867b95856a0), seq 7
    "040307073f0102030405060708de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4fb4b66867b95856a014083130303030303031ef07011f0406011e0101010101010101010104561f9c0100",
];

const RESPONSES: [&str; 26] = [
    // Info: blank token 0102030405060708, firmware 1.0.0, clock not set, device key of RFC 8032 TEST 1, seq 1
    "040381010a010203040506070801010101012601d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511addcbd32c00",
    // Info: locked, serial 10000001, expiry 2031-01-31, TOTP SHA-1/6/30/0, clock 1700000000, device key, seq 1
    "040381010a01020304050607080101100201083130303030303031ef07011f0406011e01010101010101010101020104f153650101012601d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a3111e54600",
    // Info: blank, no device key (its RNG failed), seq 1
    "040381010a010203040506070801010101010105dc3d223400",
    // Ack, seq 2
    "04038202059edd76e300",
    // Display "287082" (RFC 4226 Appendix D, counter 1), seq 4
    "0403830409063238373038320101010101010105d287118400",
    // Display "94287082" (RFC 6238 Appendix B, SHA-1, T = 1), seq 4
    "040383040b0839343238373038320101010101010105b787d27300",
    // Display "084774" (zero-padded), moving factor 37037036, seq 4
    "040383040c06303834373734ec23350201010105c4703c7100",
    // Sealed: the record of spec §10.5, seq 7
    "040384078a585024f914aa235f34c8b49d59faa690dc37e71a5c2b45494eb695256777495824c3a0c206ef051eacf697528ff6e8daa412a5541182741f4790faba10901a14308242b75fbb4fc01f6550d7f7c0a6865648d24f1da5d9c7ebbca447fb0202677c80e5efbca6d95458608224e31542108fa1ab7564e6ba82d16c70aa1143ef7f0b68014f03e9c93b1f00",
    // Error, seq 9, one per WireError in code order
    "0403ff0906012580512700",
    "0403ff0906029fd158be00",
    "0403ff09060309e15fc900",
    "0403ff090604aa743b5700",
    "0403ff0906053c443c2000",
    "0403ff090610d7a0e14d00",
    "0403ff0906114190e63a00",
    "0403ff090612fbc1efa300",
    "0403ff0906136df1e8d400",
    "0403ff090614ce648c4a00",
    "0403ff0906207b90386b00",
    "0403ff090621eda03f1c00",
    "0403ff09062257f1368500",
    "0403ff090623c1c131f200",
    "0403ff0906246254556c00",
    "0403ff090625f464521b00",
    "0403ff0906301f808f7600",
    "0403ff09063189b0880100",
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
    for k in 1..=7u8 {
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
    // version 3, kind 0x01, seq 0x0001 LE, CRC-32 0x2B282B84 LE.
    let mut raw = [0u8; MAX_FRAME_LEN];
    let n = cobs_decode(&hex::decode("0403010105842b282b").unwrap(), &mut raw).unwrap();
    assert_eq!(hex::encode(&raw[..n]), "03010100842b282b");
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

#[test]
fn a_version_1_lock_is_refused_as_an_unsupported_version() {
    // The unaddressed Lock of protocol version 1 (seq 5): a version-2 token must not act on it.
    let v1_lock = hex::decode("0401050505d78e44e200").unwrap();
    assert_eq!(
        decode_request(&v1_lock).unwrap_err(),
        FrameError {
            seq: Some(5),
            error: WireError::UnsupportedVersion
        }
    );
}

#[test]
fn a_version_2_lock_is_refused_as_an_unsupported_version() {
    // The version-2 Lock of token 0102030405060708 (seq 5): a version-3 token must not act on
    // it (a version-2 host would not understand a device key or a sealed record).
    let v2_lock = hex::decode("040205050d01020304050607085a68785a00").unwrap();
    assert_eq!(
        decode_request(&v2_lock).unwrap_err(),
        FrameError {
            seq: Some(5),
            error: WireError::UnsupportedVersion
        }
    );
}
