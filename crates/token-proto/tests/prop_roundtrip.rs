//! Property tests: every message round-trips through the wire format (spec/wire-format.md
//! §3–§5) with any sequence number, stays within `MAX_WIRE_LEN` with a single `0x00` at the
//! end, survives being split into any chunks by the accumulator, and a changed byte never
//! decodes to a different message.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use token_proto::*;

fn hash() -> impl Strategy<Value = Hash> {
    prop_oneof![Just(Hash::Sha1), Just(Hash::Sha256), Just(Hash::Sha512)]
}

fn params() -> impl Strategy<Value = Params> {
    let mode = prop_oneof![
        any::<u64>().prop_map(|counter| Mode::Hotp { counter }),
        (1u32..=u32::MAX, any::<u64>()).prop_map(|(period, t0)| Mode::Totp { period, t0 }),
    ];
    (hash(), 6u8..=8, mode).prop_map(|(hash, digits, mode)| Params { hash, digits, mode })
}

fn serial() -> impl Strategy<Value = Serial> {
    prop_oneof![
        "[0-9]{8,12}",
        "[0-9A-Z]{7,15}[A-Z]", // at least one letter: up to 16 characters
    ]
    .prop_map(|s| Serial::parse(&s).unwrap())
}

fn date() -> impl Strategy<Value = Date> {
    (2000u16..=2099, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap())
}

fn seed() -> impl Strategy<Value = Seed> {
    prop::collection::vec(any::<u8>(), MIN_SEED_LEN..=MAX_SEED_LEN)
        .prop_map(|b| Seed::new(&b).unwrap())
}

fn hardware_id() -> impl Strategy<Value = HardwareId> {
    any::<[u8; 8]>().prop_map(HardwareId)
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::Identify),
        (hardware_id(), any::<u64>()).prop_map(|(hardware_id, unix_time)| Request::SetTime {
            hardware_id,
            unix_time
        }),
        (hardware_id(), seed(), serial(), date(), params()).prop_map(
            |(hardware_id, seed, serial, expiry, params)| Request::Provision {
                hardware_id,
                provision: Provision {
                    seed,
                    serial,
                    expiry,
                    params,
                },
            }
        ),
        hardware_id().prop_map(|hardware_id| Request::ReadDisplay { hardware_id }),
        hardware_id().prop_map(|hardware_id| Request::Lock { hardware_id }),
        hardware_id().prop_map(|hardware_id| Request::FactoryReset { hardware_id }),
        (
            hardware_id(),
            any::<([u8; 32], [u8; 8])>(),
            16u8..=64,
            serial(),
            date(),
            params()
        )
            .prop_map(
                |(hardware_id, (bank_public, bank_key_id), seed_len, serial, expiry, params)| {
                    Request::GenerateSealed {
                        hardware_id,
                        request: SealRequest {
                            bank_public,
                            bank_key_id,
                            seed_len,
                            serial,
                            expiry,
                            params,
                        },
                    }
                }
            ),
    ]
}

fn info() -> impl Strategy<Value = Info> {
    let state = prop_oneof![
        Just(State::Blank),
        Just(State::Provisioned),
        Just(State::Locked)
    ];
    (
        hardware_id(),
        any::<(u8, u8, u8)>(),
        state,
        serial(),
        date(),
        params(),
        any::<Option<u64>>(),
        any::<Option<[u8; 32]>>(),
    )
        .prop_map(
            |(hw, (major, minor, patch), state, serial, expiry, params, clock, device_key)| Info {
                hardware_id: hw,
                firmware: FirmwareVersion {
                    major,
                    minor,
                    patch,
                },
                state,
                // A blank token has no credential; the others have one (the decoder insists).
                credential: (state != State::Blank).then_some(Credential {
                    serial,
                    expiry,
                    params,
                }),
                clock,
                device_key,
            },
        )
}

fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        info().prop_map(Response::Info),
        Just(Response::Ack),
        (6u8..=8, any::<u32>(), any::<u64>()).prop_map(|(digits, code, mf)| {
            Response::Display(
                DisplayCode::new(code % 10u32.pow(u32::from(digits)), digits, mf).unwrap(),
            )
        }),
        prop::sample::select(WireError::ALL.to_vec()).prop_map(Response::Error),
        (
            any::<[u8; 32]>(),
            prop::collection::vec(any::<u8>(), 32..=80),
            prop::collection::vec(any::<u8>(), 64)
        )
            .prop_map(|(e, ct, sig)| {
                Response::Sealed(Sealed::from_parts(e, &ct, sig.try_into().unwrap()).unwrap())
            }),
    ]
}

fn wire_req(seq: u16, r: &Request) -> Vec<u8> {
    let mut out = [0u8; MAX_WIRE_LEN];
    let n = encode_request(seq, r, &mut out);
    out[..n].to_vec()
}

fn wire_resp(seq: u16, r: &Response) -> Vec<u8> {
    let mut out = [0u8; MAX_WIRE_LEN];
    let n = encode_response(seq, r, &mut out);
    out[..n].to_vec()
}

fn well_framed(w: &[u8]) -> bool {
    w.len() <= MAX_WIRE_LEN && w.last() == Some(&0) && !w[..w.len() - 1].contains(&0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_request_round_trips(seq in any::<u16>(), req in request()) {
        let w = wire_req(seq, &req);
        prop_assert!(well_framed(&w), "{w:02x?}");
        prop_assert_eq!(decode_request(&w), Ok((seq, req.clone())));
        // Without the delimiter too.
        prop_assert_eq!(decode_request(&w[..w.len() - 1]), Ok((seq, req)));
    }

    #[test]
    fn every_response_round_trips(seq in any::<u16>(), resp in response()) {
        let w = wire_resp(seq, &resp);
        prop_assert!(well_framed(&w), "{w:02x?}");
        prop_assert_eq!(decode_response(&w), Ok((seq, resp)));
    }

    /// Any sequence of requests, cut into chunks of any size (a UART delivering a few bytes
    /// per read), comes out of the accumulator as the same frames in the same order.
    #[test]
    fn the_accumulator_reassembles_any_chunking(
        reqs in prop::collection::vec((any::<u16>(), request()), 1..6),
        cuts in prop::collection::vec(1usize..40, 1..20),
    ) {
        let stream: Vec<u8> = reqs.iter().flat_map(|(s, r)| wire_req(*s, r)).collect();
        let mut acc = Accumulator::new();
        let mut got = Vec::new();
        let mut at = 0;
        let mut i = 0;
        while at < stream.len() {
            let end = (at + cuts[i % cuts.len()]).min(stream.len());
            for &b in &stream[at..end] {
                if let Some(ev) = acc.push(b) {
                    match ev {
                        Event::Frame(f) => got.push(decode_request(f).unwrap()),
                        Event::Oversized => prop_assert!(false, "no frame is oversized"),
                    }
                }
            }
            at = end;
            i += 1;
        }
        prop_assert!(!acc.is_partial());
        prop_assert_eq!(got, reqs);
    }

    /// A byte changed anywhere in the frame (line noise) gives an error, never another
    /// message: the CRC-32 catches every error burst of up to 32 bits.
    #[test]
    fn a_changed_byte_never_decodes_to_another_message(
        seq in any::<u16>(), req in request(), at in any::<prop::sample::Index>(), flip in 1u8..=255,
    ) {
        let mut w = wire_req(seq, &req);
        let i = at.index(w.len() - 1);
        w[i] ^= flip;
        match decode_request(&w) {
            Err(e) => prop_assert!(e.error != WireError::UnknownMessage || e.seq.is_some()),
            Ok(other) => prop_assert!(false, "damaged frame decoded as {other:?}"),
        }
    }
}
