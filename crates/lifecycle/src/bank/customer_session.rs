//! A customer user's API session (issue #10): what an API client of scope `login` (the bank's
//! internet-banking front end) shows for a signed-in user — the customer's own user list —
//! is bound to that user's login, never to a user the client merely names.
//!
//! `POST /v1/validate` (an accepted code) and `POST /v1/login` (a user who needs no one-time
//! password) answer a session token; the client sends it back as `X-Customer-Session`. The
//! token is stateless, so a login writes nothing more and any node of the bank accepts it:
//! `tlcs1.` + base64url(`client \n customer \n login \n issued-unix-seconds`) + `.` +
//! base64url(HMAC-SHA-256 under the server's [`SessionKey`]). It is valid
//! `web.session_idle_minutes` from the login, only with the API key of the client it was
//! issued to, and only while the user exists and is not locked (checked at each use).
//! A forged, altered, expired or foreign token, a removed or locked user: one answer,
//! [`Error::CustomerSessionRequired`], audited with the true reason.

use super::Bank;
use crate::auth::Caller;
use crate::error::Error;
use crate::ids::{CustomerId, LoginId, UserRef};
use crate::store::Store;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The HKDF `info` of the session key derived from the master key.
pub const SESSION_KEY_INFO: &str = "tokenline customer session v1";

/// The token's prefix (version 1).
const PREFIX: &str = "tlcs1.";

/// The 256-bit HMAC key that signs customer sessions. Every node of a bank must hold the
/// same key (derive it from the master key: `tokenline bank serve` does); a random key
/// ([`SessionKey::random`]) serves a single process. Zeroized on drop; `Debug` redacts it.
pub struct SessionKey(zeroize::Zeroizing<[u8; 32]>);

impl SessionKey {
    /// A key from 32 bytes (HKDF-SHA-256 of the master key with [`SESSION_KEY_INFO`]).
    pub fn new(bytes: impl Into<zeroize::Zeroizing<[u8; 32]>>) -> Self {
        SessionKey(bytes.into())
    }

    /// A fresh key from the OS random generator (sessions die with the process).
    ///
    /// # Errors
    /// The OS generator's failure.
    pub fn random() -> Result<Self, Error> {
        let mut k = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(k.as_mut())
            .map_err(|e| Error::InvalidInput(format!("OS random generator: {e}")))?;
        Ok(SessionKey(k))
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        let mut m = match <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_ref()) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts any key length"),
        };
        m.update(payload);
        m
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

/// What a well-signed token says.
struct Claims {
    client: String,
    user: UserRef,
    issued: DateTime<Utc>,
}

fn seal(key: &SessionKey, client: &str, user: &UserRef, issued: DateTime<Utc>) -> String {
    let payload = format!(
        "{client}\n{}\n{}\n{}",
        user.customer,
        user.login,
        issued.timestamp()
    );
    let tag = key.mac(payload.as_bytes()).finalize().into_bytes();
    format!("{PREFIX}{}.{}", B64.encode(payload), B64.encode(tag))
}

/// The claims of `token` when its tag is right (compared in constant time), else `None`.
fn open(key: &SessionKey, token: &str) -> Option<Claims> {
    let (payload, tag) = token.strip_prefix(PREFIX)?.split_once('.')?;
    let payload = B64.decode(payload).ok()?;
    let tag = B64.decode(tag).ok()?;
    key.mac(&payload).verify_slice(&tag).ok()?;
    let text = String::from_utf8(payload).ok()?;
    let mut parts = text.split('\n');
    let (client, customer, login, issued) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some(Claims {
        client: client.to_owned(),
        user: UserRef::new(
            CustomerId::parse(customer).ok()?,
            LoginId::parse(login).ok()?,
        ),
        issued: DateTime::from_timestamp(issued.parse().ok()?, 0)?,
    })
}

impl<S: Store> Bank<S> {
    /// Signs customer sessions with `key` (every node of a bank the same key).
    pub fn with_session_key(self, key: SessionKey) -> Self {
        let _ = self.session_key.set(key);
        self
    }

    /// The key set with [`Bank::with_session_key`], or a random one for this process.
    fn session_key(&self) -> Result<&SessionKey, Error> {
        if let Some(k) = self.session_key.get() {
            return Ok(k);
        }
        let k = SessionKey::random()?;
        Ok(self.session_key.get_or_init(|| k))
    }

    /// The session token for `user`, whose login the domain has just accepted for `caller`
    /// (an accepted code, or a right login password for a user without one-time password):
    /// `None` for a caller that is not an API client (the CLI, the pages keep their own).
    pub fn open_customer_session(
        &self,
        caller: &Caller,
        user: &UserRef,
        now: DateTime<Utc>,
    ) -> Option<String> {
        match caller {
            Caller::Client { name, .. } => {
                Some(seal(self.session_key().ok()?, name.as_str(), user, now))
            }
            _ => None,
        }
    }

    /// The signed-in user a session `token` stands for, presented by `caller`.
    ///
    /// # Errors
    /// [`Error::CustomerSessionRequired`] for a token that is forged, altered, issued to
    /// another client, older than `web.session_idle_minutes`, or whose user is gone or
    /// locked; the refusal is audited with the reason. A store failure as such.
    pub fn customer_session(
        &self,
        caller: &Caller,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<UserRef, Error> {
        let Caller::Client { name, .. } = caller else {
            return Err(Error::CustomerSessionRequired);
        };
        let life = Duration::minutes(i64::from(self.policy.web.session_idle_minutes));
        let why = match open(self.session_key()?, token) {
            None => "the token is not one this bank signed",
            Some(c) if c.client != name.as_str() => "issued to another API client",
            Some(c) if now >= c.issued + life || c.issued > now + Duration::minutes(1) => "expired",
            Some(c) => match self.run(|tx| Ok(Ok(tx.user(&c.user.customer, &c.user.login)?)))? {
                None => "the user was removed",
                Some(u) if u.locked_until.is_some_and(|t| t > now) => "the user is locked",
                Some(_) => return Ok(c.user),
            },
        };
        let mut e = self.entry(now, caller, caller.actor(), "customer_session");
        e.detail = why.to_owned();
        self.run(|tx| {
            self.audit_refusal(tx, e, &Error::CustomerSessionRequired)?;
            Ok(Ok(()))
        })?;
        Err(Error::CustomerSessionRequired)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn user() -> UserRef {
        UserRef::new(
            CustomerId::parse("C1").unwrap(),
            LoginId::parse("taro").unwrap(),
        )
    }

    #[test]
    fn a_sealed_session_opens_with_its_key_only_and_not_once_altered() {
        let key = SessionKey::new([7; 32]);
        let at = DateTime::from_timestamp(1_681_261_200, 0).unwrap();
        let t = seal(&key, "front", &user(), at);
        let c = open(&key, &t).unwrap();
        assert_eq!((c.client.as_str(), c.user, c.issued), ("front", user(), at));
        assert!(open(&SessionKey::new([8; 32]), &t).is_none(), "another key");
        // Any changed character of the payload or the tag breaks it.
        for i in PREFIX.len()..t.len() {
            let mut b = t.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(b).unwrap();
            assert!(altered == t || open(&key, &altered).is_none(), "byte {i}");
        }
        assert!(open(&key, "").is_none() && open(&key, "tlcs1.").is_none());
        assert!(format!("{key:?}").contains("redacted"));
    }
}
