//! Confirmation secrets (確認用パスワード `000`/`003`/`004`, ご契約先確認暗証番号 `001`) and login
//! passwords (ログインパスワード, issue #11): stored only as Argon2id PHC hashes at the policy's
//! cost; verification is the hash's own constant-time compare.

use crate::policy::SecretPolicy;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use std::fmt;
use zeroize::Zeroizing;

/// A confirmation secret as typed by a person. `Debug` is redacted; zeroized on drop.
#[derive(Clone)]
pub struct ConfirmationSecret(Zeroizing<String>);

impl ConfirmationSecret {
    /// Wraps a secret; a trailing newline (from a file or a pipe) is removed.
    pub fn new(text: impl Into<String>) -> Self {
        let mut s: String = text.into();
        while s.ends_with('\n') || s.ends_with('\r') {
            s.pop();
        }
        ConfirmationSecret(Zeroizing::new(s))
    }
    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ConfirmationSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfirmationSecret(<redacted>)")
    }
}

/// A login password (ログインパスワード) as typed by a person: the first factor of a customer
/// user's login ([`crate::Bank::login`]), distinct from the confirmation password
/// ([`ConfirmationSecret`]) that proves an administrative action. A separate type so that one
/// is never passed where the other is meant. `Debug` is redacted; zeroized on drop.
#[derive(Clone)]
pub struct LoginPassword(ConfirmationSecret);

impl LoginPassword {
    /// Wraps a password; a trailing newline (from a file or a pipe) is removed.
    pub fn new(text: impl Into<String>) -> Self {
        LoginPassword(ConfirmationSecret::new(text))
    }
    /// Whether the password is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Its length in characters (Unicode scalar values).
    pub(crate) fn char_count(&self) -> usize {
        self.0 .0.chars().count()
    }
    /// Whether it holds a control character (general category Cc: NUL, tab, newline, ESC…).
    pub(crate) fn has_control(&self) -> bool {
        self.0 .0.chars().any(char::is_control)
    }
    /// The password as the secret the hash functions take.
    pub(crate) fn secret(&self) -> &ConfirmationSecret {
        &self.0
    }
}

impl fmt::Debug for LoginPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginPassword(<redacted>)")
    }
}

/// An Argon2id hash in PHC string form (`$argon2id$v=19$m=…`). `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(String);

impl SecretHash {
    /// Wraps a stored PHC string (as read back from storage).
    pub fn from_phc(s: String) -> Self {
        SecretHash(s)
    }
    /// A stored hash, checked to be a PHC string that [`SecretHash::verify`] can read: a
    /// column holding anything else was changed outside tokenline, and every password checked
    /// against it would be refused as wrong (and counted as a failure) without a word.
    ///
    /// # Errors
    /// What is wrong, never the text itself (it may be a password or a hash).
    pub fn stored(s: String) -> Result<Self, &'static str> {
        match argon2::PasswordHash::new(&s) {
            Ok(_) => Ok(SecretHash(s)),
            Err(_) => Err("not a password hash in PHC string form"),
        }
    }

    /// The PHC string, for storage.
    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// Hashes a secret with a fresh random salt (OS CSPRNG) at the policy's cost.
    pub fn hash(policy: &SecretPolicy, secret: &ConfirmationSecret) -> Result<Self, SecretError> {
        let params = Params::new(policy.argon2_m_kib, policy.argon2_t, policy.argon2_p, None)
            .map_err(|e| SecretError(format!("argon2 parameters: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| SecretError(format!("OS random generator: {e}")))?;
        let phc = argon
            .hash_password_with_salt(secret.bytes(), &salt)
            .map_err(|e| SecretError(format!("argon2: {e}")))?;
        Ok(SecretHash(phc.to_string()))
    }

    /// Whether `secret` matches (the parameters come from the stored hash).
    pub fn verify(&self, secret: &ConfirmationSecret) -> bool {
        VERIFICATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Argon2::default()
            .verify_password(secret.bytes(), self.0.as_str())
            .is_ok()
    }
}

static VERIFICATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many Argon2 verifications ([`SecretHash::verify`]) this process has run: each costs
/// the memory and time of the hash it checks. A refused unknown name must cost the same work
/// as a refused known one (no timing oracle); this count lets a test see that it does.
pub fn verifications() -> u64 {
    VERIFICATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

/// Hashing failed (bad cost parameters or no OS randomness).
#[derive(Debug, thiserror::Error)]
#[error("cannot hash the confirmation secret: {0}")]
pub struct SecretError(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_secret_verifies_wrong_one_does_not() {
        let h = SecretHash::hash(
            &SecretPolicy::cheap_for_tests(),
            &ConfirmationSecret::new("kakunin-1\n"),
        )
        .expect("hash");
        assert!(h.as_phc().starts_with("$argon2id$"));
        assert!(h.verify(&ConfirmationSecret::new("kakunin-1")));
        assert!(!h.verify(&ConfirmationSecret::new("kakunin-2")));
        assert!(!format!("{h:?}").contains("argon2id"));
    }
}
