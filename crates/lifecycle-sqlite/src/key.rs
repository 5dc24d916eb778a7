//! The bank's master key: 32 random bytes (OS CSPRNG) in a file readable by its owner only,
//! written as 64 hex digits and a newline. Seeds at rest are encrypted under it.

use crate::Error;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use zeroize::Zeroizing;

/// The master key. `Debug` is redacted; zeroized on drop.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A fresh random key (not saved).
    pub fn generate() -> Result<Self, Error> {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(k.as_mut()).map_err(|e| Error::Key(format!("OS random generator: {e}")))?;
        Ok(MasterKey(k))
    }

    /// Creates a new key file with mode 0600; refuses to overwrite an existing file.
    /// The file is written to a temporary name, synced, then renamed into place.
    pub fn create(path: &Path) -> Result<Self, Error> {
        if path.exists() {
            return Err(Error::Key(format!(
                "{} already exists: refusing to overwrite a master key",
                path.display()
            )));
        }
        let key = Self::generate()?;
        let tmp = path.with_extension("key-tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::Key(format!("cannot create {}: {e}", tmp.display())))?;
        let text = Zeroizing::new(format!("{}\n", hex::encode(key.0.as_ref())));
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::Key(format!("cannot write {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| Error::Key(format!("cannot rename to {}: {e}", path.display())))?;
        Ok(key)
    }

    /// Loads a key file; refuses one that group or others may read or write.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let meta = std::fs::metadata(path).map_err(|e| {
            Error::Key(format!(
                "cannot read master key {}: {e} (create it with `tokenline bank init`)",
                path.display()
            ))
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::Key(format!(
                "master key {} has open permissions {mode:o}: run `chmod 600 {}`",
                path.display(),
                path.display()
            )));
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| Error::Key(format!("cannot read {}: {e}", path.display())))?,
        );
        let mut k = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), k.as_mut()).map_err(|_| {
            Error::Key(format!(
                "{} is not a master key (64 hex digits expected)",
                path.display()
            ))
        })?;
        Ok(MasterKey(k))
    }

    /// A 256-bit key for one purpose, derived from the master key with HKDF-SHA-256
    /// (RFC 5869; no salt, `info` names the purpose, e.g. `tokenline customer session v1`):
    /// a MAC key never reuses the seeds' encryption key itself, and every node holding the
    /// master key derives the same one.
    pub fn derive(&self, info: &str) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA-256's limit (255 × 32): this cannot fail.
        if hkdf::Hkdf::<sha2::Sha256>::new(None, self.0.as_ref())
            .expand(info.as_bytes(), out.as_mut())
            .is_err()
        {
            unreachable!("32 bytes of HKDF-SHA-256 output");
        }
        out
    }

    /// The AES-256-GCM cipher under this key (shared with the PostgreSQL store, which keeps
    /// seeds encrypted the same way), with the audit chain's key derived from it.
    pub fn cipher(&self) -> Result<Cipher, Error> {
        let aead = Aes256Gcm::new_from_slice(self.0.as_ref())
            .map_err(|_| Error::Key("bad key length".into()))?;
        Ok(Cipher {
            aead,
            audit: self.audit_key(),
        })
    }

    /// The key of the audit chain's links: HKDF-SHA-256 of this key with the audit chain's
    /// own `info` ([`lifecycle::audit::AUDIT_KEY_INFO`]), never this key itself.
    pub fn audit_key(&self) -> lifecycle::audit::AuditKey {
        lifecycle::audit::AuditKey::from_bytes(self.derive(lifecycle::audit::AUDIT_KEY_INFO))
    }
}

/// A sealed message: its nonce and the ciphertext with the tag.
pub type Sealed = ([u8; 12], Vec<u8>);

/// AES-256-GCM under the master key, and the audit key derived from it.
pub struct Cipher {
    aead: Aes256Gcm,
    audit: lifecycle::audit::AuditKey,
}

impl Cipher {
    /// The audit chain's key ([`MasterKey::audit_key`]).
    pub fn audit_key(&self) -> &lifecycle::audit::AuditKey {
        &self.audit
    }

    /// Encrypts `msg` with a fresh random nonce; `aad` binds it to its row.
    pub fn seal(&self, msg: &[u8], aad: &[u8]) -> Result<([u8; 12], Vec<u8>), String> {
        let mut n = [0u8; 12];
        getrandom::fill(&mut n).map_err(|e| format!("OS random generator: {e}"))?;
        let ct = self
            .aead
            .encrypt(&Nonce::from(n), Payload { msg, aad })
            .map_err(|_| "encryption failed".to_string())?;
        Ok((n, ct))
    }

    /// [`Cipher::seal`] for many messages, each `(msg, aad)`, with one call to the OS random
    /// generator for all their nonces (a bulk import seals a million seeds: one system call
    /// each was a tenth of its time). Each nonce is still 96 fresh random bits.
    pub fn seal_many(&self, items: &[(&[u8], &[u8])]) -> Result<Vec<Sealed>, String> {
        let mut nonces = vec![0u8; 12 * items.len()];
        getrandom::fill(&mut nonces).map_err(|e| format!("OS random generator: {e}"))?;
        items
            .iter()
            .zip(nonces.chunks_exact(12))
            .map(|((msg, aad), n)| {
                let mut nonce = [0u8; 12];
                nonce.copy_from_slice(n);
                let ct = self
                    .aead
                    .encrypt(&Nonce::from(nonce), Payload { msg, aad })
                    .map_err(|_| "encryption failed".to_string())?;
                Ok((nonce, ct))
            })
            .collect()
    }

    /// Decrypts and authenticates.
    pub fn open(&self, nonce: &[u8], ct: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
        let n: [u8; 12] = nonce
            .try_into()
            .map_err(|_| "bad nonce length".to_string())?;
        self.aead
            .decrypt(&Nonce::from(n), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| "decryption failed: wrong master key or damaged row".to_string())
    }
}
