//! Importing a seed file as a stream (issue #14): the tokens are inserted one at a time into
//! one transaction, so a million-token file is imported all or nothing without ever holding
//! its tokens in memory. The rules: a file imported before (same digest) or any serial already
//! known imports nothing; a starting drift no larger than the policy's `max_drift_steps`
//! (RFC 6238 §6, issue #13); with `skip_known` (issue #15), a record whose serial the bank
//! holds with the same seed is skipped and counted, one with another seed refuses the file.
//! [`Bank::import_tokens`] and [`Bank::import_tokens_skipping_known`] are this stream over a
//! slice: one path.

use super::import::ImportOutcome;
use super::Bank;
use crate::audit::refuse_control;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::model::NewToken;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::borrow::Borrow;
use subtle::ConstantTimeEq;

/// With `skip_known`, the records read ahead whose serials are looked up before any of them is
/// written: a store that writes in batches (PostgreSQL: one `COPY` per batch, flushed by a
/// lookup) still writes whole batches, and memory stays bounded.
const SKIP_LOOKAHEAD: usize = 1024;

/// The most tokens one seed file imported over the network (`POST /v1/imports`, the back
/// office's upload page) may hold (issue #10): the import is one transaction, and on SQLite
/// the database's only writer is held meanwhile, so every login waits for it. 25,000 tokens
/// hold it for about 0.2 s on a 2-core machine (`HTTP_BENCH_IMPORT=tokens:25000`,
/// `scripts/bench bank`); a larger batch comes in several files, or is imported with
/// `bank import` on the bank's server (no bound: root's deliberate act).
pub const NETWORK_MAX_TOKENS: usize = 25_000;

/// Why a streamed import imported nothing: the bank refused it, or the source of the tokens
/// (the seed file: a bad record, a damaged chunk) failed part-way.
#[derive(Debug)]
pub enum StreamImportError<E> {
    /// The bank refused the import (duplicate file or serial, a count that differs from the
    /// one announced, a starting drift beyond the policy, storage).
    Bank(Error),
    /// The source failed; the transaction was rolled back.
    Source(E),
}

impl<E: std::fmt::Display> std::fmt::Display for StreamImportError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamImportError::Bank(e) => e.fmt(f),
            StreamImportError::Source(e) => e.fmt(f),
        }
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for StreamImportError<E> {}

/// Whether the bank's `stored` seed is the seed of `t` (compared in constant time).
pub(super) fn same_seed(stored: &crate::model::Seed, t: &NewToken) -> bool {
    bool::from(stored.expose().ct_eq(t.seed.expose()))
}

impl<S: Store> Bank<S> {
    /// A token's starting drift against the policy: a drift beyond `max_drift_steps` is
    /// refused, naming the token (the bank never remembers more, RFC 6238 §6).
    pub(super) fn check_import_drift(&self, t: &NewToken) -> Result<(), Error> {
        let max = self.policy.validation.max_drift_steps;
        if matches!(t.params.mode, otp_core::Mode::Totp { .. }) && t.drift.unsigned_abs() > max {
            return Err(Error::InvalidInput(format!(
                "token {}: the starting time drift of {} steps is beyond the policy's max_drift_steps ({max}): fix the seed file or the policy",
                t.serial, t.drift
            )));
        }
        Ok(())
    }

    /// Imports `count` tokens read one at a time from `tokens` into stock, in one
    /// transaction: all or nothing. `count` is what the file announces (the `.tlseed` header,
    /// a first pass over a PSKC file); it is recorded with the import up front, so a repeated
    /// file is refused before any token is read, and a source that yields another number of
    /// tokens imports nothing.
    ///
    /// Memory: one token at a time (the stores write in batches: SQLite row by row,
    /// PostgreSQL one binary `COPY` per batch).
    pub fn import_token_stream<T, E>(
        &self,
        caller: &Caller,
        digest: &str,
        label: &str,
        count: usize,
        tokens: impl Iterator<Item = Result<T, E>>,
        now: DateTime<Utc>,
    ) -> Result<usize, StreamImportError<E>>
    where
        T: Borrow<NewToken>,
    {
        self.import_stream(caller, digest, label, count, false, None, tokens, now)
            .map(|o| o.imported)
    }

    /// [`Bank::import_token_stream`] that skips, and counts, the records whose serial the bank
    /// already holds *with the same seed* (compared in constant time): the second export of a
    /// batch exported in part imports only the rest (issue #15). A known serial with another
    /// seed refuses the whole file, naming the serial ([`Error::KnownSerialOtherSeed`]).
    /// `count` is the number of records in the file, skipped ones included.
    ///
    /// Memory: at most `SKIP_LOOKAHEAD` tokens at a time.
    pub fn import_token_stream_skipping_known<T, E>(
        &self,
        caller: &Caller,
        digest: &str,
        label: &str,
        count: usize,
        tokens: impl Iterator<Item = Result<T, E>>,
        now: DateTime<Utc>,
    ) -> Result<ImportOutcome, StreamImportError<E>>
    where
        T: Borrow<NewToken>,
    {
        self.import_stream(caller, digest, label, count, true, None, tokens, now)
    }

    /// The import itself. `whole`: the file's tokens when they are all in memory (an upload,
    /// [`Bank::import_tokens`]): checked against the store with a read before the write turn
    /// ([`Bank::import_refusal_by_read`]), so a file that will be refused costs the writer
    /// nothing (issue #10 review: a refused 20,000-token file held it for 0.8 s, and could be
    /// posted again and again). The write transaction still checks every token (all or
    /// nothing: a serial imported meanwhile is refused there).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn import_stream<T, E>(
        &self,
        caller: &Caller,
        digest: &str,
        label: &str,
        count: usize,
        skip_known: bool,
        whole: Option<&[NewToken]>,
        mut tokens: impl Iterator<Item = Result<T, E>>,
        now: DateTime<Utc>,
    ) -> Result<ImportOutcome, StreamImportError<E>>
    where
        T: Borrow<NewToken>,
    {
        self.authorize(caller, Action::Import, "import", now)
            .map_err(StreamImportError::Bank)?;
        refuse_control("import label", label).map_err(StreamImportError::Bank)?;
        if !matches!(caller, Caller::Local(_)) && count > NETWORK_MAX_TOKENS {
            let err = Error::ImportTooLarge {
                what: "seed file",
                unit: "tokens",
                records: count,
                max: NETWORK_MAX_TOKENS,
                cli: "tokenline bank import FILE --key KEY",
            };
            return Err(self.audit_import_refusal(caller, digest, err, now));
        }
        if let Some(all) = whole {
            match self.import_refusal_by_read(digest, all, skip_known) {
                Ok(None) => {}
                Ok(Some(err)) => return Err(self.audit_import_refusal(caller, digest, err, now)),
                Err(e) => return Err(StreamImportError::Bank(e.into())),
            }
        }
        let mut stopped: Option<StreamImportError<E>> = None;
        let ahead = if skip_known { SKIP_LOOKAHEAD } else { 1 };
        let result = self.store.transaction(|tx| {
            tx.record_import(digest, label, count, now)?;
            let (mut imported, mut skipped) = (0usize, 0usize);
            let mut chunk: Vec<T> = Vec::with_capacity(ahead);
            let mut known: Vec<bool> = Vec::with_capacity(ahead);
            loop {
                chunk.clear();
                for t in tokens.by_ref().take(ahead) {
                    match t {
                        Ok(t) => chunk.push(t),
                        Err(e) => {
                            stopped = Some(StreamImportError::Source(e));
                            return Err(StoreError::Backend("the seed file failed".into()));
                        }
                    }
                }
                if chunk.is_empty() {
                    break;
                }
                known.clear();
                for t in &chunk {
                    let t = t.borrow();
                    if let Err(e) = self.check_import_drift(t) {
                        stopped = Some(StreamImportError::Bank(e));
                        return Err(StoreError::Backend("refused".into()));
                    }
                    let seed = match skip_known {
                        true => tx.token_seed(&t.serial)?,
                        false => None,
                    };
                    if let Some(seed) = &seed {
                        if !same_seed(seed, t) {
                            stopped = Some(StreamImportError::Bank(Error::KnownSerialOtherSeed(
                                t.serial.clone(),
                            )));
                            return Err(StoreError::Backend("refused".into()));
                        }
                    }
                    known.push(seed.is_some());
                }
                for (t, k) in chunk.iter().zip(&known) {
                    if *k {
                        skipped += 1;
                    } else {
                        tx.insert_token(t.borrow())?;
                        imported += 1;
                    }
                }
            }
            let n = imported + skipped;
            if n != count {
                stopped = Some(StreamImportError::Bank(Error::InvalidInput(format!(
                    "the seed file announced {count} tokens but holds {n}: nothing was imported"
                ))));
                return Err(StoreError::Backend("count".into()));
            }
            let mut e = self.entry(now, caller, caller.actor(), "import");
            e.subject = Some(digest.to_owned());
            e.detail = if skip_known {
                format!(
                    "{imported} tokens from {label}; {skipped} known with the same seed skipped"
                )
            } else {
                format!("{imported} tokens from {label}")
            };
            self.record(tx, e)?;
            Ok(ImportOutcome { imported, skipped })
        });
        if let Some(s) = stopped {
            // The source's failure is the caller's to report (nothing was written); the
            // bank's own refusals are audited as below.
            match s {
                StreamImportError::Source(_) => return Err(s),
                StreamImportError::Bank(err) => {
                    return Err(self.audit_import_refusal(caller, digest, err, now))
                }
            }
        }
        let err = match result {
            Ok(o) => return Ok(o),
            Err(StoreError::Duplicate { what: "import", .. }) => {
                Error::DuplicateImport(digest.to_owned())
            }
            Err(StoreError::Duplicate { key, .. }) => Error::DuplicateSerial(key),
            Err(e) => return Err(StreamImportError::Bank(e.into())),
        };
        Err(self.audit_import_refusal(caller, digest, err, now))
    }

    /// Audits a refused import in its own transaction (the import rolled back).
    fn audit_import_refusal<E>(
        &self,
        caller: &Caller,
        digest: &str,
        err: Error,
        now: DateTime<Utc>,
    ) -> StreamImportError<E> {
        let audited = self.store.transaction(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "import");
            e.subject = Some(digest.to_owned());
            self.audit_refusal(tx, e, &err)
        });
        match audited {
            Ok(()) => StreamImportError::Bank(err),
            Err(e) => StreamImportError::Bank(e.into()),
        }
    }
}
