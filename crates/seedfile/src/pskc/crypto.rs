//! PSKC encryption: xmlenc AES-CBC with the IV prepended (RFC 6030 §6.1, XML Encryption
//! §5.2.2), AES key wrap kw-aes128/192/256 (RFC 6030 §6.1, RFC 3394; RFC 5649 padding for
//! values that are not whole 8-byte blocks, as python-pskc writes them), HMAC ValueMAC over
//! IV || ciphertext (RFC 6030 §6.1.1), PBKDF2 key derivation (RFC 6030 §6.2, RFC 8018 §5.2).

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// xmlenc AES-128-CBC.
pub const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
/// xmlenc AES-192-CBC.
pub const AES192_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes192-cbc";
/// xmlenc AES-256-CBC.
pub const AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
/// xmlenc AES-128 key wrap (RFC 3394).
pub const KW_AES128: &str = "http://www.w3.org/2001/04/xmlenc#kw-aes128";
/// xmlenc AES-192 key wrap (RFC 3394).
pub const KW_AES192: &str = "http://www.w3.org/2001/04/xmlenc#kw-aes192";
/// xmlenc AES-256 key wrap (RFC 3394).
pub const KW_AES256: &str = "http://www.w3.org/2001/04/xmlenc#kw-aes256";
/// XML-DSig HMAC-SHA1 (RFC 6030 §6.1.1's MAC).
pub const HMAC_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#hmac-sha1";
/// HMAC-SHA256 (RFC 6931 §2.2.2).
pub const HMAC_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256";
/// PKCS #5 v2.0 PBKDF2 (RFC 6030 §6.2).
pub const PBKDF2: &str = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2";

const SUPPORTED_CIPHERS: &str =
    "aes128-cbc, aes192-cbc, aes256-cbc, kw-aes128, kw-aes192 and kw-aes256 (xmlenc)";
const SUPPORTED_MACS: &str = "hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 and hmac-sha512";

/// The part of an algorithm URI after `#`, lower case (`…xmlenc#aes128-cbc` → `aes128-cbc`).
fn fragment(uri: &str) -> String {
    uri.rsplit('#')
        .next()
        .unwrap_or(uri)
        .trim()
        .to_ascii_lowercase()
}

/// How a PSKC value is encrypted (RFC 6030 §6.1's algorithms that tokenline reads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    /// xmlenc AES-CBC, `IV || ciphertext`; needs a ValueMAC (RFC 6030 §6.1.1).
    Cbc {
        /// AES key length in bytes (16, 24, 32).
        key_len: usize,
    },
    /// xmlenc AES key wrap (RFC 3394 / RFC 5649); integrity-protected by itself.
    KeyWrap {
        /// AES key length in bytes (16, 24, 32).
        key_len: usize,
    },
}

impl Cipher {
    /// Parses an xmlenc algorithm URI (or python-pskc's bare names and `pbe-` aliases).
    pub fn from_uri(uri: &str) -> Result<Cipher> {
        // The exact xmlenc URIs first: no allocation for the usual spelling (once per value).
        match uri {
            AES128_CBC => return Ok(Cipher::Cbc { key_len: 16 }),
            AES192_CBC => return Ok(Cipher::Cbc { key_len: 24 }),
            AES256_CBC => return Ok(Cipher::Cbc { key_len: 32 }),
            _ => {}
        }
        let f = fragment(uri);
        match f.strip_prefix("pbe-").unwrap_or(&f) {
            "aes128-cbc" => Ok(Cipher::Cbc { key_len: 16 }),
            "aes192-cbc" => Ok(Cipher::Cbc { key_len: 24 }),
            "aes256-cbc" => Ok(Cipher::Cbc { key_len: 32 }),
            "kw-aes128" => Ok(Cipher::KeyWrap { key_len: 16 }),
            "kw-aes192" => Ok(Cipher::KeyWrap { key_len: 24 }),
            "kw-aes256" => Ok(Cipher::KeyWrap { key_len: 32 }),
            _ => Err(Error::UnsupportedAlgorithm {
                what: "encryption",
                uri: uri.to_string(),
                supported: SUPPORTED_CIPHERS,
            }),
        }
    }
    /// The xmlenc URI.
    pub fn uri(self) -> &'static str {
        match self {
            Cipher::Cbc { key_len: 16 } => AES128_CBC,
            Cipher::Cbc { key_len: 24 } => AES192_CBC,
            Cipher::Cbc { .. } => AES256_CBC,
            Cipher::KeyWrap { key_len: 16 } => KW_AES128,
            Cipher::KeyWrap { key_len: 24 } => KW_AES192,
            Cipher::KeyWrap { .. } => KW_AES256,
        }
    }
    /// Whether RFC 6030 §6.1.1 requires a ValueMAC (CBC modes).
    pub fn needs_mac(self) -> bool {
        matches!(self, Cipher::Cbc { .. })
    }
    /// AES key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Cbc { key_len } | Cipher::KeyWrap { key_len } => key_len,
        }
    }
}

/// Decrypts `data` (a CipherValue) encrypted with the algorithm `uri` under `key`.
pub fn decrypt(
    uri: &str,
    key: &[u8],
    data: &[u8],
    what: &(impl std::fmt::Display + ?Sized),
) -> Result<Zeroizing<Vec<u8>>> {
    let cipher = Cipher::from_uri(uri)?;
    if key.len() != cipher.key_len() {
        return Err(Error::Key(format!(
            "{what} uses {} which needs a {}-byte key, but the key has {} bytes",
            fragment(uri),
            cipher.key_len(),
            key.len()
        )));
    }
    match cipher {
        Cipher::Cbc { .. } => cbc_decrypt(uri, key, data, what),
        Cipher::KeyWrap { .. } => kw_unwrap(key, data, what),
    }
}

/// Encrypts `plaintext` with `cipher` under `key` (a fresh random IV for CBC).
pub fn encrypt(cipher: Cipher, key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    match cipher {
        Cipher::Cbc { .. } => cbc_encrypt(key, plaintext),
        Cipher::KeyWrap { .. } => kw_wrap(key, plaintext),
    }
}

macro_rules! with_kw {
    ($key:expr, $ty:ident, $kw:ident => $body:expr, $bad:expr) => {
        match $key.len() {
            16 => {
                let $kw = aes_kw::$ty::<aes::Aes128>::new_from_slice($key).map_err(|_| $bad)?;
                $body
            }
            24 => {
                let $kw = aes_kw::$ty::<aes::Aes192>::new_from_slice($key).map_err(|_| $bad)?;
                $body
            }
            32 => {
                let $kw = aes_kw::$ty::<aes::Aes256>::new_from_slice($key).map_err(|_| $bad)?;
                $body
            }
            _ => return Err($bad),
        }
    };
}

/// AES key wrap: RFC 3394 when `plaintext` is whole 8-byte blocks (at least two), else RFC 5649
/// with padding — what python-pskc writes under the kw-aes URIs (a 20-byte SHA-1 seed is not
/// whole blocks).
pub fn kw_wrap(key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    use aes_kw::KeyInit;
    let bad = Error::Key(format!("no AES key wrap for a {}-byte key", key.len()));
    if plaintext.len() >= 16 && plaintext.len().is_multiple_of(8) {
        let mut buf = vec![0u8; plaintext.len() + 8];
        with_kw!(key, AesKw, kw => kw.wrap_key(plaintext, &mut buf).map_err(|_| Error::Key("AES key wrap failed".into()))?, bad);
        Ok(buf)
    } else {
        let mut buf = vec![0u8; plaintext.len().div_ceil(8) * 8 + 8];
        with_kw!(key, AesKwp, kw => kw.wrap_key(plaintext, &mut buf).map_err(|_| Error::Key("AES key wrap failed".into()))?, bad);
        Ok(buf)
    }
}

/// AES key unwrap (RFC 3394, or RFC 5649 when the wrapped value carries its alternative IV);
/// a failed integrity check is [`Error::Decrypt`].
pub fn kw_unwrap(
    key: &[u8],
    data: &[u8],
    what: &(impl std::fmt::Display + ?Sized),
) -> Result<Zeroizing<Vec<u8>>> {
    use aes_kw::KeyInit;
    let fail = || Error::Decrypt {
        what: what.to_string(),
    };
    if data.len() < 16 || !data.len().is_multiple_of(8) {
        return Err(Error::Pskc(format!(
            "{what}: a key-wrapped CipherValue is whole 8-byte blocks, at least 16 bytes, got {}",
            data.len()
        )));
    }
    let mut buf = Zeroizing::new(vec![0u8; data.len() - 8]);
    // RFC 3394 first; RFC 5649's IV (A65959A6 || length) fails it and is tried next.
    let kw: std::result::Result<usize, Error> = (|| with_kw!(key, AesKw, kw => Ok(kw.unwrap_key(data, &mut buf).map_err(|_| fail())?.len()), fail()))(
    );
    if let Ok(n) = kw {
        buf.truncate(n);
        return Ok(buf);
    }
    let n = with_kw!(key, AesKwp, kw => kw.unwrap_key(data, &mut buf).map_err(|_| fail())?.len(), fail());
    buf.truncate(n);
    Ok(buf)
}

/// Key length in bytes of an xmlenc AES-CBC algorithm URI.
pub fn cbc_key_len(uri: &str) -> Result<usize> {
    match Cipher::from_uri(uri)? {
        Cipher::Cbc { key_len } => Ok(key_len),
        Cipher::KeyWrap { .. } => Err(Error::UnsupportedAlgorithm {
            what: "encryption",
            uri: uri.to_string(),
            supported: "aes128-cbc, aes192-cbc and aes256-cbc here",
        }),
    }
}

/// The xmlenc URI for an AES-CBC key of `len` bytes.
pub fn cbc_uri(len: usize) -> Result<&'static str> {
    match len {
        16 => Ok(AES128_CBC),
        24 => Ok(AES192_CBC),
        32 => Ok(AES256_CBC),
        n => Err(Error::Key(format!(
            "no AES-CBC algorithm for a {n}-byte key"
        ))),
    }
}

/// A MAC algorithm of RFC 6030 §6.1.1 / RFC 6931.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacAlg {
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA224.
    Sha224,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA384.
    Sha384,
    /// HMAC-SHA512.
    Sha512,
}

impl MacAlg {
    /// Parses an HMAC algorithm URI (`…#hmac-sha1`, `…#hmac-sha256`, …).
    pub fn from_uri(uri: &str, what: &'static str) -> Result<MacAlg> {
        match fragment(uri).replace("sha-", "sha").as_str() {
            "hmac-sha1" => Ok(MacAlg::Sha1),
            "hmac-sha224" => Ok(MacAlg::Sha224),
            "hmac-sha256" => Ok(MacAlg::Sha256),
            "hmac-sha384" => Ok(MacAlg::Sha384),
            "hmac-sha512" => Ok(MacAlg::Sha512),
            _ => Err(Error::UnsupportedAlgorithm {
                what,
                uri: uri.to_string(),
                supported: SUPPORTED_MACS,
            }),
        }
    }

    /// HMAC of `data`.
    pub fn mac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        match self {
            MacAlg::Sha1 => run::<Hmac<sha1::Sha1>>(key, data),
            MacAlg::Sha224 => run::<Hmac<sha2::Sha224>>(key, data),
            MacAlg::Sha256 => run::<Hmac<sha2::Sha256>>(key, data),
            MacAlg::Sha384 => run::<Hmac<sha2::Sha384>>(key, data),
            MacAlg::Sha512 => run::<Hmac<sha2::Sha512>>(key, data),
        }
    }

    /// Checks `tag` in constant time.
    pub fn verify(self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.mac(key, data);
        expected.len() == tag.len() && bool::from(expected.ct_eq(tag))
    }

    /// PBKDF2 with this HMAC as PRF (RFC 8018 §5.2).
    pub fn pbkdf2(self, password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
        use pbkdf2::pbkdf2_hmac;
        match self {
            MacAlg::Sha1 => pbkdf2_hmac::<sha1::Sha1>(password, salt, rounds, out),
            MacAlg::Sha224 => pbkdf2_hmac::<sha2::Sha224>(password, salt, rounds, out),
            MacAlg::Sha256 => pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, out),
            MacAlg::Sha384 => pbkdf2_hmac::<sha2::Sha384>(password, salt, rounds, out),
            MacAlg::Sha512 => pbkdf2_hmac::<sha2::Sha512>(password, salt, rounds, out),
        }
    }
}

/// An HMAC key with its inner and outer hash states computed once (per file): each ValueMAC
/// check clones it instead of keying HMAC again (issue #14).
#[derive(Clone)]
pub enum MacKey {
    /// HMAC-SHA1.
    Sha1(Hmac<sha1::Sha1>),
    /// HMAC-SHA224.
    Sha224(Hmac<sha2::Sha224>),
    /// HMAC-SHA256.
    Sha256(Hmac<sha2::Sha256>),
    /// HMAC-SHA384.
    Sha384(Hmac<sha2::Sha384>),
    /// HMAC-SHA512.
    Sha512(Hmac<sha2::Sha512>),
}

impl MacAlg {
    /// This HMAC keyed with `key` (any length), ready for [`MacKey::verify`].
    pub fn keyed(self, key: &[u8]) -> MacKey {
        fn k<M: KeyInit>(key: &[u8]) -> M {
            M::new_from_slice(key).expect("HMAC accepts any key length")
        }
        match self {
            MacAlg::Sha1 => MacKey::Sha1(k(key)),
            MacAlg::Sha224 => MacKey::Sha224(k(key)),
            MacAlg::Sha256 => MacKey::Sha256(k(key)),
            MacAlg::Sha384 => MacKey::Sha384(k(key)),
            MacAlg::Sha512 => MacKey::Sha512(k(key)),
        }
    }
}

impl MacKey {
    /// Checks `tag` over `data` in constant time (a tag of another length fails).
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        fn run<M: Mac + Clone>(m: &M, data: &[u8], tag: &[u8]) -> bool {
            let mut m = m.clone();
            m.update(data);
            m.verify_slice(tag).is_ok()
        }
        match self {
            MacKey::Sha1(m) => run(m, data, tag),
            MacKey::Sha224(m) => run(m, data, tag),
            MacKey::Sha256(m) => run(m, data, tag),
            MacKey::Sha384(m) => run(m, data, tag),
            MacKey::Sha512(m) => run(m, data, tag),
        }
    }
}

/// An AES key with its key schedule expanded once (per file) for the container's CBC values
/// (issue #14); zeroized on drop (the `aes` crate's `zeroize` feature).
#[derive(Clone)]
pub enum CbcKey {
    /// AES-128.
    Aes128(aes::Aes128),
    /// AES-192.
    Aes192(aes::Aes192),
    /// AES-256.
    Aes256(aes::Aes256),
}

impl CbcKey {
    /// The key schedule of a 16-, 24- or 32-byte key; `None` for another length.
    pub fn new(key: &[u8]) -> Option<CbcKey> {
        match key.len() {
            16 => aes::Aes128::new_from_slice(key).ok().map(CbcKey::Aes128),
            24 => aes::Aes192::new_from_slice(key).ok().map(CbcKey::Aes192),
            32 => aes::Aes256::new_from_slice(key).ok().map(CbcKey::Aes256),
            _ => None,
        }
    }

    /// Key length in bytes.
    pub fn key_len(&self) -> usize {
        match self {
            CbcKey::Aes128(_) => 16,
            CbcKey::Aes192(_) => 24,
            CbcKey::Aes256(_) => 32,
        }
    }

    /// AES-CBC decryption of `IV || ciphertext` with PKCS #7 padding, as [`cbc_decrypt`].
    pub fn decrypt(
        &self,
        data: &[u8],
        what: &(impl std::fmt::Display + ?Sized),
    ) -> Result<Zeroizing<Vec<u8>>> {
        use aes::cipher::InnerIvInit;
        if data.len() < 32 || !data.len().is_multiple_of(16) {
            return Err(Error::Pskc(format!(
                "{what}: the CipherValue must be a 16-byte IV and whole AES blocks, got {} bytes",
                data.len()
            )));
        }
        let (iv, ct) = data.split_at(16);
        let fail = || Error::Decrypt {
            what: what.to_string(),
        };
        let out = match self {
            CbcKey::Aes128(k) => cbc::Decryptor::<aes::Aes128>::inner_iv_slice_init(k.clone(), iv)
                .map_err(|_| fail())?
                .decrypt_padded_vec::<Pkcs7>(ct),
            CbcKey::Aes192(k) => cbc::Decryptor::<aes::Aes192>::inner_iv_slice_init(k.clone(), iv)
                .map_err(|_| fail())?
                .decrypt_padded_vec::<Pkcs7>(ct),
            CbcKey::Aes256(k) => cbc::Decryptor::<aes::Aes256>::inner_iv_slice_init(k.clone(), iv)
                .map_err(|_| fail())?
                .decrypt_padded_vec::<Pkcs7>(ct),
        };
        out.map(Zeroizing::new).map_err(|_| fail())
    }
}

/// AES-CBC decryption of `IV || ciphertext` with PKCS #7 padding (XML Encryption §5.2).
pub fn cbc_decrypt(
    uri: &str,
    key: &[u8],
    data: &[u8],
    what: &(impl std::fmt::Display + ?Sized),
) -> Result<Zeroizing<Vec<u8>>> {
    let need = cbc_key_len(uri)?;
    if key.len() != need {
        return Err(Error::Key(format!(
            "{what} uses {} which needs a {need}-byte key, but the key has {} bytes",
            fragment(uri),
            key.len()
        )));
    }
    CbcKey::new(key)
        .ok_or_else(|| Error::Key(format!("no AES key of {} bytes", key.len())))?
        .decrypt(data, what)
}

/// AES-CBC encryption with a random IV, returning `IV || ciphertext`.
pub fn cbc_encrypt(key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let mut iv = [0u8; 16];
    crate::keys::random(&mut iv)?;
    let bad = |_| Error::Key("AES-CBC key length".into());
    let ct = match key.len() {
        16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(key, &iv)
            .map_err(bad)?
            .encrypt_padded_vec::<Pkcs7>(plaintext),
        24 => cbc::Encryptor::<aes::Aes192>::new_from_slices(key, &iv)
            .map_err(bad)?
            .encrypt_padded_vec::<Pkcs7>(plaintext),
        32 => cbc::Encryptor::<aes::Aes256>::new_from_slices(key, &iv)
            .map_err(bad)?
            .encrypt_padded_vec::<Pkcs7>(plaintext),
        n => {
            return Err(Error::Key(format!(
                "no AES-CBC algorithm for a {n}-byte key"
            )))
        }
    };
    let mut out = iv.to_vec();
    out.extend_from_slice(&ct);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// RFC 6030 figure 6: MAC key encrypted with AES-128-CBC under the pre-shared key.
    #[test]
    fn figure6_mac_key_decrypts() {
        use base64::Engine;
        let key = hex::decode("12345678901234567890123456789012").unwrap();
        let ct = base64::engine::general_purpose::STANDARD
            .decode("ESIzRFVmd4iZABEiM0RVZgKn6WjLaTC1sbeBMSvIhRejN9vJa2BOlSaMrR7I5wSX")
            .unwrap();
        let mac_key = cbc_decrypt(AES128_CBC, &key, &ct, "MAC key").unwrap();
        assert_eq!(
            hex::encode(&*mac_key),
            "1122334455667788990011223344556677889900"
        );
    }

    /// RFC 3394 §4.1 and RFC 5649 §6 test vectors through the PSKC functions.
    #[test]
    fn key_wrap_rfc3394_and_rfc5649_vectors() {
        let kek = hex::decode("000102030405060708090A0B0C0D0E0F").unwrap();
        let key = hex::decode("00112233445566778899AABBCCDDEEFF").unwrap();
        let wrapped = hex::decode("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5").unwrap();
        assert_eq!(kw_wrap(&kek, &key).unwrap(), wrapped);
        assert_eq!(&*decrypt(KW_AES128, &kek, &wrapped, "x").unwrap(), &key[..]);
        // RFC 5649 §6, 20 octets.
        let kek = hex::decode("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8").unwrap();
        let key = hex::decode("c37b7e6492584340bed12207808941155068f738").unwrap();
        let wrapped =
            hex::decode("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a")
                .unwrap();
        assert_eq!(kw_wrap(&kek, &key).unwrap(), wrapped);
        assert_eq!(&*decrypt(KW_AES192, &kek, &wrapped, "x").unwrap(), &key[..]);
        let mut bad = wrapped.clone();
        bad[3] ^= 1;
        assert!(matches!(
            decrypt(KW_AES192, &kek, &bad, "x"),
            Err(Error::Decrypt { .. })
        ));
    }

    #[test]
    fn cbc_roundtrips_for_all_key_sizes() {
        for (len, uri) in [(16, AES128_CBC), (24, AES192_CBC), (32, AES256_CBC)] {
            let key = vec![7u8; len];
            let ct = cbc_encrypt(&key, b"secret seed bytes!!!").unwrap();
            assert_eq!(
                &*cbc_decrypt(uri, &key, &ct, "x").unwrap(),
                b"secret seed bytes!!!"
            );
        }
    }

    /// RFC 6030 figure 7: passphrase `qwerty`, PBKDF2-HMAC-SHA1, 1000 rounds.
    #[test]
    fn figure7_pbkdf2_key() {
        use base64::Engine;
        let salt = base64::engine::general_purpose::STANDARD
            .decode("Ej7/PEpyEpw=")
            .unwrap();
        let mut k = [0u8; 16];
        MacAlg::Sha1.pbkdf2(b"qwerty", &salt, 1000, &mut k);
        assert_eq!(hex::encode(k), "651e63cd57008476af1ff6422cd02e41");
    }
}
