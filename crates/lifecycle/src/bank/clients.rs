//! API clients: the bank's own systems, each with a bearer key and scopes (managed from the
//! CLI only), and the authentication of a presented key.

use super::Bank;
use crate::access::{hash_bearer, ApiClient, BearerSecret};
use crate::auth::{Action, Caller, Scope};
use crate::error::Error;
use crate::ids::ClientName;
use crate::store::{Listing, Store, StoreError};
use chrono::{DateTime, Utc};

/// The prefix of API keys (`tlk_` + 43 base64url characters).
pub const API_KEY_PREFIX: &str = "tlk_";

impl<S: Store> Bank<S> {
    /// Adds an API client and returns its bearer key: shown once, stored only as a hash.
    pub fn add_client(
        &self,
        caller: &Caller,
        name: &ClientName,
        scopes: &[Scope],
        now: DateTime<Utc>,
    ) -> Result<(BearerSecret, ApiClient), Error> {
        self.authorize(caller, Action::ManageAccess, "client_add", now)?;
        if scopes.is_empty() {
            return Err(Error::InvalidInput(
                "give at least one scope: --scope login,customer-admin,provisioning,import,backoffice,audit"
                    .into(),
            ));
        }
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let key = BearerSecret::generate(API_KEY_PREFIX)?;
        let client = ApiClient {
            name: name.clone(),
            scopes,
            key_hash: key.hash(),
            created_at: now,
            revoked_at: None,
        };
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "client_add");
            e.subject = Some(name.to_string());
            match tx.insert_client(&client) {
                Err(StoreError::Duplicate { .. }) => {
                    let err = Error::DuplicateClient(name.to_string());
                    self.audit_refusal(tx, e, &err)?;
                    return Ok(Err(err));
                }
                r => r?,
            }
            e.detail = format!(
                "scopes {}",
                client
                    .scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            self.record(tx, e)?;
            Ok(Ok(()))
        })?;
        Ok((key, client))
    }

    /// Every API client (no key, only its existence and scopes), a damaged row in its
    /// place ([`Listing`]).
    pub fn list_clients(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Result<Listing<ApiClient>, Error> {
        self.authorize(caller, Action::ManageAccess, "client_list", now)?;
        Ok(self.store.read(|tx| tx.clients())?)
    }

    /// Revokes an API client's key: it authenticates nothing from now on.
    pub fn revoke_client(
        &self,
        caller: &Caller,
        name: &ClientName,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.authorize(caller, Action::ManageAccess, "client_revoke", now)?;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "client_revoke");
            e.subject = Some(name.to_string());
            // Only the target's row: another client's damaged row must not stop an
            // emergency revocation.
            let mut c = match tx.client(name)? {
                Some(c) if c.revoked_at.is_none() => c,
                found => {
                    let err = match found {
                        Some(_) => Error::ClientRevoked(name.to_string()),
                        None => Error::UnknownClient(name.to_string()),
                    };
                    self.audit_refusal(tx, e, &err)?;
                    return Ok(Err(err));
                }
            };
            c.revoked_at = Some(now);
            tx.update_client(&c)?;
            self.record(tx, e)?;
            Ok(Ok(()))
        })
    }

    /// The caller a bearer key authenticates: [`Error::Unauthenticated`] for an unknown or
    /// revoked key (one answer). The key is looked up by its SHA-256, never compared as text.
    ///
    /// A read ([`Store::read`]): it writes nothing, so it takes no write turn — a flood of
    /// made-up keys never queues before the writer of validations (issue #10 review).
    pub fn authenticate(&self, key: &str) -> Result<Caller, Error> {
        let hash = hash_bearer(key);
        let client = self.store.read(|tx| tx.client_by_key(&hash))?;
        match client {
            Some(c) if c.revoked_at.is_none() => Ok(Caller::Client {
                name: c.name,
                scopes: c.scopes,
            }),
            _ => Err(Error::Unauthenticated),
        }
    }
}
