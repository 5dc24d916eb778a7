//! A customer user's API session (issue #10): what an API client of scope `login` (the bank's
//! internet-banking front end) does for a user — list the customer's users, register a token
//! (利用開始登録), skip registration — is bound to that user's own login, never to a user the
//! client merely names.
//!
//! Two stages ([`SessionStage`]): `POST /v1/login` with the right login password answers a
//! **first-factor** session when a code or registration comes next (DOMAIN.md §6); an
//! accepted `POST /v1/validate` inside that session, a login that needs no one-time password,
//! a registration and a skip answer a **signed-in** session. The client sends it back as
//! `X-Customer-Session`. Registering and skipping take either stage; the users list takes
//! only a signed-in one. A front end that checks the first factor itself (the policy's
//! `validation.registration_state_to_clients`) gets a signed-in session from an accepted
//! code alone ([`Bank::signed_in_session`]).
//!
//! The token is stateless, so a login writes nothing more and any node of the bank accepts
//! it: `tlcs2.` + base64url(`client \n customer \n login \n issued-unix-seconds \n stage \n
//! binding`) + `.` + base64url(HMAC-SHA-256 under the server's [`SessionKey`]). The binding
//! is a keyed digest of the user's login-password hash, so a session ends when the user's
//! login password changes or the user is removed and created again under the same login ID.
//! It is valid `web.session_idle_minutes` from the login (an absolute lifetime: the token is
//! not renewed by use), only with the API key of the client it was issued to, and only while
//! the user exists and is not locked (checked at each use); a lock ends it for good — the
//! user row keeps when it was last locked (`User::last_locked_at`), and a session issued
//! until then stays refused after an unlock. A forged, altered, expired or foreign token, a
//! removed, re-created, locked or since-locked user: one answer,
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

/// The token's prefix (version 2: with the stage and the binding).
const PREFIX: &str = "tlcs2.";

/// How far a customer session's user has signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// The login password was right and registration comes next (`POST /v1/login` answered
    /// `next: registration`): the session registers a token or skips, nothing else.
    FirstFactor,
    /// Signed in: an accepted one-time password, a registration, a skip, or a login that
    /// needs no one-time password.
    SignedIn,
}

impl SessionStage {
    fn tag(self) -> &'static str {
        match self {
            SessionStage::FirstFactor => "first_factor",
            SessionStage::SignedIn => "signed_in",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "first_factor" => Some(SessionStage::FirstFactor),
            "signed_in" => Some(SessionStage::SignedIn),
            _ => None,
        }
    }
}

/// A user's first factor, proved by a live first-factor session ([`Bank::first_factor_of`]) or
/// vouched for by the caller: whom it signs in, and when their login began (a signed-in
/// session continues that lifetime). Only the domain makes one.
#[derive(Debug, Clone)]
pub struct ProvedFirstFactor {
    user: UserRef,
    issued: DateTime<Utc>,
}

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

    /// The binding of a session to the user's current login-password hash (PHC string; empty
    /// for a user without one): 16 bytes of HMAC-SHA-256 under this key, base64url.
    fn binding(&self, login_password: Option<&crate::secret::SecretHash>) -> String {
        let mut m = self.mac(b"binding\n");
        m.update(login_password.map_or("", |h| h.as_phc()).as_bytes());
        B64.encode(&m.finalize().into_bytes()[..16])
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

/// The user a live session stands for, and when they logged in.
pub(super) struct Signed {
    /// The user.
    pub(super) user: UserRef,
    /// The login the session counts its lifetime from.
    pub(super) issued: DateTime<Utc>,
}

/// What a well-signed token says.
#[derive(Debug, PartialEq)]
struct Claims {
    client: String,
    user: UserRef,
    issued: DateTime<Utc>,
    stage: SessionStage,
    binding: String,
}

fn seal(key: &SessionKey, c: &Claims) -> String {
    let payload = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        c.client,
        c.user.customer,
        c.user.login,
        c.issued.timestamp(),
        c.stage.tag(),
        c.binding
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
    let mut next = || parts.next();
    let (client, customer, login, issued, stage, binding) =
        (next()?, next()?, next()?, next()?, next()?, next()?);
    if next().is_some() {
        return None;
    }
    Some(Claims {
        client: client.to_owned(),
        user: UserRef::new(
            CustomerId::parse(customer).ok()?,
            LoginId::parse(login).ok()?,
        ),
        issued: DateTime::from_timestamp(issued.parse().ok()?, 0)?,
        stage: SessionStage::parse(stage)?,
        binding: binding.to_owned(),
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

    /// The session token of stage `stage` for `user`, whose login the domain has just accepted
    /// for `caller` (see the module doc for which stage each step gives): `None` for a caller
    /// that is not an API client (the CLI, the pages keep their own) or a user gone since.
    ///
    /// # Errors
    /// A store failure reading the user's row (the database away, the row damaged), or no
    /// session key (the OS random generator failed): not "no session", which a front end
    /// would take for a sign-in that did not prove both factors.
    pub fn open_customer_session(
        &self,
        caller: &Caller,
        user: &UserRef,
        stage: SessionStage,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, Error> {
        self.session_from(caller, user, stage, now)
    }

    /// The session token of stage `stage` for `user`, counted from the login at `issued`: a
    /// step inside a session (validating, registering, skipping) continues the login's
    /// lifetime, never renews it.
    pub(super) fn session_from(
        &self,
        caller: &Caller,
        user: &UserRef,
        stage: SessionStage,
        issued: DateTime<Utc>,
    ) -> Result<Option<String>, Error> {
        let Caller::Client { name, .. } = caller else {
            return Ok(None);
        };
        let key = self.session_key()?;
        let Some(row) = self.store.read(|tx| tx.user(&user.customer, &user.login))? else {
            return Ok(None);
        };
        let claims = Claims {
            client: name.to_string(),
            user: user.clone(),
            issued,
            stage,
            binding: key.binding(row.login_password.as_ref()),
        };
        Ok(Some(seal(key, &claims)))
    }

    /// The signed-in session for `user`, whose one-time password the domain has just accepted
    /// for `caller` (`POST /v1/validate`), when both factors are proved: the caller vouches
    /// for the first factor (the policy's `validation.registration_state_to_clients`: a front
    /// end that checks it itself), or presents `first_factor`, a live session of `user`
    /// (the one `POST /v1/login` answered). Otherwise `None`: a code alone signs no one in
    /// (issue #10: a client guessing codes for a named user got the user's session). A
    /// presented session that is not valid, or is another user's, is audited as refused.
    ///
    /// # Errors
    /// As [`Bank::open_customer_session`]: a store failure is not "no session".
    pub fn signed_in_session(
        &self,
        caller: &Caller,
        first_factor: Option<&str>,
        user: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, Error> {
        let proved = if self.vouches_for_first_factor(caller) {
            ProvedFirstFactor {
                user: user.clone(),
                issued: now,
            }
        } else {
            let Some(token) = first_factor else {
                return Ok(None);
            };
            match self.first_factor_of(caller, token, user, now) {
                Ok(proved) => proved,
                Err(Error::CustomerSessionRequired) => return Ok(None),
                Err(e) => return Err(e),
            }
        };
        self.signed_in_after(caller, &proved)
    }

    /// The signed-in session of the user whose first factor `proved` stands for, once the
    /// domain has accepted their one-time password: counted from the login, as
    /// [`Bank::signed_in_session`] counts it. `None` for a caller that is not an API client
    /// or a user gone meanwhile.
    ///
    /// # Errors
    /// As [`Bank::open_customer_session`].
    pub fn signed_in_after(
        &self,
        caller: &Caller,
        proved: &ProvedFirstFactor,
    ) -> Result<Option<String>, Error> {
        self.session_from(caller, &proved.user, SessionStage::SignedIn, proved.issued)
    }

    /// Checks a first-factor session `token` that `caller` presents with a one-time password
    /// of `user` (`POST /v1/validate` with `X-Customer-Session`), before the code is checked:
    /// a stale session must not spend the code and answer `accepted` without signing anyone
    /// in (issue #10 review). The proof it answers signs the user in once the code is
    /// accepted ([`Bank::signed_in_after`]), without checking the session again.
    ///
    /// # Errors
    /// [`Error::CustomerSessionRequired`] for a token that is not a live session of `user`
    /// (every reason [`Bank::customer_session`] gives, or another user's), audited with the
    /// reason. A store failure as such.
    pub fn first_factor_of(
        &self,
        caller: &Caller,
        token: &str,
        user: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<ProvedFirstFactor, Error> {
        let signed = self.session_user(caller, token, SessionStage::FirstFactor, now)?;
        if signed.user != *user {
            return self.session_refused(caller, "the session is another user's", Some(user), now);
        }
        Ok(ProvedFirstFactor {
            user: signed.user,
            issued: signed.issued,
        })
    }

    /// The signed-in user a session `token` stands for, presented by `caller` (the users
    /// list: a [`SessionStage::SignedIn`] session only).
    ///
    /// # Errors
    /// [`Error::CustomerSessionRequired`] for a token that is forged, altered, issued to
    /// another client, older than `web.session_idle_minutes`, of the first-factor stage, or
    /// whose user is gone, re-created, has a new login password, is locked or was locked
    /// after the session began (even if unlocked since); the refusal is
    /// audited with the reason. A store failure as such.
    pub fn customer_session(
        &self,
        caller: &Caller,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<UserRef, Error> {
        Ok(self
            .session_user(caller, token, SessionStage::SignedIn, now)?
            .user)
    }

    /// The user a session `token` of at least stage `least` stands for, presented by
    /// `caller`: registering and skipping take [`SessionStage::FirstFactor`].
    ///
    /// # Errors
    /// As [`Bank::customer_session`].
    pub(super) fn session_user(
        &self,
        caller: &Caller,
        token: &str,
        least: SessionStage,
        now: DateTime<Utc>,
    ) -> Result<Signed, Error> {
        let Caller::Client { name, .. } = caller else {
            return Err(Error::CustomerSessionRequired);
        };
        let life = Duration::minutes(i64::from(self.policy.web.session_idle_minutes));
        let key = self.session_key()?;
        let claims = open(key, token);
        let about = claims.as_ref().map(|c| c.user.clone());
        let why = match claims {
            None => "the token is not one this bank signed",
            Some(c) if c.client != name.as_str() => "issued to another API client",
            Some(c) if now >= c.issued + life || c.issued > now + Duration::minutes(1) => "expired",
            Some(c) if least == SessionStage::SignedIn && c.stage != least => {
                "a first-factor session: the user has not signed in with the one-time password"
            }
            Some(c) => match self
                .store
                .read(|tx| tx.user(&c.user.customer, &c.user.login))?
            {
                None => "the user was removed",
                Some(u)
                    if !bool::from(subtle::ConstantTimeEq::ct_eq(
                        key.binding(u.login_password.as_ref()).as_bytes(),
                        c.binding.as_bytes(),
                    )) =>
                {
                    "the user's login password changed, or the user was removed and created again"
                }
                Some(u) if u.locked_until.is_some_and(|t| t > now) => "the user is locked",
                // Issued (whole seconds) no later than the user's last lock: dead for good, so
                // an unlock does not revive it (issue #10 review).
                Some(u) if u.last_locked_at.is_some_and(|l| c.issued <= l) => {
                    "the user was locked after this session began: a session does not outlive \
                     a lockout, even once unlocked; the user signs in again"
                }
                Some(_) => {
                    return Ok(Signed {
                        user: c.user,
                        issued: c.issued,
                    })
                }
            },
        };
        self.session_refused(caller, why, about.as_ref(), now)
    }

    /// Audits a refused customer session (action `customer_session`, the true reason `why`,
    /// the user it named or was used for when known) and answers
    /// [`Error::CustomerSessionRequired`].
    pub(super) fn session_refused<T>(
        &self,
        caller: &Caller,
        why: &str,
        about: Option<&UserRef>,
        now: DateTime<Utc>,
    ) -> Result<T, Error> {
        let mut e = self.entry(now, caller, caller.actor(), "customer_session");
        e.detail = why.to_owned();
        e.customer = about.map(|u| u.customer.to_string());
        e.subject = about.map(|u| u.login.to_string());
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
        let claims = Claims {
            client: "front".into(),
            user: user(),
            issued: at,
            stage: SessionStage::FirstFactor,
            binding: key.binding(None),
        };
        let t = seal(&key, &claims);
        assert_eq!(open(&key, &t).unwrap(), claims);
        assert!(open(&SessionKey::new([8; 32]), &t).is_none(), "another key");
        // Any changed character of the payload or the tag breaks it.
        for i in PREFIX.len()..t.len() {
            let mut b = t.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(b).unwrap();
            assert!(altered == t || open(&key, &altered).is_none(), "byte {i}");
        }
        assert!(open(&key, "").is_none() && open(&key, "tlcs2.").is_none());
        assert!(format!("{key:?}").contains("redacted"));
    }
}
