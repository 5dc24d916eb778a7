//! Seed file imports into stock (scope `import`), all or nothing; with `skip_known`, the
//! records of a batch exported earlier in part are skipped when the bank holds the same
//! seed (issue #15: `seeds export --partial`, then `--new-only` or a full export).

use super::Bank;
use crate::audit::refuse_control;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::model::NewToken;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use subtle::ConstantTimeEq;

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
        self.authorize(caller, Action::Import, "import", now)?;
        refuse_control("import label", label)?;
        for t in tokens {
            self.check_import_drift(t)?;
        }
        let result = self.store.transaction(|tx| {
            // Every known serial is checked before anything is written: a different seed
            // refuses the whole file.
            let mut known = vec![false; tokens.len()];
            if skip_known {
                for (i, t) in tokens.iter().enumerate() {
                    if let Some(seed) = tx.token_seed(&t.serial)? {
                        if !bool::from(seed.expose().ct_eq(t.seed.expose())) {
                            return Ok(Err(Error::KnownSerialOtherSeed(t.serial.clone())));
                        }
                        known[i] = true;
                    }
                }
            }
            let skipped = known.iter().filter(|k| **k).count();
            let imported = tokens.len() - skipped;
            tx.record_import(digest, label, imported, now)?;
            for (t, k) in tokens.iter().zip(&known) {
                if !k {
                    tx.insert_token(t)?;
                }
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
            Ok(Ok(ImportOutcome { imported, skipped }))
        });
        let err = match result {
            Ok(Ok(o)) => return Ok(o),
            Ok(Err(e)) => e,
            Err(StoreError::Duplicate { what: "import", .. }) => {
                Error::DuplicateImport(digest.to_owned())
            }
            Err(StoreError::Duplicate { key, .. }) => Error::DuplicateSerial(key),
            Err(e) => return Err(e.into()),
        };
        // Nothing was imported; the refusal is audited on its own.
        self.store.transaction(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "import");
            e.subject = Some(digest.to_owned());
            self.audit_refusal(tx, e, &err)
        })?;
        Err(err)
    }
}
