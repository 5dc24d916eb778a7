//! Duplicate serial numbers: the one check every reader and writer of this crate applies
//! (issue #14).
//!
//! A serial may appear once per file ([`crate::Error::DuplicateSerial`], naming it).
//! [`SerialSet`] remembers the serials seen so far in about 28 bytes each, with no peak when
//! it grows. A conversion (`seeds convert`: PSKC → `.tlseed`, or back) runs that check once,
//! not twice: the readers of this crate refuse a repeated serial themselves, which the
//! [`UniqueSerials`] trait records in the type, and the writers' `copy_from` take such a
//! reader and skip their own set — so a million-key conversion holds one set, not two.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::record::SeedRecord;
use crate::{Error, Result};

/// The serials seen so far in one file, to refuse a repeated one.
///
/// Each serial is kept as a 128-bit digest (SHA-256, truncated): 16 bytes whatever the
/// serial's length, with a chance of two different serials colliding below 10⁻²⁴ for a
/// million serials. The digests sit in a B-tree rather than a hash table: about 28 bytes a
/// serial with the nodes' slack (28 MiB for a million), grown a node at a time, where a hash
/// table holds its old and its doubled table at once while it grows (51 MiB at a million).
#[derive(Default)]
pub struct SerialSet(BTreeSet<u128>);

impl SerialSet {
    /// An empty set.
    pub fn new() -> SerialSet {
        SerialSet::default()
    }

    /// Adds `serial`; false if it was already there (a duplicate).
    pub fn insert(&mut self, serial: &str) -> bool {
        let h = Sha256::digest(serial.as_bytes());
        let mut b = [0u8; 16];
        b.copy_from_slice(&h[..16]);
        self.0.insert(u128::from_be_bytes(b))
    }

    /// Adds `serial` (record `index` of the file), refusing a duplicate by name.
    pub fn check(&mut self, serial: &str, index: u64) -> Result<()> {
        if self.insert(serial) {
            Ok(())
        } else {
            Err(Error::DuplicateSerial {
                serial: serial.to_owned(),
                index,
            })
        }
    }

    /// How many serials were added.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SerialSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SerialSet({} serials)", self.0.len())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Records from a reader of this crate that refuses a repeated serial itself, with
/// [`Error::DuplicateSerial`] naming it, before handing out the record: [`crate::pskc::Records`],
/// [`crate::tlseed::Reader`] and [`crate::AnyReader`] (whose sealed records were checked by
/// [`crate::sealed::open`]). Sealed: no other type can claim it, so a writer's `copy_from`
/// (`tlseed::Writer::copy_from`, `pskc::Writer::copy_from`) may leave out its own set.
pub trait UniqueSerials: Iterator<Item = Result<SeedRecord>> + sealed::Sealed {}

impl<R: std::io::BufRead> sealed::Sealed for crate::pskc::Records<R> {}
impl<R: std::io::BufRead> UniqueSerials for crate::pskc::Records<R> {}
impl<R: std::io::Read> sealed::Sealed for crate::tlseed::Reader<R> {}
impl<R: std::io::Read> UniqueSerials for crate::tlseed::Reader<R> {}
impl sealed::Sealed for crate::AnyReader {}
impl UniqueSerials for crate::AnyReader {}

/// Why a writer's `copy_from` stopped: the source failed (a bad record, a duplicate serial, a
/// damaged chunk) or writing did. Either way the output is incomplete: write it through
/// [`crate::output::AtomicFile`] so that nothing is left behind.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Reading the source failed.
    #[error("{0}")]
    Read(Error),
    /// Writing the output failed.
    #[error("{0}")]
    Write(Error),
}

/// The records of `source` as a writer's `copy_from` takes them: the source's errors are
/// [`CopyError::Read`]; a writer that wrote records before (`written` > 0) still checks the
/// source's serials against them with its own set `own`, which is left empty otherwise.
pub(crate) fn copy_source(
    source: impl UniqueSerials,
    own: &mut SerialSet,
    written: u64,
) -> impl Iterator<Item = std::result::Result<SeedRecord, CopyError>> {
    let mut own = (written > 0).then(|| std::mem::take(own));
    source.zip(written..).map(move |(r, index)| {
        let rec = r.map_err(CopyError::Read)?;
        if let Some(set) = &mut own {
            set.check(&rec.serial, index).map_err(CopyError::Read)?;
        }
        Ok(rec)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_serial_is_refused_by_name_with_its_record_index() {
        let mut s = SerialSet::new();
        s.check("23456789", 0).unwrap();
        s.check("23456790", 1).unwrap();
        match s.check("23456789", 2) {
            Err(Error::DuplicateSerial { serial, index }) => {
                assert_eq!((serial.as_str(), index), ("23456789", 2));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn serials_differing_in_case_or_padding_are_different_serials() {
        let mut s = SerialSet::new();
        assert!(s.insert("ab12"));
        assert!(s.insert("AB12"));
        assert!(s.insert("ab12 "));
        assert!(s.insert("0ab12"));
        assert!(!s.insert("ab12"));
    }
}
