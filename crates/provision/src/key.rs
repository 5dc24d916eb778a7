//! The batch key: 32 random bytes in a file of mode 0600, created with the batch, and the
//! AES-256-GCM sealing of seeds under it (NIST SP 800-38D; 96-bit random nonce per record).
//!
//! The associated data binds a sealed seed to its batch, serial and hardware id, so a
//! record copied to another serial or batch does not decrypt.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::Aes256Gcm;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::fsutil;

/// Bytes in a batch key (AES-256).
pub const KEY_LEN: usize = 32;
/// Bytes in a GCM nonce (NIST SP 800-38D §8.2.2: 96-bit random IV).
pub const NONCE_LEN: usize = 12;

/// What can go wrong with a batch key file or a sealed seed. Never contains key or seed bytes.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("batch key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The key file can be read by group or others.
    #[error(
        "batch key file {path} has mode {mode:04o}: group/other may access it; \
         restrict it with `chmod 600 {path}` (and check who could have copied it)"
    )]
    OpenPermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is not 32 bytes long.
    #[error("batch key file {path} holds {len} bytes, a batch key is exactly {KEY_LEN} bytes")]
    BadLength {
        /// The key file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// The key file is not a regular file.
    #[error("batch key file {0} is not a regular file")]
    NotAFile(PathBuf),
    /// The OS random number generator failed.
    #[error("the OS random number generator failed: {0}")]
    Rng(String),
    /// A sealed seed did not authenticate: wrong key, or the record was altered.
    #[error("sealed seed of serial {serial} does not authenticate: the journal record was altered or the key file is not this batch's")]
    Tampered {
        /// The serial whose record failed.
        serial: String,
    },
}

/// Fills `buf` from the OS CSPRNG (getrandom).
pub fn random_bytes(buf: &mut [u8]) -> Result<(), KeyError> {
    getrandom::fill(buf).map_err(|e| KeyError::Rng(e.to_string()))
}

/// A batch key. Zeroized on drop; `Debug` shows only its check value.
pub struct BatchKey(Zeroizing<[u8; KEY_LEN]>);

/// A seed sealed with AES-256-GCM: the nonce and the ciphertext with its 16-byte tag.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Sealed {
    /// The random 96-bit nonce.
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext followed by the GCM tag.
    pub ciphertext: Vec<u8>,
}

impl BatchKey {
    /// A new key from the OS CSPRNG.
    pub fn generate() -> Result<Self, KeyError> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        random_bytes(&mut k[..])?;
        Ok(BatchKey(k))
    }

    /// Generates a key and writes it to a new file `path` (mode 0600, fsynced); refuses to
    /// overwrite an existing file.
    pub fn create_file(path: &Path) -> Result<Self, KeyError> {
        let key = Self::generate()?;
        fsutil::create_new_durable(path, &key.0[..], 0o600).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(key)
    }

    /// Reads a key file, refusing one that group or others may access.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() {
            return Err(KeyError::NotAFile(path.to_path_buf()));
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::OpenPermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        if meta.len() != KEY_LEN as u64 {
            return Err(KeyError::BadLength {
                path: path.to_path_buf(),
                len: meta.len(),
            });
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(io)?);
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return Err(KeyError::BadLength {
                path: path.to_path_buf(),
                len: bytes.len() as u64,
            });
        }
        k.copy_from_slice(&bytes);
        Ok(BatchKey(k))
    }

    /// A public fingerprint of the key (first 8 bytes of SHA-256 over a label and the key),
    /// stored in the manifest so a wrong key file is named as such.
    pub fn check_value(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"tokenline batch key check v1\0");
        h.update(&self.0[..]);
        hex::encode(&h.finalize()[..8])
    }

    /// Seals `plaintext` with a fresh random nonce, binding `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let mut buf = plaintext.to_vec();
        // Encryption only fails for messages over 2^36 bytes; a seed is at most 64.
        self.cipher()
            .encrypt_in_place(&nonce.into(), aad, &mut buf)
            .map_err(|_| KeyError::Rng("AES-GCM refused the message length".into()))?;
        Ok(Sealed {
            nonce,
            ciphertext: buf,
        })
    }

    /// Opens a sealed seed; `serial` only names the record in the error.
    pub fn open(
        &self,
        aad: &[u8],
        sealed: &Sealed,
        serial: &str,
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let mut buf = Zeroizing::new(sealed.ciphertext.clone());
        self.cipher()
            .decrypt_in_place(&sealed.nonce.into(), aad, &mut *buf)
            .map_err(|_| KeyError::Tampered {
                serial: serial.to_string(),
            })?;
        Ok(buf)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&(*self.0).into())
    }
}

impl fmt::Debug for BatchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchKey(check {})", self.check_value())
    }
}

/// The associated data of a sealed seed: `tokenline-seed-v1 NUL batch NUL serial NUL hwid`.
pub fn seed_aad(batch: &str, serial: &str, hardware_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64);
    for part in ["tokenline-seed-v1", batch, serial, hardware_id] {
        aad.extend_from_slice(part.as_bytes());
        aad.push(0);
    }
    aad
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips() {
        let key = BatchKey::generate().unwrap();
        let aad = seed_aad("B1", "10000001", "00aa");
        let sealed = key.seal(&aad, b"12345678901234567890").unwrap();
        assert_eq!(sealed.ciphertext.len(), 20 + 16);
        assert_ne!(&sealed.ciphertext[..20], b"12345678901234567890");
        assert_eq!(
            &key.open(&aad, &sealed, "10000001").unwrap()[..],
            b"12345678901234567890"
        );
    }

    #[test]
    fn flipped_ciphertext_byte_is_detected() {
        let key = BatchKey::generate().unwrap();
        let aad = seed_aad("B1", "10000001", "00aa");
        let sealed = key.seal(&aad, b"12345678901234567890").unwrap();
        for i in 0..sealed.ciphertext.len() {
            let mut bad = sealed.clone();
            bad.ciphertext[i] ^= 1;
            assert!(matches!(
                key.open(&aad, &bad, "10000001"),
                Err(KeyError::Tampered { .. })
            ));
        }
        let mut bad = sealed.clone();
        bad.nonce[0] ^= 0x80;
        assert!(key.open(&aad, &bad, "10000001").is_err());
    }

    #[test]
    fn record_moved_to_another_serial_does_not_open() {
        let key = BatchKey::generate().unwrap();
        let sealed = key
            .seal(&seed_aad("B1", "10000001", "00aa"), b"seed")
            .unwrap();
        assert!(key
            .open(&seed_aad("B1", "10000002", "00aa"), &sealed, "10000002")
            .is_err());
        assert!(key
            .open(&seed_aad("B2", "10000001", "00aa"), &sealed, "10000001")
            .is_err());
        assert!(key
            .open(&seed_aad("B1", "10000001", "00ab"), &sealed, "10000001")
            .is_err());
    }

    #[test]
    fn other_key_does_not_open() {
        let a = BatchKey::generate().unwrap();
        let b = BatchKey::generate().unwrap();
        let aad = seed_aad("B1", "10000001", "00aa");
        let sealed = a.seal(&aad, b"seed").unwrap();
        assert!(b.open(&aad, &sealed, "10000001").is_err());
        assert_ne!(a.check_value(), b.check_value());
    }

    #[test]
    fn key_file_is_created_0600_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batch.key");
        let key = BatchKey::create_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            BatchKey::load(&path).unwrap().check_value(),
            key.check_value()
        );
        assert!(
            BatchKey::create_file(&path).is_err(),
            "never overwrites a key"
        );
    }

    #[test]
    fn key_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batch.key");
        BatchKey::create_file(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = BatchKey::load(&path).unwrap_err();
        assert!(matches!(err, KeyError::OpenPermissions { mode: 0o644, .. }));
        assert!(err.to_string().contains("chmod 600"));
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let key = BatchKey::generate().unwrap();
        let dbg = format!("{key:?}");
        assert!(dbg.starts_with("BatchKey(check "));
        assert!(!dbg.contains(&hex::encode(&key.0[..])));
    }
}
