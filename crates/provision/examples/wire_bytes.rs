//! Prints the bytes one token's provisioning puts on the wire, for the throughput lower bound
//! in `scripts/bench.d/line.sh`: identify, provision (20-byte seed, 8-digit serial), set time,
//! read display, lock — each request (all but Identify carry the token's 8-byte hardware id)
//! with the leading `0x00` token-link sends, COBS frame and delimiter, plus its response.
//!
//! Output: `bytes_per_token <N>` on stdout.

use token_link::token_proto::{
    encode_request, encode_response, Date, DisplayCode, FirmwareVersion, HardwareId, Info, Params,
    Provision, Request, Response, Seed, Serial, State, MAX_WIRE_LEN,
};

fn main() {
    let info = Info {
        hardware_id: HardwareId([0x5a; 8]),
        firmware: FirmwareVersion {
            major: 3,
            minor: 0,
            patch: 0,
        },
        state: State::Blank,
        credential: None,
        clock: None,
        device_key: Some([0x5a; 32]),
    };
    let provision = Provision {
        seed: Seed::new(&[0x5a; 20]).expect("20 bytes is a valid seed"),
        serial: Serial::parse("10000001").expect("valid serial"),
        expiry: Date::new(2031, 1, 31).expect("valid date"),
        params: Params::DEFAULT_TOTP,
    };
    let display = DisplayCode::new(123_456, 6, 59_000_000).expect("valid code");
    let hardware_id = info.hardware_id;
    let exchanges = [
        (Request::Identify, Response::Info(info)),
        (
            Request::Provision {
                hardware_id,
                provision,
            },
            Response::Ack,
        ),
        (
            Request::SetTime {
                hardware_id,
                unix_time: 1_790_000_000,
            },
            Response::Ack,
        ),
        (
            Request::ReadDisplay { hardware_id },
            Response::Display(display),
        ),
        (Request::Lock { hardware_id }, Response::Ack),
    ];
    let mut total = 0usize;
    let mut buf = [0u8; MAX_WIRE_LEN];
    for (i, (req, resp)) in exchanges.iter().enumerate() {
        let seq = 0x1234 + i as u16;
        total += 1 + encode_request(seq, req, &mut buf); // token-link's leading 0x00
        total += encode_response(seq, resp, &mut buf);
    }
    println!("bytes_per_token {total}");
}
