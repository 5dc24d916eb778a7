//! No response can carry a seed (DOMAIN.md §1: "locks it so the seed can never be changed
//! or read again"). The type system enforces it — no `Response` variant, nor `Info`,
//! `Credential` or `DisplayCode`, has a field of type `Seed` — and this test checks the
//! bytes: a known seed's bytes never appear in any encoded response.
#![allow(clippy::unwrap_used)]

mod common;

use token_proto::*;

/// Every response variant, exhaustively: adding a variant breaks this match until it is
/// listed here (and so examined for secrets).
fn examples(r: &Response) -> &'static str {
    match r {
        Response::Info(Info {
            hardware_id: _,
            firmware: _,
            state: _,
            credential: _,
            clock: _,
            device_key: _,
        }) => "info",
        Response::Ack => "ack",
        Response::Display(_) => "display",
        Response::Error(_) => "error",
        // Its seed is the §10.5 example's, RFC_SEED, under AES-256-GCM: the byte search below
        // must not find it.
        Response::Sealed(_) => "sealed",
    }
}

#[test]
fn no_response_contains_the_seed_bytes() {
    let seed = common::RFC_SEED;
    let mut out = [0u8; MAX_WIRE_LEN];
    let mut raw = [0u8; MAX_ENCODED_LEN];
    let mut seen = std::collections::BTreeSet::new();
    for (seq, resp) in common::responses() {
        seen.insert(examples(&resp));
        let n = encode_response(seq, &resp, &mut out);
        let m = cobs_decode(&out[..n - 1], &mut raw).unwrap();
        for hay in [&out[..n], &raw[..m]] {
            // Not the whole seed, and not any 4-byte window of it.
            assert!(
                !hay.windows(4).any(|w| seed.windows(4).any(|s| s == w)),
                "{resp:?}"
            );
        }
    }
    assert_eq!(seen.len(), 5, "every response variant was encoded");
}

#[test]
fn the_provision_request_does_carry_the_seed_so_the_check_can_fail() {
    // The same search finds the seed where it *is*: in the host → token Provision frame.
    let mut out = [0u8; MAX_WIRE_LEN];
    let n = encode_request(
        3,
        &common::provision_request(common::provision_totp()),
        &mut out,
    );
    assert!(out[..n]
        .windows(common::RFC_SEED.len())
        .any(|w| w == common::RFC_SEED));
}
