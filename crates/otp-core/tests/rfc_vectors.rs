//! Every test vector of RFC 4226 Appendix D and RFC 6238 Appendix B, read from data files.

use otp_core::{hotp, time_step, totp, verify_hotp, verify_totp, Hash};

const RFC4226_SECRET: &[u8] = b"12345678901234567890";

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect())
}

fn rfc6238_seed(hash: Hash) -> &'static [u8] {
    // RFC 6238 Appendix B: the reference code repeats "1234567890" to the hash's length.
    let s: &'static [u8] = b"1234567890123456789012345678901234567890123456789012345678901234";
    &s[..hash.rfc_seed_len()]
}

fn hash_named(name: &str) -> Hash {
    match name {
        "SHA1" => Hash::Sha1,
        "SHA256" => Hash::Sha256,
        "SHA512" => Hash::Sha512,
        other => panic!("unknown hash {other} in test data"),
    }
}

#[test]
fn rfc4226_appendix_d_hotp_values() {
    let mut n = 0;
    for row in rows(include_str!("data/rfc4226-appendix-d.txt")) {
        let count: u64 = row[0].parse().expect("count");
        let expected: u32 = row[1].parse().expect("hotp");
        assert_eq!(
            hotp(Hash::Sha1, RFC4226_SECRET, count, 6),
            Ok(expected),
            "count {count}"
        );
        n += 1;
    }
    assert_eq!(n, 10, "all ten Appendix D rows were checked");
}

#[test]
fn rfc6238_appendix_b_totp_values() {
    let mut n = 0;
    for row in rows(include_str!("data/rfc6238-appendix-b.txt")) {
        let t: u64 = row[0].parse().expect("time");
        let step = u64::from_str_radix(row[1], 16).expect("T");
        let expected: u32 = row[2].parse().expect("totp");
        let hash = hash_named(row[3]);
        assert_eq!(time_step(t, 30, 0), Ok(step), "T at {t}");
        assert_eq!(
            totp(hash, rfc6238_seed(hash), t, 30, 0, 8),
            Ok(expected),
            "{row:?}"
        );
        n += 1;
    }
    assert_eq!(n, 18, "all eighteen Appendix B rows were checked");
}

#[test]
fn rfc6238_seeds_have_the_hash_lengths() {
    assert_eq!(rfc6238_seed(Hash::Sha1).len(), 20);
    assert_eq!(rfc6238_seed(Hash::Sha256).len(), 32);
    assert_eq!(rfc6238_seed(Hash::Sha512).len(), 64);
}

#[test]
fn hotp_look_ahead_finds_the_counter_that_matched() {
    // 969429 is count 3 (Appendix D).
    assert_eq!(
        verify_hotp(Hash::Sha1, RFC4226_SECRET, 969429, 6, 0, 5),
        Ok(Some(3))
    );
    assert_eq!(
        verify_hotp(Hash::Sha1, RFC4226_SECRET, 969429, 6, 0, 2),
        Ok(None)
    );
    assert_eq!(
        verify_hotp(Hash::Sha1, RFC4226_SECRET, 969429, 6, 4, 10),
        Ok(None)
    );
}

#[test]
fn totp_skew_window_accepts_one_step_behind_and_refuses_two() {
    let seed = rfc6238_seed(Hash::Sha1);
    // 07081804 is the code of step 0x23523EC (t = 1111111109); at t = 1111111111 we are one step later.
    assert_eq!(
        verify_totp(Hash::Sha1, seed, 7081804, 8, 1111111111, 30, 0, 1, 1),
        Ok(Some(0x23523EC))
    );
    assert_eq!(
        verify_totp(Hash::Sha1, seed, 7081804, 8, 1111111111 + 30, 30, 0, 1, 1),
        Ok(None)
    );
}

#[test]
fn six_digit_codes_are_the_last_six_digits_of_eight() {
    let seed = rfc6238_seed(Hash::Sha1);
    assert_eq!(totp(Hash::Sha1, seed, 59, 30, 0, 6), Ok(287082));
    assert_eq!(totp(Hash::Sha1, seed, 59, 30, 0, 7), Ok(4287082));
}
