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

// Protocol version 2 (every request but Identify carries its target hardware id). The CRCs
// were computed independently of this crate, with Python's zlib.crc32 and a COBS encoder
// written from the paper.
const REQUESTS: [&str; 7] = [
    // Identify, seq 1
    "0402010105e14c949300",
    // SetTime 1700000000 (2023-11-14T22:13:20Z) to token 0102030405060708, seq 2
    "0402020209010203040506070804f153650101010505589e3e00",
    // Provision to token 0102030405060708: RFC seed "12345678901234567890", serial 10000001,
    // expiry 2031-01-31, TOTP SHA-1 6 digits 30 s T0 0, seq 3
    "040203032b0102030405060708143132333435363738393031323334353637383930083130303030303031ef07011f0406011e01010101010101010101054b6cb90600",
    // Provision to token 0102030405060708: 32 x 0xA5, serial SKTH12345, expiry 2025-01-31,
    // HOTP SHA-256 8 digits counter 5, seq 0x0103
    "3e02030301010203040506070820a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a509534b54483132333435e907011f010801010101020501010101010105f71bdf6500",
    // ReadDisplay on token 0102030405060708, seq 4
    "040204040d0102030405060708a4dc347400",
    // Lock token 0102030405060708, seq 5
    "040205050d01020304050607085a68785a00",
    // FactoryReset token 0102030405060708, seq 6
    "040206060d010203040506070858b5ad2800",
];

const RESPONSES: [&str; 22] = [
    // Info: blank token 0102030405060708, firmware 1.0.0, clock not set, seq 1
    "040281010a0102030405060708010101010105aee6dcac00",
    // Info: locked, serial 10000001, expiry 2031-01-31, TOTP SHA-1/6/30/0, clock 1700000000, seq 1
    "040281010a01020304050607080101100201083130303030303031ef07011f0406011e01010101010101010101020104f1536501010105d3c19b2e00",
    // Ack, seq 2
    "0402820205fbbaca5b00",
    // Display "287082" (RFC 4226 Appendix D, counter 1), seq 4
    "04028304090632383730383201010101010101058a07f35300",
    // Display "94287082" (RFC 6238 Appendix B, SHA-1, T = 1), seq 4
    "040283040b0839343238373038320101010101010105290408ec00",
    // Display "084774" (zero-padded), moving factor 37037036, seq 4
    "040283040c06303834373734ec233502010101059cf0dea600",
    // Error, seq 9, one per WireError in code order
    "0402ff09060195a9311a00",
    "0402ff0906022ff8388300",
    "0402ff090603b9c83ff400",
    "0402ff0906041a5d5b6a00",
    "0402ff0906058c6d5c1d00",
    "0402ff0906106789817000",
    "0402ff090611f1b9860700",
    "0402ff0906124be88f9e00",
    "0402ff090613ddd888e900",
    "0402ff0906147e4dec7700",
    "0402ff090620cbb9585600",
    "0402ff0906215d895f2100",
    "0402ff090622e7d856b800",
    "0402ff09062371e851cf00",
    "0402ff090624d27d355100",
    "0402ff090630afa9ef4b00",
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
    // version 2, kind 0x01, seq 0x0001 LE, CRC-32 0x93944CE1 LE.
    let mut raw = [0u8; MAX_FRAME_LEN];
    let n = cobs_decode(&hex::decode("0402010105e14c9493").unwrap(), &mut raw).unwrap();
    assert_eq!(hex::encode(&raw[..n]), "02010100e14c9493");
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
