//! Seed file imports into stock (scope `import`), all or nothing; with `skip_known`, the
//! records of a batch exported earlier in part are skipped when the bank holds the same
//! seed (issue #15: `seeds export --partial`, then `--new-only` or a full export). The
//! tokens held in memory go through the streaming import (`import_stream.rs`): one path.

use std::collections::HashSet;
use std::convert::Infallible;

use super::import_stream::{same_seed, StreamImportError};
use super::Bank;
use crate::auth::Caller;
use crate::error::Error;
use crate::model::NewToken;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// Tokens added to stock.
    pub imported: usize,
    /// Records skipped because the bank already holds the serial with the same seed.
    pub skipped: usize,
}

impl<S: Store> Bank<S> {
    /// Imports a batch of tokens into stock, all or nothing: a file imported before (same
    /// `digest`) or any serial already known imports nothing.
    pub fn import_tokens(
        &self,
        caller: &Caller,
        digest: &str,
        label: &str,
        tokens: &[NewToken],
        now: DateTime<Utc>,
    ) -> Result<usize, Error> {
        self.import(caller, digest, label, tokens, false, now)
            .map(|o| o.imported)
    }

    /// Like [`Bank::import_tokens`], but a record whose serial the bank already holds *with
    /// the same seed* (compared in constant time) is skipped and counted: the second export
    /// of a batch exported in part imports only the rest. A known serial with a different
    /// seed is still refused, naming the serial ([`Error::KnownSerialOtherSeed`]), and
    /// nothing is imported.
    pub fn import_tokens_skipping_known(
        &self,
        caller: &Caller,
        digest: &str,
        label: &str,
        tokens: &[NewToken],
        now: DateTime<Utc>,
    ) -> Result<ImportOutcome, Error> {
        self.import(caller, digest, label, tokens, true, now)
    }

    fn import(
        &self,
        caller: &Caller,
        digest: &str,
        label: &str,
        tokens: &[NewToken],
        skip_known: bool,
        now: DateTime<Utc>,
    ) -> Result<ImportOutcome, Error> {
        let records = tokens.iter().map(Ok::<_, Infallible>);
        self.import_stream(
            caller,
            digest,
            label,
            tokens.len(),
            skip_known,
            Some(tokens),
            records,
            now,
        )
        .map_err(|e| match e {
            StreamImportError::Bank(e) => e,
            StreamImportError::Source(never) => match never {},
        })
    }

    /// The refusal a file held in memory will meet, found without the write turn: a drift
    /// beyond the policy, a serial twice in the file, and — with a read of the store — the
    /// file imported before ([`Error::DuplicateImport`]) or a serial the bank already holds ([`Error::DuplicateSerial`]; with `skip_known`, one it
    /// holds with another seed, [`Error::KnownSerialOtherSeed`], compared in constant time).
    /// `None`: nothing known refuses it now; the write transaction checks again.
    pub(super) fn import_refusal_by_read(
        &self,
        digest: &str,
        tokens: &[NewToken],
        skip_known: bool,
    ) -> Result<Option<Error>, StoreError> {
        let mut seen = HashSet::with_capacity(if skip_known { 0 } else { tokens.len() });
        for t in tokens {
            if let Err(e) = self.check_import_drift(t) {
                return Ok(Some(e));
            }
            // With `skip_known` a repeated record of the same seed is skipped, as the stream
            // does: only the store decides.
            if !skip_known && !seen.insert(t.serial.as_str()) {
                return Ok(Some(Error::DuplicateSerial(t.serial.to_string())));
            }
        }
        self.store.read(|tx| {
            // A file imported before is refused as such, as the write transaction would.
            if tx.import_recorded(digest)? {
                return Ok(Some(Error::DuplicateImport(digest.to_owned())));
            }
            for t in tokens {
                if !skip_known {
                    if tx.token(&t.serial)?.is_some() {
                        return Ok(Some(Error::DuplicateSerial(t.serial.to_string())));
                    }
                } else if let Some(seed) = tx.token_seed(&t.serial)? {
                    if !same_seed(&seed, t) {
                        return Ok(Some(Error::KnownSerialOtherSeed(t.serial.clone())));
                    }
                }
            }
            Ok(None)
        })
    }
}
