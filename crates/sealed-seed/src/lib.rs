//! The sealed seed record: a seed born on the token, readable only by the bank.
//!
//! `no_std`, no allocation: the token (`token-app`, on the Cortex-M firmware too) seals, the
//! bank (`seedfile`, `tokenline bank import`) opens, with this one implementation. The byte
//! layout is `spec/wire-format.md` §10; `scripts/interop/sealed_vectors.py` recomputes the
//! worked example with other libraries (Python `cryptography`).
//!
//! # Construction
//! - **Associated data** [`Binding::associated_data`]: everything the bank must not be lied to
//!   about, `"tokenline-sealed/v1" | serial_len u8 | serial | hardware_id (8) | expiry (year
//!   u16 LE, month, day) | params (15 bytes, wire layout §5) | bank_key_id (8)`.
//! - **Ephemeral key**: `e = HKDF-SHA256(salt = "tokenline-sealed/v1/ephemeral", ikm = seed,
//!   info = bank_public | AD)` (RFC 5869), 32 bytes, an X25519 scalar (RFC 7748). Derived from
//!   the seed, so an identical retried request gets a byte-identical record (idempotence)
//!   without the token storing `e`; as secret as the seed itself.
//! - **Seed key**: `k = HKDF-SHA256(salt = E | bank_public, ikm = X25519(e, bank_public),
//!   info = "tokenline-sealed/v1/seed-key")`, 32 bytes (HPKE-style, RFC 9180 §4.1), where
//!   `E = X25519(e, 9)`. An all-zero shared secret (a low-order "bank key") is refused.
//! - **Ciphertext**: AES-256-GCM (NIST SP 800-38D) of the seed under `k`, nonce 12 zero
//!   bytes (each `k` encrypts exactly one plaintext), associated data AD.
//! - **Attestation**: Ed25519 (RFC 8032, pure) by the token's device key over
//!   `"tokenline-sealed/v1/attest" | bank_public (32) | E (32) | len(AD) u8 | AD | len(C) u8 | C`.
//!   A line host that substitutes its own public key, opens the seed and re-seals it to the
//!   bank cannot produce this signature.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::Aes256Gcm;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use otp_core::{Hash, Mode, Params};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

/// Domain label at the start of the associated data (and of every derived label).
pub const LABEL: &[u8] = b"tokenline-sealed/v1";
const EPHEMERAL_SALT: &[u8] = b"tokenline-sealed/v1/ephemeral";
const SEED_KEY_INFO: &[u8] = b"tokenline-sealed/v1/seed-key";
const ATTEST_LABEL: &[u8] = b"tokenline-sealed/v1/attest";

/// Shortest seed a token generates: 128 bits (RFC 4226 §4 R6); 160 recommended.
pub const MIN_SEED_LEN: usize = 16;
/// Longest seed: 64 bytes (RFC 6238 Appendix B's SHA-512 seed).
pub const MAX_SEED_LEN: usize = 64;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// Longest ciphertext: a 64-byte seed and its tag.
pub const MAX_CIPHERTEXT_LEN: usize = MAX_SEED_LEN + TAG_LEN;
/// Longest serial (token-proto's limit).
pub const MAX_SERIAL_LEN: usize = 16;
/// Longest associated data: label, serial, hardware id, expiry, params, key id.
pub const MAX_AD_LEN: usize = LABEL.len() + 1 + MAX_SERIAL_LEN + 8 + 4 + PARAMS_LEN + 8;
/// Length of the OTP parameters in the wire layout.
pub const PARAMS_LEN: usize = 15;
/// Ed25519 signature length.
pub const SIGNATURE_LEN: usize = 64;

/// Why sealing, opening or checking failed. Never says anything about the seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealError {
    /// The seed length is outside 16..=64 bytes, or the serial longer than 16 bytes.
    InvalidLength,
    /// The bank's public key is a low-order point: the shared secret would be zero.
    WeakBankKey,
    /// The ciphertext does not open under this bank key with this associated data (wrong
    /// key, or a field — serial, hardware id, expiry, parameters, key id — differs).
    OpenFailed,
    /// The device signature does not verify under the device key given.
    BadSignature,
    /// The device public key is not a valid Ed25519 point.
    BadDeviceKey,
}

impl core::fmt::Display for SealError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SealError::InvalidLength => "seed of 16 to 64 bytes and serial of at most 16 bytes required",
            SealError::WeakBankKey => "the bank public key is a low-order point; use a key made by `seeds keygen`",
            SealError::OpenFailed => "the sealed record does not open with this bank key for this serial, hardware id, expiry, parameters and key id",
            SealError::BadSignature => "the device signature does not verify with the enrolled device key",
            SealError::BadDeviceKey => "the device public key is not a valid Ed25519 key",
        })
    }
}

/// What a sealed seed is bound to: the fields of the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The serial printed on the token (ASCII, at most 16 bytes).
    pub serial: &'a [u8],
    /// The token's hardware id.
    pub hardware_id: [u8; 8],
    /// The expiry printed on the token: (year, month, day).
    pub expiry: (u16, u8, u8),
    /// The OTP algorithm.
    pub params: Params,
    /// Id of the bank key sealed to (`seedfile::KeyId`: 8 bytes of SHA-256 of the key).
    pub bank_key_id: [u8; 8],
}

/// The wire layout of OTP parameters (spec/wire-format.md §5): `hash u8 (0 SHA-1, 1 SHA-256,
/// 2 SHA-512) | digits u8 | mode u8 (0 HOTP, 1 TOTP) | period u32 LE | counter-or-t0 u64 LE`.
pub fn params_bytes(p: &Params) -> [u8; PARAMS_LEN] {
    let mut b = [0u8; PARAMS_LEN];
    b[0] = match p.hash {
        Hash::Sha1 => 0,
        Hash::Sha256 => 1,
        Hash::Sha512 => 2,
    };
    b[1] = p.digits;
    let (mode, period, value) = match p.mode {
        Mode::Hotp { counter } => (0u8, 0u32, counter),
        Mode::Totp { period, t0 } => (1, period, t0),
    };
    b[2] = mode;
    b[3..7].copy_from_slice(&period.to_le_bytes());
    b[7..15].copy_from_slice(&value.to_le_bytes());
    b
}

/// Associated data bytes and their length.
pub struct Ad {
    buf: [u8; MAX_AD_LEN],
    len: usize,
}

impl Ad {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Binding<'_> {
    /// The associated data (module docs). Fails only for a serial over 16 bytes.
    pub fn associated_data(&self) -> Result<Ad, SealError> {
        if self.serial.len() > MAX_SERIAL_LEN {
            return Err(SealError::InvalidLength);
        }
        let mut ad = Ad {
            buf: [0; MAX_AD_LEN],
            len: 0,
        };
        let mut put = |b: &[u8]| {
            ad.buf[ad.len..ad.len + b.len()].copy_from_slice(b);
            ad.len += b.len();
        };
        put(LABEL);
        put(&[self.serial.len() as u8]);
        put(self.serial);
        put(&self.hardware_id);
        put(&self.expiry.0.to_le_bytes());
        put(&[self.expiry.1, self.expiry.2]);
        put(&params_bytes(&self.params));
        put(&self.bank_key_id);
        Ok(ad)
    }
}

/// A sealed seed as the token answers it: the ephemeral public key, the ciphertext (seed +
/// tag) and the device signature. Holds nothing secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    /// `E`, the ephemeral X25519 public key.
    pub ephemeral_public: [u8; 32],
    ct_len: u8,
    ct: [u8; MAX_CIPHERTEXT_LEN],
    /// The Ed25519 device signature over the attestation message.
    pub signature: [u8; SIGNATURE_LEN],
}

impl core::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Sealed({} ciphertext bytes)", self.ct_len)
    }
}

impl Sealed {
    /// Builds one from its parts (as read from the wire or a file). The ciphertext must be
    /// 32..=80 bytes (a 16..=64-byte seed and its tag).
    pub fn from_parts(
        ephemeral_public: [u8; 32],
        ciphertext: &[u8],
        signature: [u8; SIGNATURE_LEN],
    ) -> Result<Self, SealError> {
        if !(MIN_SEED_LEN + TAG_LEN..=MAX_CIPHERTEXT_LEN).contains(&ciphertext.len()) {
            return Err(SealError::InvalidLength);
        }
        let mut ct = [0u8; MAX_CIPHERTEXT_LEN];
        ct[..ciphertext.len()].copy_from_slice(ciphertext);
        Ok(Sealed {
            ephemeral_public,
            ct_len: ciphertext.len() as u8,
            ct,
            signature,
        })
    }

    /// `C`: the AES-256-GCM ciphertext followed by its 16-byte tag.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ct[..usize::from(self.ct_len)]
    }

    /// The length of the sealed seed in bytes.
    pub fn seed_len(&self) -> usize {
        usize::from(self.ct_len) - TAG_LEN
    }

    /// Checks the device signature: `device_public` attests that it sealed this record, for
    /// this binding, to `bank_public`.
    pub fn verify(
        &self,
        device_public: &[u8; 32],
        bank_public: &[u8; 32],
        binding: &Binding<'_>,
    ) -> Result<(), SealError> {
        let key = VerifyingKey::from_bytes(device_public).map_err(|_| SealError::BadDeviceKey)?;
        let ad = binding.associated_data()?;
        let sig = Signature::from_bytes(&self.signature);
        let mut msg = [0u8; ATTEST_MAX];
        let n = attest_message(
            &mut msg,
            bank_public,
            &self.ephemeral_public,
            ad.as_bytes(),
            self.ciphertext(),
        );
        key.verify_strict(&msg[..n], &sig)
            .map_err(|_| SealError::BadSignature)
    }

    /// Opens the seed with the bank's X25519 private key (as 32 bytes), writing it into
    /// `seed_out` (at least [`Sealed::seed_len`] bytes); returns the length.
    pub fn open(
        &self,
        bank_secret: &[u8; 32],
        binding: &Binding<'_>,
        seed_out: &mut [u8],
    ) -> Result<usize, SealError> {
        let n = self.seed_len();
        if seed_out.len() < n {
            return Err(SealError::InvalidLength);
        }
        let secret = x25519_dalek::StaticSecret::from(*bank_secret);
        let bank_public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(self.ephemeral_public));
        if !shared.was_contributory() {
            return Err(SealError::OpenFailed);
        }
        let key = seed_key(shared.as_bytes(), &self.ephemeral_public, &bank_public);
        let ad = binding.associated_data()?;
        let (ct, tag) = self.ciphertext().split_at(n);
        let out = &mut seed_out[..n];
        out.copy_from_slice(ct);
        let cipher = Aes256Gcm::new((&*key).into());
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| SealError::OpenFailed)?;
        if cipher
            .decrypt_inout_detached(&NONCE.into(), ad.as_bytes(), out.into(), &tag.into())
            .is_err()
        {
            out.zeroize();
            return Err(SealError::OpenFailed);
        }
        Ok(n)
    }
}

const NONCE: [u8; 12] = [0; 12];
const ATTEST_MAX: usize = ATTEST_LABEL.len() + 32 + 32 + 1 + MAX_AD_LEN + 1 + MAX_CIPHERTEXT_LEN;

fn attest_message(
    out: &mut [u8; ATTEST_MAX],
    bank_public: &[u8; 32],
    ephemeral_public: &[u8; 32],
    ad: &[u8],
    ct: &[u8],
) -> usize {
    let mut n = 0;
    for part in [
        ATTEST_LABEL,
        bank_public,
        ephemeral_public,
        &[ad.len() as u8],
        ad,
        &[ct.len() as u8],
        ct,
    ] {
        out[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    n
}

fn seed_key(
    shared: &[u8; 32],
    ephemeral_public: &[u8; 32],
    bank_public: &[u8; 32],
) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral_public);
    salt[32..].copy_from_slice(bank_public);
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 255 × 32 limit: expand cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(&salt), shared).expand(SEED_KEY_INFO, key.as_mut());
    key
}

/// The token's Ed25519 device key (RFC 8032), from its 32-byte secret.
pub struct DeviceKey(SigningKey);

impl DeviceKey {
    /// The key whose secret is these 32 random bytes.
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        DeviceKey(SigningKey::from_bytes(secret))
    }

    /// The public key Identify reports and `line enroll` collects.
    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }
}

/// Seals `seed` to `bank_public` for `binding` and signs the record with `device` — the
/// token's side. Deterministic: the same inputs give the same bytes (module docs).
pub fn seal(
    seed: &[u8],
    bank_public: &[u8; 32],
    binding: &Binding<'_>,
    device: &DeviceKey,
) -> Result<Sealed, SealError> {
    if !(MIN_SEED_LEN..=MAX_SEED_LEN).contains(&seed.len()) {
        return Err(SealError::InvalidLength);
    }
    let ad = binding.associated_data()?;
    let mut e = Zeroizing::new([0u8; 32]);
    {
        let hk = Hkdf::<Sha256>::new(Some(EPHEMERAL_SALT), seed);
        let _ = hk.expand_multi_info(&[bank_public, ad.as_bytes()], e.as_mut());
    }
    let secret = x25519_dalek::StaticSecret::from(*e);
    let ephemeral_public = x25519_dalek::PublicKey::from(&secret).to_bytes();
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*bank_public));
    if !shared.was_contributory() {
        return Err(SealError::WeakBankKey);
    }
    let key = seed_key(shared.as_bytes(), &ephemeral_public, bank_public);
    let mut ct = [0u8; MAX_CIPHERTEXT_LEN];
    let n = seed.len();
    ct[..n].copy_from_slice(seed);
    let cipher = Aes256Gcm::new((&*key).into());
    let tag = cipher
        .encrypt_inout_detached(&NONCE.into(), ad.as_bytes(), (&mut ct[..n]).into())
        .map_err(|_| SealError::InvalidLength)?;
    ct[n..n + TAG_LEN].copy_from_slice(&tag);
    let mut msg = [0u8; ATTEST_MAX];
    let m = attest_message(
        &mut msg,
        bank_public,
        &ephemeral_public,
        ad.as_bytes(),
        &ct[..n + TAG_LEN],
    );
    let signature = device.0.sign(&msg[..m]).to_bytes();
    Ok(Sealed {
        ephemeral_public,
        ct_len: (n + TAG_LEN) as u8,
        ct,
        signature,
    })
}

/// The X25519 public key of a 32-byte secret (for the bank's key file and tests).
pub fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*secret)).to_bytes()
}
