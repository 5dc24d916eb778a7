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
    ]
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
    }
}

pub fn responses() -> Vec<(u16, Response)> {
    let mut v = vec![
        (0x0001, Response::Info(info_blank())),
        (0x0001, Response::Info(info_locked())),
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
    ];
    for e in WireError::ALL {
        v.push((0x0009, Response::Error(e)));
    }
    v
}
