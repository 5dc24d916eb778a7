//! PSKC encryption: xmlenc AES-CBC with the IV prepended (RFC 6030 §6.1, XML Encryption
//! §5.2.2), HMAC ValueMAC over IV || ciphertext (RFC 6030 §6.1.1), PBKDF2 key derivation
//! (RFC 6030 §6.2, RFC 8018 §5.2).

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
/// XML-DSig HMAC-SHA1 (RFC 6030 §6.1.1's MAC).
pub const HMAC_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#hmac-sha1";
/// HMAC-SHA256 (RFC 6931 §2.2.2).
pub const HMAC_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256";
/// PKCS #5 v2.0 PBKDF2 (RFC 6030 §6.2).
pub const PBKDF2: &str = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2";

const SUPPORTED_CIPHERS: &str = "aes128-cbc, aes192-cbc and aes256-cbc (xmlenc)";
const SUPPORTED_MACS: &str = "hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 and hmac-sha512";

/// The part of an algorithm URI after `#`, lower case (`…xmlenc#aes128-cbc` → `aes128-cbc`).
fn fragment(uri: &str) -> String {
    uri.rsplit('#')
        .next()
        .unwrap_or(uri)
        .trim()
        .to_ascii_lowercase()
}

/// Key length in bytes of an xmlenc AES-CBC algorithm URI.
pub fn cbc_key_len(uri: &str) -> Result<usize> {
    // python-pskc's aliases: `pbe-aes128-cbc` … are the same ciphers.
    let f = fragment(uri);
    match f.strip_prefix("pbe-").unwrap_or(&f) {
        "aes128-cbc" => Ok(16),
        "aes192-cbc" => Ok(24),
        "aes256-cbc" => Ok(32),
        _ => Err(Error::UnsupportedAlgorithm {
            what: "encryption",
            uri: uri.to_string(),
            supported: SUPPORTED_CIPHERS,
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

/// AES-CBC decryption of `IV || ciphertext` with PKCS #7 padding (XML Encryption §5.2).
pub fn cbc_decrypt(uri: &str, key: &[u8], data: &[u8], what: &str) -> Result<Zeroizing<Vec<u8>>> {
    let need = cbc_key_len(uri)?;
    if key.len() != need {
        return Err(Error::Key(format!(
            "{what} uses {} which needs a {need}-byte key, but the key has {} bytes",
            fragment(uri),
            key.len()
        )));
    }
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
    let out = match need {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(|_| fail())?
            .decrypt_padded_vec::<Pkcs7>(ct),
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
            .map_err(|_| fail())?
            .decrypt_padded_vec::<Pkcs7>(ct),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(|_| fail())?
            .decrypt_padded_vec::<Pkcs7>(ct),
    };
    out.map(Zeroizing::new).map_err(|_| fail())
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
