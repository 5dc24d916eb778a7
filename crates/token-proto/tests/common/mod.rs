//! Example messages shared by the golden, round-trip and no-seed tests.
#![allow(dead_code, clippy::unwrap_used)]

use token_proto::*;

/// The RFC 4226 / RFC 6238 SHA-1 test seed.
pub const RFC_SEED: &[u8] = b"12345678901234567890";

pub fn provision_totp() -> Provision {
    Provision {
        seed: Seed::new(RFC_SEED).unwrap(),
        serial: Serial::parse("10000001").unwrap(),
        expiry: Date::new(2031, 1, 31).unwrap(),
        params: Params::DEFAULT_TOTP,
    }
}

pub fn provision_hotp() -> Provision {
    Provision {
        seed: Seed::new(&[0xA5; 32]).unwrap(),
        serial: Serial::parse("SKTH12345").unwrap(),
        expiry: Date::new(2025, 1, 31).unwrap(),
        params: Params {
            hash: Hash::Sha256,
            digits: 8,
            mode: Mode::Hotp { counter: 5 },
        },
    }
}

/// The hardware id of every example token (and the address of every example request).
pub const HWID: HardwareId = HardwareId([1, 2, 3, 4, 5, 6, 7, 8]);

/// A Provision request for the example token.
pub fn provision_request(provision: Provision) -> Request {
    Request::Provision {
        hardware_id: HWID,
        provision,
    }
}

pub fn requests() -> Vec<(u16, Request)> {
    vec![
        (0x0001, Request::Identify),
        (
            0x0002,
            Request::SetTime {
                hardware_id: HWID,
                unix_time: 1_700_000_000,
            },
        ),
        (0x0003, provision_request(provision_totp())),
        (0x0103, provision_request(provision_hotp())),
        (0x0004, Request::ReadDisplay { hardware_id: HWID }),
        (0x0005, Request::Lock { hardware_id: HWID }),
        (0x0006, Request::FactoryReset { hardware_id: HWID }),
        (
            0x0007,
            Request::GenerateSealed {
                hardware_id: HWID,
                request: seal_request(),
            },
        ),
    ]
}

/// The Ed25519 public key of RFC 8032 §7.1 TEST 1 (the device key of the examples).
pub const DEVICE_KEY: [u8; 32] = [
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
];

fn h<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// GenerateSealed for serial 10000001, sealed to the bank key of spec/wire-format.md §10.5.
pub fn seal_request() -> SealRequest {
    let p = provision_totp();
    SealRequest {
        bank_public: h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
        bank_key_id: h("b4b66867b95856a0"),
        seed_len: 20,
        serial: p.serial,
        expiry: p.expiry,
        params: p.params,
    }
}

/// The sealed record of spec/wire-format.md §10.5.
pub fn sealed_example() -> Sealed {
    Sealed::from_parts(
        h("585024f914aa235f34c8b49d59faa690dc37e71a5c2b45494eb6952567774958"),
        &hex::decode("c3a0c206ef051eacf697528ff6e8daa412a5541182741f4790faba10901a14308242b75f").unwrap(),
        h("bb4fc01f6550d7f7c0a6865648d24f1da5d9c7ebbca447fb0202677c80e5efbca6d95458608224e31542108fa1ab7564e6ba82d16c70aa1143ef7f0b68014f03"),
    )
    .unwrap()
}

pub fn info_blank() -> Info {
    Info {
        hardware_id: HWID,
        firmware: FirmwareVersion {
            major: 1,
            minor: 0,
            patch: 0,
        },
        state: State::Blank,
        credential: None,
        clock: None,
        device_key: Some(DEVICE_KEY),
    }
}

pub fn info_locked() -> Info {
    let p = provision_totp();
    Info {
        hardware_id: HWID,
        firmware: FirmwareVersion {
            major: 1,
            minor: 0,
            patch: 0,
        },
        state: State::Locked,
        credential: Some(Credential {
            serial: p.serial,
            expiry: p.expiry,
            params: p.params,
        }),
        clock: Some(1_700_000_000),
        device_key: Some(DEVICE_KEY),
    }
}

pub fn responses() -> Vec<(u16, Response)> {
    let mut v = vec![
        (0x0001, Response::Info(info_blank())),
        (0x0001, Response::Info(info_locked())),
        (
            0x0001,
            Response::Info(Info {
                device_key: None,
                ..info_blank()
            }),
        ),
        (0x0002, Response::Ack),
        // RFC 4226 Appendix D, count 1
        (
            0x0004,
            Response::Display(DisplayCode::new(287082, 6, 1).unwrap()),
        ),
        // RFC 6238 Appendix B, SHA-1, T = 1 (59 s), 8 digits
        (
            0x0004,
            Response::Display(DisplayCode::new(94287082, 8, 1).unwrap()),
        ),
        // A zero-padded code: RFC 6238 Appendix B, SHA-256 at 1111111109 s → 68084774; 6-digit form 084774
        (
            0x0004,
            Response::Display(DisplayCode::new(84774, 6, 37037036).unwrap()),
        ),
        (0x0007, Response::Sealed(sealed_example())),
    ];
    for e in WireError::ALL {
        v.push((0x0009, Response::Error(e)));
    }
    v
}
