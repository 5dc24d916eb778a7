//! The signed device list: which Ed25519 device key each token has (`spec/seedfile.md` §10).
//!
//! `tokenline line enroll` collects the device keys of blank tokens at a station separate
//! from (and earlier than) the provisioning line, and signs the list with the enrollment
//! station's Ed25519 key. The bank pins that station's public key (`--enroller`) and checks
//! every sealed record's signature against the device key listed for its hardware id, so a
//! line host that swaps in its own key, or forges a device key, is caught at import.
//!
//! ```text
//! tokenline-device-list/v1
//! enroller d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a
//! device 0123456789abcdef 3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c
//! signature <128 hex digits: Ed25519 by the enroller over every byte before this line>
//! ```
//!
//! Key files, one line each: `tokenline-ed25519-private <hex>` (0600) and
//! `tokenline-ed25519-public <hex>`.

use std::collections::BTreeMap;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::keys::{check_private_permissions, random, write_secret_file};
use crate::{Error, Result};

/// First line of a device list.
pub const HEADER: &str = "tokenline-device-list/v1";
/// Label of an enroller private key file.
pub const ENROLLER_PRIVATE_LABEL: &str = "tokenline-ed25519-private";
/// Label of an enroller public key file.
pub const ENROLLER_PUBLIC_LABEL: &str = "tokenline-ed25519-public";

fn bad(m: impl Into<String>) -> Error {
    Error::Devices(m.into())
}

fn hex32(s: &str, what: &str) -> Result<[u8; 32]> {
    hex::decode(s)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| bad(format!("{what} is not 64 hex digits")))
}

/// The enrollment station's Ed25519 signing key. `Debug` shows only the public key.
pub struct EnrollerKey(SigningKey);

impl std::fmt::Debug for EnrollerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EnrollerKey(public {}, redacted)",
            hex::encode(self.public())
        )
    }
}

impl EnrollerKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Result<Self> {
        let mut b = Zeroizing::new([0u8; 32]);
        random(&mut b[..])?;
        Ok(EnrollerKey(SigningKey::from_bytes(&b)))
    }

    /// The public key the bank pins.
    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// Writes `<stem>.key` (0600) and `<stem>.pub`.
    pub fn save(&self, private: &Path, public: &Path) -> Result<()> {
        let secret = Zeroizing::new(self.0.to_bytes());
        let line = Zeroizing::new(format!(
            "{ENROLLER_PRIVATE_LABEL} {}\n",
            hex::encode(*secret)
        ));
        write_secret_file(private, line.as_bytes())?;
        std::fs::write(public, public_key_line(&self.public()))
            .map_err(|e| Error::io(format!("writing {}", public.display()), e))
    }

    /// Reads a private key file (refused when group or others can read it).
    pub fn load(path: &Path) -> Result<Self> {
        check_private_permissions(path)?;
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?,
        );
        let hex = text
            .trim()
            .strip_prefix(ENROLLER_PRIVATE_LABEL)
            .ok_or_else(|| {
                bad(format!(
                    "{} is not a {ENROLLER_PRIVATE_LABEL} key file",
                    path.display()
                ))
            })?
            .trim();
        let secret = Zeroizing::new(hex32(hex, "the private key")?);
        Ok(EnrollerKey(SigningKey::from_bytes(&secret)))
    }
}

/// `tokenline-ed25519-public <hex>\n`.
pub fn public_key_line(key: &[u8; 32]) -> String {
    format!("{ENROLLER_PUBLIC_LABEL} {}\n", hex::encode(key))
}

/// Reads an enroller public key file.
pub fn read_public_key(path: &Path) -> Result<[u8; 32]> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let hex = text
        .trim()
        .strip_prefix(ENROLLER_PUBLIC_LABEL)
        .ok_or_else(|| {
            bad(format!(
                "{} is not a {ENROLLER_PUBLIC_LABEL} key file",
                path.display()
            ))
        })?
        .trim();
    hex32(hex, "the enroller public key")
}

/// Hardware id (16 lower-case hex digits) → the token's Ed25519 device key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceList {
    devices: BTreeMap<String, [u8; 32]>,
}

impl DeviceList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or confirms) a token; a hardware id already listed with another key is refused.
    pub fn add(&mut self, hardware_id: &str, key: [u8; 32]) -> Result<()> {
        let id = hardware_id.to_ascii_lowercase();
        if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!(
                "hardware id {hardware_id:?} is not 16 hex digits"
            )));
        }
        match self.devices.get(&id) {
            Some(k) if *k != key => Err(bad(format!(
                "token {id} is already listed with another device key: it was reset or replaced; keep it out of the batch"
            ))),
            _ => {
                self.devices.insert(id, key);
                Ok(())
            }
        }
    }

    /// The device key enrolled for `hardware_id`.
    pub fn key_of(&self, hardware_id: &str) -> Option<&[u8; 32]> {
        self.devices.get(&hardware_id.to_ascii_lowercase())
    }

    /// How many tokens are listed.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    /// True when no token is listed.
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// The signed text (module docs).
    pub fn to_signed_text(&self, by: &EnrollerKey) -> String {
        let mut body = format!("{HEADER}\nenroller {}\n", hex::encode(by.public()));
        for (id, key) in &self.devices {
            body.push_str(&format!("device {id} {}\n", hex::encode(key)));
        }
        let sig = by.0.sign(body.as_bytes());
        body.push_str(&format!("signature {}\n", hex::encode(sig.to_bytes())));
        body
    }

    /// Parses a signed list and checks its signature against the pinned enroller key.
    pub fn from_signed_text(text: &str, enroller: &[u8; 32]) -> Result<Self> {
        let at = text
            .rfind("signature ")
            .filter(|&i| i == 0 || text.as_bytes()[i - 1] == b'\n')
            .ok_or_else(|| bad("no signature line: the list is incomplete"))?;
        let (body, sig_line) = text.split_at(at);
        let sig_hex = sig_line.trim_end().strip_prefix("signature ").unwrap_or("");
        let sig: [u8; 64] = hex::decode(sig_hex)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("the signature is not 128 hex digits"))?;
        let mut lines = body.lines();
        if lines.next() != Some(HEADER) {
            return Err(bad(format!("the first line is not {HEADER:?}")));
        }
        let signer = lines
            .next()
            .and_then(|l| l.strip_prefix("enroller "))
            .ok_or_else(|| bad("the second line does not name the enroller"))?;
        if hex32(signer, "the enroller key")? != *enroller {
            return Err(bad(
                "it was signed by another enrollment station than the --enroller key given",
            ));
        }
        VerifyingKey::from_bytes(enroller)
            .map_err(|_| bad("the --enroller key is not a valid Ed25519 key"))?
            .verify_strict(body.as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| {
                bad("the signature does not verify: the list was altered after enrollment")
            })?;
        let mut list = DeviceList::new();
        for (i, line) in lines.enumerate() {
            let mut parts = line.split(' ');
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some("device"), Some(id), Some(key), None) => {
                    list.add(id, hex32(key, "a device key")?)?;
                }
                _ => return Err(bad(format!("line {} is not `device <hwid> <key>`", i + 3))),
            }
        }
        Ok(list)
    }

    /// Reads and checks `path` (see [`DeviceList::from_signed_text`]).
    pub fn read(path: &Path, enroller: &[u8; 32]) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading device list {}", path.display()), e))?;
        Self::from_signed_text(&text, enroller).map_err(|e| match e {
            Error::Devices(m) => Error::Devices(format!("{}: {m}", path.display())),
            other => other,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_list_reads_back_and_any_change_is_refused() {
        let by = EnrollerKey::generate().unwrap();
        let mut list = DeviceList::new();
        list.add("0123456789ABCDEF", [3; 32]).unwrap();
        list.add("0000000000000001", [4; 32]).unwrap();
        let text = list.to_signed_text(&by);
        assert_eq!(
            DeviceList::from_signed_text(&text, &by.public()).unwrap(),
            list
        );
        let swapped = text.replace(&hex::encode([3u8; 32]), &hex::encode([5u8; 32]));
        assert!(DeviceList::from_signed_text(&swapped, &by.public()).is_err());
        let other = EnrollerKey::generate().unwrap();
        assert!(DeviceList::from_signed_text(&text, &other.public()).is_err());
        // Signed by another station that names itself: still refused (pinned key).
        assert!(DeviceList::from_signed_text(&list.to_signed_text(&other), &by.public()).is_err());
    }

    #[test]
    fn a_token_listed_twice_with_two_keys_is_refused() {
        let mut list = DeviceList::new();
        list.add("0123456789abcdef", [3; 32]).unwrap();
        list.add("0123456789abcdef", [3; 32]).unwrap();
        assert!(list.add("0123456789abcdef", [4; 32]).is_err());
    }
}
