//! A customer API session is bound to the user as they were at the login (issue #10, review
//! low finding): it ends when the user's login password changes, and when the user is removed
//! and created again under the same login ID — a stateless token naming only the login ID
//! outlived both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lifecycle::*;

fn login_client() -> Caller {
    Caller::Client {
        name: ClientName::parse("ib-frontend").unwrap(),
        scopes: vec![Scope::Login],
    }
}

fn last_detail(w: &World, t: chrono::DateTime<chrono::Utc>) -> String {
    let log = w.bank.audit(&root(), &AuditQuery::default(), t).unwrap();
    log.last().unwrap().detail.clone()
}

#[test]
fn a_customer_session_ends_when_the_users_login_password_changes() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = login_client();
    let set = |pw: &str| {
        w.bank
            .set_login_password(
                &root(),
                &cid("C1"),
                &lid("jiro"),
                &LoginPassword::new(pw),
                t,
            )
            .unwrap()
    };
    set("first-login-pass");
    let s = w
        .bank
        .open_customer_session(&c, &uref("jiro"), SessionStage::SignedIn, t)
        .unwrap()
        .unwrap();
    assert_eq!(w.bank.customer_session(&c, &s, t).unwrap(), uref("jiro"));
    set("second-login-pass");
    let err = w.bank.customer_session(&c, &s, t).unwrap_err();
    assert_eq!(err, Error::CustomerSessionRequired);
    assert_eq!(
        last_detail(&w, t),
        "the user's login password changed, or the user was removed and created again"
    );
}

#[test]
fn a_customer_session_ends_when_the_user_is_removed_and_created_again() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = login_client();
    let pw = LoginPassword::new("goro-login-pass");
    let create = || {
        w.bank
            .add_user(
                &root(),
                NewUser {
                    login: lid("rokuro"),
                    customer: cid("C1"),
                    name: "六郎".into(),
                    class: UserClass::General,
                    needs_otp: false,
                    secret: None,
                },
                t,
            )
            .unwrap();
        w.bank
            .set_login_password(&root(), &cid("C1"), &lid("rokuro"), &pw, t)
            .unwrap();
    };
    create();
    let s = w
        .bank
        .open_customer_session(&c, &uref("rokuro"), SessionStage::SignedIn, t)
        .unwrap()
        .unwrap();
    assert_eq!(w.bank.customer_session(&c, &s, t).unwrap(), uref("rokuro"));
    w.bank.remove_user(&root(), &uref("rokuro"), t).unwrap();
    assert_eq!(
        w.bank.customer_session(&c, &s, t).unwrap_err(),
        Error::CustomerSessionRequired
    );
    assert_eq!(last_detail(&w, t), "the user was removed");
    // The same login ID, the same password even: another person's account now.
    create();
    assert_eq!(
        w.bank.customer_session(&c, &s, t).unwrap_err(),
        Error::CustomerSessionRequired
    );
    assert_eq!(
        last_detail(&w, t),
        "the user's login password changed, or the user was removed and created again"
    );
}

/// Issue #10: a signed-in session means both factors. An accepted code alone (a client
/// guessing codes for a named user) signs no one in; inside the first-factor session of the
/// same user it does; another user's session does not, and is audited.
#[test]
fn a_code_alone_signs_no_one_in_without_the_users_first_factor() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = login_client();
    assert_eq!(
        w.bank.signed_in_session(&c, None, &uref("jiro"), t),
        Ok(None)
    );
    let first = w
        .bank
        .open_customer_session(&c, &uref("jiro"), SessionStage::FirstFactor, t)
        .unwrap()
        .unwrap();
    let signed = w
        .bank
        .signed_in_session(&c, Some(&first), &uref("jiro"), t)
        .unwrap()
        .unwrap();
    assert_eq!(
        w.bank.customer_session(&c, &signed, t).unwrap(),
        uref("jiro")
    );
    assert_eq!(
        w.bank.signed_in_session(&c, Some(&first), &uref("taro"), t),
        Ok(None),
        "jiro's first factor signs taro in"
    );
    assert_eq!(last_detail(&w, t), "the session is another user's");
    assert_eq!(
        w.bank
            .signed_in_session(&c, Some("tlcs2.forged.x"), &uref("jiro"), t),
        Ok(None)
    );
    // A front end that checks the first factor itself is trusted with it.
    let mut p = policy("000");
    p.validation.registration_state_to_clients = true;
    let trusting = world_with(p);
    assert!(trusting
        .bank
        .signed_in_session(&c, None, &uref("jiro"), t)
        .unwrap()
        .is_some());
}

/// Review of issue #10 (H1): a user who signs in with a code cannot skip to a signed-in
/// session with the login password alone; only a user at registration skips.
#[test]
fn only_a_user_at_registration_skips_and_never_past_the_code() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = login_client();
    for (login, at_registration) in [("taro", false), ("goro", false), ("shiro", true)] {
        let first = w
            .bank
            .open_customer_session(&c, &uref(login), SessionStage::FirstFactor, t)
            .unwrap()
            .unwrap();
        let got = w.bank.skip_in_session(&c, &first, &uref(login), t);
        if at_registration {
            let done = got.unwrap();
            assert_eq!(done.answer, OtpState::Unregistered);
            assert!(done.session.is_some());
        } else {
            let err = got.unwrap_err();
            assert_eq!(err.code(), "not_at_registration", "{login}: {err}");
            let log = w.bank.audit(&root(), &AuditQuery::default(), t).unwrap();
            let last = log.last().unwrap();
            assert_eq!(
                (last.action.as_str(), last.outcome.as_str()),
                ("skip_registration", "not_at_registration")
            );
            // The session proved the user: the entry is theirs, not a claim.
            assert_eq!(last.actor, Actor::User(login.into()), "{last:?}");
        }
    }
}

/// Review of issue #10 (M1): a step inside a session continues the login's lifetime: a skip
/// nine minutes in gives a signed-in session that dies with the login, ten minutes after it.
#[test]
fn a_step_inside_a_session_keeps_the_logins_lifetime() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = login_client();
    let life = i64::from(w.bank.policy().web.session_idle_minutes);
    let first = w
        .bank
        .open_customer_session(&c, &uref("shiro"), SessionStage::FirstFactor, t)
        .unwrap()
        .unwrap();
    let nine = t + chrono::Duration::minutes(life - 1);
    let signed = w
        .bank
        .skip_in_session(&c, &first, &uref("shiro"), nine)
        .unwrap()
        .session
        .unwrap();
    assert_eq!(
        w.bank.customer_session(&c, &signed, nine).unwrap(),
        uref("shiro")
    );
    let end = t + chrono::Duration::minutes(life);
    assert_eq!(
        w.bank.customer_session(&c, &signed, end).unwrap_err(),
        Error::CustomerSessionRequired
    );
    assert_eq!(last_detail(&w, end), "expired");
    // The refusal names the user the session was for.
    let log = w.bank.audit(&root(), &AuditQuery::default(), end).unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        (last.customer.as_deref(), last.subject.as_deref()),
        (Some("C1"), Some("shiro"))
    );
}

/// Issue #10 review: a session ended while its user was locked, but an unlock revived it
/// (nothing on the user row recorded the lock). A session issued before the user's last
/// lock is dead for good; a new login after the unlock works.
#[test]
fn a_session_issued_before_a_lock_stays_dead_after_the_back_office_unlock() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = login_client();
    let old = w
        .bank
        .open_customer_session(&c, &uref("jiro"), SessionStage::SignedIn, t)
        .unwrap()
        .unwrap();
    let first_factor = w
        .bank
        .open_customer_session(&c, &uref("jiro"), SessionStage::FirstFactor, t)
        .unwrap()
        .unwrap();
    // Locked by wrong codes (typed elsewhere) a minute later.
    let t1 = t + chrono::Duration::minutes(1);
    for _ in 0..w.bank.policy().validation.max_failures {
        let _ = w
            .bank
            .validate(&root(), &uref("jiro"), &wrong_code("45678909", t1), t1);
    }
    assert_eq!(
        w.bank.customer_session(&c, &old, t1).unwrap_err(),
        Error::CustomerSessionRequired
    );
    assert_eq!(last_detail(&w, t1), "the user is locked");
    // The back office lifts the lockout: the old sessions stay refused.
    let t2 = t + chrono::Duration::minutes(2);
    w.bank.unlock(&operator("sato"), &uref("jiro"), t2).unwrap();
    assert_eq!(
        w.bank.customer_session(&c, &old, t2).unwrap_err(),
        Error::CustomerSessionRequired,
        "an unlock revived a session issued before the lock"
    );
    assert!(
        last_detail(&w, t2).starts_with("the user was locked after this session began"),
        "{}",
        last_detail(&w, t2)
    );
    let code = code("45678909", t2);
    w.bank
        .validate(&c, &uref("jiro"), &code, t2)
        .expect("the unlocked user's code is accepted");
    assert_eq!(
        w.bank
            .signed_in_session(&c, Some(&first_factor), &uref("jiro"), t2),
        Ok(None),
        "the first factor given before the lock signs the user in after the unlock"
    );
    // A new login after the unlock works.
    let t3 = t + chrono::Duration::minutes(3);
    let new = w
        .bank
        .open_customer_session(&c, &uref("jiro"), SessionStage::SignedIn, t3)
        .unwrap()
        .unwrap();
    assert_eq!(w.bank.customer_session(&c, &new, t3).unwrap(), uref("jiro"));
}

/// The bank's store whose reads fail (the database away) while `failing` is set; its
/// transactions go through. Beneath the seam the session use cases read through.
struct ReadsFail<'a> {
    inner: &'a lifecycle::memory::MemoryStore,
    failing: std::sync::atomic::AtomicBool,
}

impl Store for ReadsFail<'_> {
    fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    {
        self.inner.transaction(f)
    }

    fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Backend("the test's database is away".into()));
        }
        self.inner.read(f)
    }

    fn audit_key(&self) -> &lifecycle::audit::AuditKey {
        self.inner.audit_key()
    }

    fn defer_sync(&self) -> Result<Option<Box<dyn DiskSync>>, StoreError> {
        self.inner.defer_sync()
    }
}

/// Issue #10 review: a store failure while a session is made (the user's row read for its
/// binding) was answered as no session, so `POST /v1/validate` said `accepted` without one
/// and a front end took it for a sign-in without both factors; the failure is now the
/// answer (503 through the API), and "no session" stays for what it means.
#[test]
fn a_store_failure_while_a_session_is_made_is_answered_as_a_failure_not_as_no_session() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = login_client();
    let store = ReadsFail {
        inner: w.bank.store(),
        failing: false.into(),
    };
    let bank = Bank::new(store, policy("000"));
    let first = bank
        .open_customer_session(&c, &uref("jiro"), SessionStage::FirstFactor, t)
        .unwrap()
        .unwrap();
    let failing = |on: bool| {
        bank.store()
            .failing
            .store(on, std::sync::atomic::Ordering::SeqCst)
    };
    let away = |r: Result<Option<String>, Error>| {
        assert!(
            matches!(&r, Err(Error::Store(StoreError::Backend(m))) if m.contains("away")),
            "{r:?}"
        )
    };
    failing(true);
    away(bank.open_customer_session(&c, &uref("jiro"), SessionStage::SignedIn, t));
    away(bank.signed_in_session(&c, Some(&first), &uref("jiro"), t));
    // What "no session" means stays so: no first factor shown, another's session.
    failing(false);
    assert_eq!(bank.signed_in_session(&c, None, &uref("jiro"), t), Ok(None));
    assert_eq!(
        bank.signed_in_session(&c, Some(&first), &uref("taro"), t),
        Ok(None)
    );
    assert!(matches!(
        bank.signed_in_session(&c, Some(&first), &uref("jiro"), t),
        Ok(Some(_))
    ));
}
