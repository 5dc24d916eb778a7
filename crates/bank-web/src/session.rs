//! Server-side sessions of the pages.
//!
//! The browser holds only a random id (32 bytes from the OS CSPRNG, hex) in the cookie
//! [`COOKIE`]: `HttpOnly; Secure; SameSite=Strict; Path=/` (the `__Host-` prefix makes the
//! browser refuse it without `Secure` or with a `Domain`). The server keeps the session,
//! keyed by the id's SHA-256 (so a memory dump or a timing probe of the map does not hand out
//! live ids), and ends it after the policy's idle time (`[web] session_idle_minutes`),
//! measured on the server's clock (the staging clock in tests). Every visitor gets a session
//! (the login form needs its CSRF token); a login replaces the id ([`NewSession`]): an id
//! planted before the login is worthless after it (session fixation).
//!
//! Sessions live in this server's memory: a restart logs everyone out, and several bank nodes
//! behind a balancer need sticky sessions.
//!
//! Anonymous sessions (anyone gets one by fetching a page) and signed-in ones are bounded
//! apart ([`MAX_ANONYMOUS`], [`MAX_SIGNED_IN`]): a flood of anonymous visits evicts only the
//! least recently used anonymous sessions, never a signed-in customer or operator (issue #10).

use crate::i18n::Lang;
use crate::Web;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponseParts, Response, ResponseParts};
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{DateTime, Duration, Utc};
use lifecycle::access::hash_bearer;
use lifecycle::{CustomerId, LoginId, OperatorId, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The session cookie's name.
pub const COOKIE: &str = "__Host-tokenline";

/// Anonymous sessions (no one logged in: every visitor of the login page gets one) kept at
/// most; past it, the idle ones, then the least recently used anonymous ones are dropped.
/// Anyone can open them, so they never make room by dropping a signed-in session.
pub const MAX_ANONYMOUS: usize = 100_000;

/// Signed-in sessions (a customer user past the password, or an operator) kept at most; past
/// it, the idle ones, then the least recently used signed-in ones make room for a new login.
/// Only a login fills this map, so only logins compete for it.
pub const MAX_SIGNED_IN: usize = 100_000;

/// Where a customer user's login stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Customer ID, login ID and password were right; the one-time password is next.
    Password,
    /// The user must register a token first (失効中 / トークン発行済み / 未登録) or skip it.
    Registration,
    /// Logged in.
    In,
}

/// A customer's user logged in (or logging in) through this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerLogin {
    /// The customer (ご契約先).
    pub customer: CustomerId,
    /// The user.
    pub login: LoginId,
    /// How far the login got.
    pub stage: Stage,
    /// The user's class (利用者区分), for the menu; the domain decides what they may do.
    pub class: lifecycle::UserClass,
    /// When the login password was accepted: a lock of the user since then ends this login
    /// for good, even once unlocked ([`CustomerLogin::outlived_by_lock`]).
    pub since: DateTime<Utc>,
}

impl CustomerLogin {
    /// The user's key: the session's customer and login ID (login IDs are unique per
    /// customer only).
    pub fn user(&self) -> lifecycle::UserRef {
        lifecycle::UserRef::new(self.customer.clone(), self.login.clone())
    }

    /// Whether `user` (this login's user, as stored now) was locked since this login began:
    /// the login is then over, even if the lockout was lifted since (issue #10 review: an
    /// unlock revived the sessions that the lock had ended).
    pub fn outlived_by_lock(&self, user: &lifecycle::User) -> bool {
        user.last_locked_at.is_some_and(|l| self.since <= l)
    }
}

/// A back-office operator logged in through this session.
#[derive(Clone, PartialEq, Eq)]
pub struct OperatorLogin {
    /// The operator.
    pub operator: OperatorId,
    /// The domain's operator session token (`Bank::operator_session`). Never shown.
    pub token: String,
}

impl std::fmt::Debug for OperatorLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorLogin")
            .field("operator", &self.operator)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// One session's data.
#[derive(Clone)]
pub struct Session {
    /// The cookie's id (never logged: `Debug` hides it).
    pub id: String,
    /// The CSRF token of every form of this session.
    pub csrf: String,
    /// The language chosen with `?lang=`.
    pub lang: Option<Lang>,
    /// The customer user, if one logged in.
    pub customer: Option<CustomerLogin>,
    /// The back-office operator, if one logged in.
    pub operator: Option<OperatorLogin>,
    /// The previous session of this browser ended by the idle timeout (shown on the login page).
    pub timed_out: bool,
    /// The sign-in ended because the user or operator was locked or removed meanwhile (the
    /// login page says so; issue #10 review: a page session outlived a lockout).
    pub locked_out: bool,
    last_seen: DateTime<Utc>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("lang", &self.lang)
            .field("customer", &self.customer)
            .field("operator", &self.operator)
            .finish_non_exhaustive()
    }
}

/// 32 random bytes from the OS CSPRNG, hex.
fn random_id() -> String {
    let mut b = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut b) {
        // No randomness: refuse to hand out guessable ids.
        tracing::error!("bank-web: the OS random source failed: {e}");
        #[allow(clippy::panic)]
        {
            panic!("the OS random source failed");
        }
    }
    hex::encode(b)
}

impl Session {
    fn fresh(now: DateTime<Utc>) -> Self {
        Session {
            id: random_id(),
            csrf: random_id(),
            lang: None,
            customer: None,
            operator: None,
            timed_out: false,
            locked_out: false,
            last_seen: now,
        }
    }

    fn anonymous(&self) -> bool {
        self.customer.is_none() && self.operator.is_none()
    }
}

/// The sessions of one server.
pub struct Sessions {
    idle: Duration,
    /// The most anonymous and signed-in sessions kept.
    limits: (usize, usize),
    maps: Mutex<Maps>,
}

/// The sessions by the SHA-256 of their id, anonymous and signed-in apart.
#[derive(Default)]
struct Maps {
    anonymous: HashMap<String, Session>,
    signed_in: HashMap<String, Session>,
}

impl Maps {
    fn get_mut(&mut self, key: &str) -> Option<&mut Session> {
        match self.signed_in.get_mut(key) {
            Some(s) => Some(s),
            None => self.anonymous.get_mut(key),
        }
    }

    fn remove(&mut self, key: &str) -> Option<Session> {
        self.signed_in
            .remove(key)
            .or_else(|| self.anonymous.remove(key))
    }

    /// Files `s` under `key` in its map, first making room there: idle sessions go, then
    /// the least recently used of that map only — an eighth of the anonymous ones at a time
    /// (a flood costs one selection per many sessions), one signed-in session at a time (a
    /// login is rare and costs an Argon2 verification anyway).
    fn insert(
        &mut self,
        key: String,
        s: Session,
        limits: (usize, usize),
        idle: Duration,
        now: DateTime<Utc>,
    ) {
        let anonymous = s.anonymous();
        let (map, max) = if anonymous {
            (&mut self.anonymous, limits.0)
        } else {
            (&mut self.signed_in, limits.1)
        };
        if map.len() >= max.max(1) {
            map.retain(|_, s| now - s.last_seen <= idle);
        }
        if map.len() >= max.max(1) {
            let mut seen: Vec<DateTime<Utc>> = map.values().map(|s| s.last_seen).collect();
            let batch = if anonymous { map.len() / 8 } else { 1 };
            let drop = batch.max(1).min(seen.len());
            let (_, cut, _) = seen.select_nth_unstable(drop - 1);
            let cut = *cut;
            // Every session older than the cut goes, then as many of those at the cut as
            // make up the batch.
            let older = map.values().filter(|s| s.last_seen < cut).count();
            let mut ties = drop.saturating_sub(older);
            map.retain(|_, s| {
                if s.last_seen < cut {
                    false
                } else if s.last_seen == cut && ties > 0 {
                    ties -= 1;
                    false
                } else {
                    true
                }
            });
        }
        map.insert(key, s);
    }

    fn len(&self) -> usize {
        self.anonymous.len() + self.signed_in.len()
    }
}

impl Sessions {
    /// Sessions that end after `idle` without a request, at most [`MAX_ANONYMOUS`] anonymous
    /// and [`MAX_SIGNED_IN`] signed-in ones.
    pub fn new(idle: Duration) -> Self {
        Self::with_limits(idle, MAX_ANONYMOUS, MAX_SIGNED_IN)
    }

    /// [`Sessions::new`] with other bounds (anonymous, signed-in).
    pub fn with_limits(idle: Duration, anonymous: usize, signed_in: usize) -> Self {
        Sessions {
            idle,
            limits: (anonymous, signed_in),
            maps: Mutex::new(Maps::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live session of cookie value `id` (its idle time restarted), or a new one (marked
    /// `timed_out` when `id` named a session that had timed out).
    fn open(&self, id: Option<&str>, now: DateTime<Utc>) -> (Session, bool) {
        let mut maps = self.lock();
        let mut timed_out = false;
        if let Some(id) = id {
            let key = hash_bearer(id);
            if let Some(s) = maps.get_mut(&key) {
                if now - s.last_seen <= self.idle && now >= s.last_seen - self.idle {
                    s.last_seen = now;
                    return (s.clone(), false);
                }
                timed_out = !s.anonymous();
                maps.remove(&key);
            }
        }
        let mut s = Session::fresh(now);
        s.timed_out = timed_out;
        maps.insert(hash_bearer(&s.id), s.clone(), self.limits, self.idle, now);
        (s, true)
    }

    /// Changes the session `id` (no-op when it ended meanwhile); a session that signs out
    /// this way moves to the anonymous ones.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut Session)) {
        let mut maps = self.lock();
        let key = hash_bearer(id);
        let Some(s) = maps.get_mut(&key) else {
            return;
        };
        let was = s.anonymous();
        f(s);
        if s.anonymous() != was {
            if let Some(s) = maps.remove(&key) {
                let now = s.last_seen;
                maps.insert(key, s, self.limits, self.idle, now);
            }
        }
    }

    /// Moves the session `id` to a new id and a new CSRF token, changed by `f` (a login or a
    /// step of it): the caller answers with [`NewSession`]. `None` when `id` ended meanwhile.
    pub fn renew(&self, id: &str, f: impl FnOnce(&mut Session)) -> Option<NewSession> {
        let mut maps = self.lock();
        let mut s = maps.remove(&hash_bearer(id))?;
        s.id = random_id();
        s.csrf = random_id();
        s.timed_out = false;
        s.locked_out = false;
        f(&mut s);
        let new = NewSession(s.id.clone());
        let now = s.last_seen;
        maps.insert(hash_bearer(&s.id), s, self.limits, self.idle, now);
        Some(new)
    }

    /// Ends the session `id` (logout).
    pub fn end(&self, id: &str) {
        self.lock().remove(&hash_bearer(id));
    }

    /// Number of live and not yet purged sessions.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// No session at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A response part: the browser gets this new session id (after [`Sessions::renew`]).
#[derive(Clone)]
pub struct NewSession(String);

impl IntoResponseParts for NewSession {
    type Error = std::convert::Infallible;
    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

fn cookie_header(id: &str) -> String {
    Cookie::build((COOKIE, id.to_owned()))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path("/")
        .build()
        .to_string()
}

fn cookie_id(req: &Request) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| Cookie::parse(c.trim().to_owned()).ok())
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_owned())
}

fn lang_query(req: &Request) -> Option<Lang> {
    req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| Lang::parse(v))
    })
}

/// The middleware: opens (or starts) the request's session, puts it in the request's
/// extensions (handlers read it through [`crate::page::Chrome`]), remembers `?lang=`, and
/// sets the cookie when the session is new or was renewed.
pub async fn layer<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    mut req: Request,
    next: Next,
) -> Response {
    let now = web.now();
    let (mut session, new) = web.sessions.open(cookie_id(&req).as_deref(), now);
    if let Some(l) = lang_query(&req) {
        session.lang = Some(l);
        web.sessions.update(&session.id, |s| s.lang = Some(l));
    }
    let id = session.id.clone();
    req.extensions_mut().insert(session);
    let mut resp = next.run(req).await;
    let set = match resp.extensions_mut().remove::<NewSession>() {
        Some(NewSession(renewed)) => Some(renewed),
        None if new => Some(id),
        None => None,
    };
    if let Some(id) = set {
        if let Ok(v) = cookie_header(&id).parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2023, 4, 12, 11, 0, 0).unwrap() + Duration::minutes(min)
    }

    #[test]
    fn ids_are_32_random_bytes_and_differ() {
        let a = random_id();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_id());
    }

    #[test]
    fn a_session_ends_after_the_idle_time_and_the_next_one_says_so() {
        let s = Sessions::new(Duration::minutes(10));
        let (a, new) = s.open(None, t(0));
        assert!(new);
        let renewed = s
            .renew(&a.id, |x| {
                x.customer = Some(CustomerLogin {
                    customer: CustomerId::parse("C1").unwrap(),
                    login: LoginId::parse("taro").unwrap(),
                    stage: Stage::In,
                    class: lifecycle::UserClass::Master,
                    since: t(0),
                })
            })
            .unwrap();
        let (b, new) = s.open(Some(&renewed.0), t(10));
        assert!(!new && b.customer.is_some());
        let (c, new) = s.open(Some(&renewed.0), t(21));
        assert!(new && c.customer.is_none() && c.timed_out);
    }

    #[test]
    fn a_login_replaces_the_id_and_the_old_one_is_worthless() {
        let s = Sessions::new(Duration::minutes(10));
        let (a, _) = s.open(None, t(0));
        let renewed = s.renew(&a.id, |_| {}).unwrap();
        assert_ne!(renewed.0, a.id);
        let (b, new) = s.open(Some(&a.id), t(1));
        assert!(new && b.id != renewed.0);
    }

    #[test]
    fn the_cookie_is_http_only_secure_and_strict() {
        let c = cookie_header("abc");
        for part in [
            "__Host-tokenline=abc",
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
        ] {
            assert!(c.contains(part), "{c}");
        }
    }

    fn sign_in(s: &Sessions, id: &str) -> String {
        s.renew(id, |x| {
            x.customer = Some(CustomerLogin {
                customer: CustomerId::parse("C1").unwrap(),
                login: LoginId::parse("taro").unwrap(),
                stage: Stage::In,
                class: lifecycle::UserClass::Master,
                since: t(0),
            })
        })
        .unwrap()
        .0
    }

    #[test]
    fn a_flood_of_anonymous_sessions_never_evicts_a_signed_in_one() {
        let s = Sessions::with_limits(Duration::minutes(10), 16, 16);
        let (a, _) = s.open(None, t(0));
        let signed_in = sign_in(&s, &a.id);
        // Anyone fetching the login page, over and over, within the idle time.
        for _ in 0..1000 {
            s.open(None, t(1));
        }
        assert!(
            s.len() <= 16 + 1,
            "anonymous sessions are bounded: {}",
            s.len()
        );
        let (b, new) = s.open(Some(&signed_in), t(2));
        assert!(!new, "the signed-in session must survive the flood");
        assert!(b.customer.is_some());
    }

    #[test]
    fn a_full_anonymous_map_drops_its_least_recently_used_first() {
        let s = Sessions::with_limits(Duration::minutes(10), 16, 16);
        let (old, _) = s.open(None, t(0));
        let (recent, _) = s.open(None, t(1));
        for _ in 0..14 {
            s.open(None, t(2));
        }
        // Full: the next visitor makes room.
        s.open(Some(&recent.id), t(3));
        s.open(None, t(3));
        let (_, new) = s.open(Some(&old.id), t(3));
        assert!(new, "the least recently used anonymous session went first");
        let (_, new) = s.open(Some(&recent.id), t(3));
        assert!(!new, "a recently used one stayed");
    }

    #[test]
    fn an_operator_signing_out_moves_to_the_anonymous_sessions() {
        let s = Sessions::with_limits(Duration::minutes(10), 16, 16);
        let (a, _) = s.open(None, t(0));
        let id = sign_in(&s, &a.id);
        s.update(&id, |x| x.customer = None);
        let maps = s.lock();
        assert_eq!((maps.anonymous.len(), maps.signed_in.len()), (1, 0));
    }
}
