//! Seeds born on the token (issue #12): the bank's readers of untrusted sealed data on
//! arbitrary bytes — a sealed `.tlseed` (`seedfile::sealed::read` then `open` with a fixed
//! bank key and device list), a signed device list (`DeviceList::from_signed_text`) — and the
//! GenerateSealed / Sealed messages built from the input, through the wire codec.
//!
//! Invariants: nothing panics; a sealed file that reads re-encodes to the same records; a
//! forged record never opens (the fuzzer cannot produce the bank's or a device's signature);
//! a GenerateSealed or Sealed message round-trips through encode/decode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otp_core::Params;
use seedfile::devices::DeviceList;
use seedfile::sealed;
use token_proto::{
    decode_request, decode_response, encode_request, encode_response, Date, HardwareId, Request,
    Response, SealRequest, Sealed, Serial, MAX_WIRE_LEN,
};

fuzz_target!(|data: &[u8]| {
    let (kind, rest) = match data.split_first() {
        Some(x) => x,
        None => return,
    };
    match kind % 4 {
        0 => {
            if let Ok((header, records)) = sealed::read(rest) {
                let bank = seedfile::PrivateKey::from_bytes([0x42; 32]);
                let mut devices = DeviceList::new();
                for r in &records {
                    let _ = devices.add(&hex::encode(r.hardware_id), r.device_key);
                }
                // Forged input cannot carry a valid device signature over the bank's key.
                assert!(
                    sealed::open(&header, &records, &bank, &devices).is_err() || records.is_empty()
                );
                let mut w = sealed::Writer::new(
                    Vec::new(),
                    &bank.public_key(),
                    &header.batch,
                    records.len() as u64,
                    header.created_unix,
                )
                .expect("header");
                for r in &records {
                    if w.write(r).is_err() {
                        return;
                    }
                }
                let bytes = w.finish().expect("count matches");
                let (_, again) = sealed::read(&bytes[..]).expect("our own file reads");
                assert_eq!(again, records, "sealed record round trip");
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = DeviceList::from_signed_text(text, &[7; 32]);
            }
        }
        _ => {
            // A GenerateSealed and a Sealed message from the input bytes.
            let mut b = rest.iter().copied().chain(std::iter::repeat(0));
            let mut take = |n: usize| -> Vec<u8> { (&mut b).take(n).collect() };
            let bank_public: [u8; 32] = take(32).try_into().expect("32");
            let bank_key_id: [u8; 8] = take(8).try_into().expect("8");
            let seed_len = 16 + take(1)[0] % 49;
            let hw: [u8; 8] = take(8).try_into().expect("8");
            let req = Request::GenerateSealed {
                hardware_id: HardwareId(hw),
                request: SealRequest {
                    bank_public,
                    bank_key_id,
                    seed_len,
                    serial: Serial::parse("10000001").expect("serial"),
                    expiry: Date::new(2031, 1, 31).expect("date"),
                    params: Params::DEFAULT_TOTP,
                },
            };
            let mut out = [0u8; MAX_WIRE_LEN];
            let n = encode_request(9, &req, &mut out);
            assert_eq!(decode_request(&out[..n]), Ok((9, req)));
            let eph: [u8; 32] = take(32).try_into().expect("32");
            let ct_len = 32 + usize::from(take(1)[0]) % 49;
            let ct = take(ct_len);
            let sig: [u8; 64] = take(64).try_into().expect("64");
            let resp = Response::Sealed(Sealed::from_parts(eph, &ct, sig).expect("32..=80"));
            let n = encode_response(9, &resp, &mut out);
            assert_eq!(decode_response(&out[..n]), Ok((9, resp)));
        }
    }
});
