//! Keys: the bank's X25519 key pair, pre-shared keys, PSKC passphrases, key ids, and the
//! key file format (`spec/seedfile.md` §2 "Keys and key files").
//!
//! Key files are one line of text: a label and lower-case hex.
//!
//! ```text
//! tokenline-x25519-private 5dab087e...   (0600)
//! tokenline-x25519-public  8520f009...
//! tokenline-psk            1234...        (0600; 16, 24 or 32 bytes)
//! 00112233445566778899aabbccddeeff        (a bare hex pre-shared key, as partners send it)
//! ```

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Result};

/// Label of a private key file.
pub const PRIVATE_LABEL: &str = "tokenline-x25519-private";
/// Label of a public key file.
pub const PUBLIC_LABEL: &str = "tokenline-x25519-public";
/// Label of a pre-shared key file.
pub const PSK_LABEL: &str = "tokenline-psk";

/// Fills `buf` from the OS CSPRNG.
pub(crate) fn random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::Key(format!("the OS random generator failed: {e}")))
}

/// `n` bytes from the OS CSPRNG, zeroized on drop (e.g. a fresh OTP seed).
pub fn random_secret(n: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut b = Zeroizing::new(vec![0u8; n]);
    random(&mut b)?;
    Ok(b)
}

/// A short identifier of a key: the first 8 bytes of
/// `SHA-256("tokenline-seedfile/v1/key-id" || kind || key)`, kind 1 = X25519 public key,
/// 2 = pre-shared key. Shown by `seeds inspect` so the bank knows which key to use.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    pub(crate) fn compute(kind: u8, key: &[u8]) -> KeyId {
        let mut h = Sha256::new();
        h.update(b"tokenline-seedfile/v1/key-id");
        h.update([kind]);
        h.update(key);
        let d = h.finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&d[..8]);
        KeyId(id)
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// The bank's X25519 public key (the recipient of `.tlseed` files).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Key id of this public key.
    pub fn key_id(&self) -> KeyId {
        KeyId::compute(1, &self.0)
    }
    /// The key file line, `tokenline-x25519-public <hex>`.
    pub fn to_file_line(&self) -> String {
        format!("{PUBLIC_LABEL} {}\n", hex::encode(self.0))
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.0))
    }
}

/// The bank's X25519 private key. `Debug` prints only the key id.
#[derive(Clone)]
pub struct PrivateKey(pub(crate) x25519_dalek::StaticSecret);

impl PrivateKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Result<PrivateKey> {
        let mut b = Zeroizing::new([0u8; 32]);
        random(&mut b[..])?;
        Ok(PrivateKey::from_bytes(*b))
    }
    /// A key from its 32 bytes (RFC 7748 clamping happens at use).
    pub fn from_bytes(bytes: [u8; 32]) -> PrivateKey {
        PrivateKey(x25519_dalek::StaticSecret::from(bytes))
    }
    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }
    /// The secret scalar bytes (for opening sealed records, `sealed-seed`); zeroized on drop.
    pub(crate) fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }
    /// The key file line (secret!): `tokenline-x25519-private <hex>`.
    pub fn to_file_line(&self) -> Zeroizing<String> {
        let b = Zeroizing::new(self.0.to_bytes());
        Zeroizing::new(format!("{PRIVATE_LABEL} {}\n", hex::encode(*b)))
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey(id {}, redacted)", self.public_key().key_id())
    }
}

/// A pre-shared symmetric key: 32 bytes for `.tlseed`; 16, 24 or 32 bytes for PSKC
/// (AES-128/192/256-CBC, RFC 6030 §6.1). `Debug` prints only the key id.
#[derive(Clone)]
pub struct PreSharedKey(Zeroizing<Vec<u8>>);

impl PreSharedKey {
    /// A fresh 256-bit key from the OS CSPRNG.
    pub fn generate() -> Result<PreSharedKey> {
        PreSharedKey::generate_bits(256)
    }
    /// A fresh key of 128, 192 or 256 bits from the OS CSPRNG. 128 bits gives PSKC files in
    /// AES-128-CBC, the algorithm RFC 6030 §6.1 makes mandatory and the only one privacyIDEA
    /// imports; `.tlseed` needs 256.
    pub fn generate_bits(bits: u16) -> Result<PreSharedKey> {
        if ![128, 192, 256].contains(&bits) {
            return Err(Error::Key(format!(
                "a pre-shared key has 128, 192 or 256 bits, not {bits}"
            )));
        }
        let mut b = Zeroizing::new(vec![0u8; usize::from(bits / 8)]);
        random(&mut b)?;
        Ok(PreSharedKey(b))
    }
    /// A key from bytes; must be 16, 24 or 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<PreSharedKey> {
        if ![16, 24, 32].contains(&bytes.len()) {
            return Err(Error::Key(format!(
                "a pre-shared key must be 16, 24 or 32 bytes, got {}",
                bytes.len()
            )));
        }
        Ok(PreSharedKey(Zeroizing::new(bytes.to_vec())))
    }
    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// Key id of this key.
    pub fn key_id(&self) -> KeyId {
        KeyId::compute(2, &self.0)
    }
    /// The key file line (secret!): `tokenline-psk <hex>`.
    pub fn to_file_line(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{PSK_LABEL} {}\n", hex::encode(&*self.0)))
    }
}

impl std::fmt::Debug for PreSharedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreSharedKey(id {}, redacted)", self.key_id())
    }
}

/// A PSKC passphrase (RFC 6030 §6.2, PBKDF2). `Debug` is redacted.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase; it must not be empty.
    pub fn new(p: impl Into<String>) -> Result<Passphrase> {
        let p = Zeroizing::new(p.into());
        if p.is_empty() {
            return Err(Error::Key("the passphrase is empty".into()));
        }
        Ok(Passphrase(p))
    }
    /// The passphrase bytes (UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(redacted)")
    }
}

/// The key a reader uses to open a seed file of either format.
#[derive(Clone, Debug)]
pub enum Key {
    /// The bank's X25519 private key (`.tlseed` written `--to bank.pub`).
    Private(PrivateKey),
    /// A pre-shared key (`.tlseed` with `--psk`, or PSKC pre-shared key method).
    PreShared(PreSharedKey),
    /// A PSKC passphrase (PBKDF2 method).
    Passphrase(Passphrase),
    /// No key: accept PSKC files whose secrets are in plaintext. Only on explicit request.
    InsecurePlaintext,
}

impl Key {
    /// Human name of the key kind, for errors.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Key::Private(_) => "an X25519 private key",
            Key::PreShared(_) => "a pre-shared key",
            Key::Passphrase(_) => "a passphrase",
            Key::InsecurePlaintext => "no key",
        }
    }
}

/// The content of a key file.
#[derive(Debug)]
pub enum KeyFile {
    /// A private key file.
    Private(PrivateKey),
    /// A public key file.
    Public(PublicKey),
    /// A pre-shared key file.
    PreShared(PreSharedKey),
}

impl KeyFile {
    /// Parses a key file's text: one line, label, space, hex; or a bare hex pre-shared key of
    /// 16, 24 or 32 bytes (32, 48 or 64 hex digits, either case), as a partner sends it.
    pub fn parse(text: &str) -> Result<KeyFile> {
        let line = text.trim();
        if !line.is_empty() && line.bytes().all(|b| b.is_ascii_hexdigit()) {
            let bytes = Zeroizing::new(hex::decode(line).map_err(|_| {
                Error::Key("a bare hex pre-shared key needs an even number of hex digits".into())
            })?);
            return PreSharedKey::from_bytes(&bytes)
                .map(KeyFile::PreShared)
                .map_err(|_| {
                    Error::Key(format!(
                        "a bare hex pre-shared key must be 32, 48 or 64 hex digits (16, 24 or 32 bytes), got {} digits",
                        line.len()
                    ))
                });
        }
        let (label, hexpart) = line.split_once(char::is_whitespace).ok_or_else(|| {
            Error::Key(format!(
                "not a tokenline key file: expected `{PRIVATE_LABEL} <hex>`, `{PUBLIC_LABEL} <hex>` or `{PSK_LABEL} <hex>`"
            ))
        })?;
        let bytes =
            Zeroizing::new(hex::decode(hexpart.trim()).map_err(|_| {
                Error::Key(format!("key file ({label}): the key is not valid hex"))
            })?);
        let exact32 = |what: &str| -> Result<[u8; 32]> {
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| Error::Key(format!("{what} must be 32 bytes, got {}", bytes.len())))
        };
        match label {
            PRIVATE_LABEL => {
                let mut b = exact32("an X25519 private key")?;
                let k = PrivateKey::from_bytes(b);
                b.zeroize();
                Ok(KeyFile::Private(k))
            }
            PUBLIC_LABEL => Ok(KeyFile::Public(PublicKey(exact32("an X25519 public key")?))),
            PSK_LABEL => Ok(KeyFile::PreShared(PreSharedKey::from_bytes(&bytes)?)),
            other => Err(Error::Key(format!(
                "unknown key file label {other:?}: expected {PRIVATE_LABEL}, {PUBLIC_LABEL} or {PSK_LABEL}"
            ))),
        }
    }

    /// Reads a key file. Files holding a secret (private key, PSK) are refused when group or
    /// others have any permission on them.
    pub fn read(path: &Path) -> Result<KeyFile> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("reading key file {}", path.display()), e))?,
        );
        let kf = KeyFile::parse(&text).map_err(|e| match e {
            Error::Key(m) => Error::Key(format!("{}: {m}", path.display())),
            other => other,
        })?;
        if !matches!(kf, KeyFile::Public(_)) {
            check_private_permissions(path)?;
        }
        Ok(kf)
    }
}

/// Refuses a secret file that group or others can access (Unix mode & 0o077 != 0).
pub fn check_private_permissions(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::io(format!("reading permissions of {}", path.display()), e))?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(Error::KeyFilePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    Ok(())
}

/// Writes a secret file with mode 0600, refusing to overwrite an existing file.
pub fn write_secret_file(path: &Path, contents: &[u8]) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let ctx = || format!("creating {}", path.display());
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Key(format!(
                "{} already exists: refusing to overwrite a key; choose another name or remove it",
                path.display()
            ))
        } else {
            Error::io(ctx(), e)
        }
    })?;
    f.write_all(contents).map_err(|e| Error::io(ctx(), e))?;
    f.sync_all().map_err(|e| Error::io(ctx(), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn key_files_roundtrip() {
        let k = PrivateKey::generate().unwrap();
        let KeyFile::Private(k2) = KeyFile::parse(&k.to_file_line()).unwrap() else {
            panic!("not a private key")
        };
        assert_eq!(k.public_key(), k2.public_key());
        let KeyFile::Public(p) = KeyFile::parse(&k.public_key().to_file_line()).unwrap() else {
            panic!("not a public key")
        };
        assert_eq!(p, k.public_key());
        let psk = PreSharedKey::generate().unwrap();
        let KeyFile::PreShared(p2) = KeyFile::parse(&psk.to_file_line()).unwrap() else {
            panic!("not a psk")
        };
        assert_eq!(p2.as_bytes(), psk.as_bytes());
    }

    #[test]
    fn debug_of_keys_is_redacted() {
        let psk = PreSharedKey::from_bytes(&[0xab; 32]).unwrap();
        let s = format!("{psk:?} {:?}", PrivateKey::from_bytes([0xab; 32]));
        assert!(!s.contains("abab"), "{s}");
    }

    #[test]
    fn psk_of_wrong_length_is_refused() {
        assert!(PreSharedKey::from_bytes(&[1; 20]).is_err());
    }

    #[test]
    fn bare_hex_pre_shared_key_files_are_accepted() {
        for (text, len) in [
            ("00112233445566778899aabbccddeeff\n", 16),
            ("00112233445566778899AABBCCDDEEFF0011223344556677", 24),
            (
                "  00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff  ",
                32,
            ),
        ] {
            let KeyFile::PreShared(k) = KeyFile::parse(text).unwrap() else {
                panic!("{text:?} is not read as a pre-shared key")
            };
            assert_eq!(k.as_bytes().len(), len);
        }
        for bad in [
            "0011",
            "00112233445566778899aabbccddeef",
            "00112233445566778899aabbccddeeff00",
        ] {
            let e = KeyFile::parse(bad).unwrap_err().to_string();
            assert!(e.contains("bare hex pre-shared key"), "{e}");
        }
    }

    #[test]
    fn psk_keygen_bits_128_makes_an_aes128_key() {
        assert_eq!(
            PreSharedKey::generate_bits(128).unwrap().as_bytes().len(),
            16
        );
        assert_eq!(
            PreSharedKey::generate_bits(256).unwrap().as_bytes().len(),
            32
        );
        assert!(PreSharedKey::generate_bits(64).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn group_readable_private_key_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bank.key");
        write_secret_file(
            &p,
            PrivateKey::generate().unwrap().to_file_line().as_bytes(),
        )
        .unwrap();
        assert!(KeyFile::read(&p).is_ok());
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = KeyFile::read(&p).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
