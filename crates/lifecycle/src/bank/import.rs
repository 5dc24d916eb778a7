//! Seed file imports into stock (scope `import`), all or nothing; with `skip_known`, the
//! records of a batch exported earlier in part are skipped when the bank holds the same
//! seed (issue #15: `seeds export --partial`, then `--new-only` or a full export). The
//! tokens held in memory go through the streaming import (`import_stream.rs`): one path.

use std::convert::Infallible;

use super::import_stream::StreamImportError;
use super::Bank;
use crate::auth::Caller;
use crate::error::Error;
use crate::model::NewToken;
use crate::store::Store;
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
            records,
            now,
        )
        .map_err(|e| match e {
            StreamImportError::Bank(e) => e,
            StreamImportError::Source(never) => match never {},
        })
    }
}
