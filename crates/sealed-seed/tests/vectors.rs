//! The worked example of spec/wire-format.md §10.5, byte for byte (the same values
//! `scripts/interop/sealed_vectors.py` computes with Python's `cryptography`), and the
//! refusals the bank relies on: a record moved to another serial, a substituted bank key,
//! a flipped byte.
#![allow(clippy::unwrap_used)]

use otp_core::{Hash, Mode, Params};
use sealed_seed::{seal, x25519_public, Binding, DeviceKey, SealError, Sealed};

const SEED: &[u8] = b"12345678901234567890";
const BANK_SECRET: &str = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
const DEVICE_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

fn arr(h: &str) -> [u8; 32] {
    hex::decode(h).unwrap().try_into().unwrap()
}

fn binding(serial: &[u8]) -> Binding<'_> {
    Binding {
        serial,
        hardware_id: [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef],
        expiry: (2031, 1, 31),
        params: Params {
            hash: Hash::Sha1,
            digits: 6,
            mode: Mode::Totp { period: 30, t0: 0 },
        },
        bank_key_id: hex::decode("b4b66867b95856a0").unwrap().try_into().unwrap(),
    }
}

fn example() -> (Sealed, [u8; 32], DeviceKey) {
    let bank_public = x25519_public(&arr(BANK_SECRET));
    let device = DeviceKey::from_secret(&arr(DEVICE_SECRET));
    (
        seal(SEED, &bank_public, &binding(b"23456789"), &device).unwrap(),
        bank_public,
        device,
    )
}

#[test]
fn worked_example_matches_the_spec_bytes() {
    let (sealed, bank_public, device) = example();
    assert_eq!(
        hex::encode(bank_public),
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
    );
    assert_eq!(
        hex::encode(binding(b"23456789").associated_data().unwrap().as_bytes()),
        "746f6b656e6c696e652d7365616c65642f76310832333435363738390123456789abcdefef07011f0006011e0000000000000000000000b4b66867b95856a0"
    );
    assert_eq!(
        hex::encode(sealed.ephemeral_public),
        "585024f914aa235f34c8b49d59faa690dc37e71a5c2b45494eb6952567774958"
    );
    assert_eq!(
        hex::encode(sealed.ciphertext()),
        "c3a0c206ef051eacf697528ff6e8daa412a5541182741f4790faba10901a14308242b75f"
    );
    // RFC 8032 §7.1 TEST 1's public key: the device key is plain Ed25519.
    assert_eq!(
        hex::encode(device.public()),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    assert_eq!(
        hex::encode(sealed.signature),
        "bb4fc01f6550d7f7c0a6865648d24f1da5d9c7ebbca447fb0202677c80e5efbca6d95458608224e31542108fa1ab7564e6ba82d16c70aa1143ef7f0b68014f03"
    );
}

#[test]
fn the_bank_opens_the_seed_and_the_signature_verifies() {
    let (sealed, bank_public, device) = example();
    let mut out = [0u8; 64];
    let n = sealed
        .open(&arr(BANK_SECRET), &binding(b"23456789"), &mut out)
        .unwrap();
    assert_eq!(&out[..n], SEED);
    sealed
        .verify(&device.public(), &bank_public, &binding(b"23456789"))
        .unwrap();
}

#[test]
fn sealing_twice_gives_identical_bytes_so_a_retry_is_idempotent() {
    assert_eq!(example().0, example().0);
}

#[test]
fn record_moved_to_another_serial_does_not_open() {
    let (sealed, _, _) = example();
    let mut out = [0u8; 64];
    assert_eq!(
        sealed.open(&arr(BANK_SECRET), &binding(b"23456790"), &mut out),
        Err(SealError::OpenFailed)
    );
    assert_eq!(out, [0u8; 64], "nothing of the seed is left in the buffer");
}

#[test]
fn record_moved_to_another_serial_fails_the_signature() {
    let (sealed, bank_public, device) = example();
    assert_eq!(
        sealed.verify(&device.public(), &bank_public, &binding(b"23456790")),
        Err(SealError::BadSignature)
    );
}

#[test]
fn resealed_by_a_host_with_its_own_key_fails_the_signature() {
    // The token sealed to the host's key; the host opens it and re-seals to the bank with a
    // key of its own making, keeping the token's signature.
    let device = DeviceKey::from_secret(&arr(DEVICE_SECRET));
    let host_secret = [7u8; 32];
    let host_public = x25519_public(&host_secret);
    let by_token = seal(SEED, &host_public, &binding(b"23456789"), &device).unwrap();
    let mut seed = [0u8; 64];
    let n = by_token
        .open(&host_secret, &binding(b"23456789"), &mut seed)
        .unwrap();
    let bank_public = x25519_public(&arr(BANK_SECRET));
    let forger = DeviceKey::from_secret(&[9u8; 32]);
    let forged = seal(&seed[..n], &bank_public, &binding(b"23456789"), &forger).unwrap();
    let swapped = Sealed::from_parts(
        forged.ephemeral_public,
        forged.ciphertext(),
        by_token.signature,
    )
    .unwrap();
    let mut out = [0u8; 64];
    assert!(swapped
        .open(&arr(BANK_SECRET), &binding(b"23456789"), &mut out)
        .is_ok());
    assert_eq!(
        swapped.verify(&device.public(), &bank_public, &binding(b"23456789")),
        Err(SealError::BadSignature)
    );
}

#[test]
fn every_flipped_byte_is_refused() {
    let (sealed, bank_public, device) = example();
    let ct = sealed.ciphertext().to_vec();
    for i in 0..ct.len() {
        let mut bad = ct.clone();
        bad[i] ^= 0x01;
        let s = Sealed::from_parts(sealed.ephemeral_public, &bad, sealed.signature).unwrap();
        let mut out = [0u8; 64];
        assert!(s
            .open(&arr(BANK_SECRET), &binding(b"23456789"), &mut out)
            .is_err());
        assert!(s
            .verify(&device.public(), &bank_public, &binding(b"23456789"))
            .is_err());
    }
    let mut sig = sealed.signature;
    sig[10] ^= 0x80;
    let s = Sealed::from_parts(sealed.ephemeral_public, sealed.ciphertext(), sig).unwrap();
    assert!(s
        .verify(&device.public(), &bank_public, &binding(b"23456789"))
        .is_err());
}

#[test]
fn a_low_order_bank_key_is_refused() {
    let device = DeviceKey::from_secret(&arr(DEVICE_SECRET));
    assert_eq!(
        seal(SEED, &[0u8; 32], &binding(b"23456789"), &device),
        Err(SealError::WeakBankKey)
    );
}

#[test]
fn seeds_shorter_than_128_bits_are_refused() {
    let (_, bank_public, device) = example();
    assert_eq!(
        seal(&[1u8; 15], &bank_public, &binding(b"23456789"), &device),
        Err(SealError::InvalidLength)
    );
}
