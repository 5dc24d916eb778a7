//! One damaged row must not block an operator's command that does not need it: a revocation
//! reads only its target's row, a listing lists every whole row and names each damaged one
//! ([`crate::store::Listing`]), and `bank audit verify` reports a damaged entry as a broken
//! link; a link between rows broken outside tokenline is named as a damaged row is. What the
//! SQL stores' tests share, each backend damaging rows with its own driver
//! through a [`DamageBench`]; [`run_all`] runs every check.

use crate::access::{ApiClient, Operator, Role};
use crate::audit::{Actor, AuditEntry, AuditQuery, BreakKind};
use crate::auth::{Caller, Scope};
use crate::bank::Bank;
use crate::ids::{ClientName, CustomerId, OperatorId};
use crate::model::{TokenStatus, User, UserClass};
use crate::policy::Policy;
use crate::secret::SecretHash;
use crate::store::columns::{repair_of, AUDIT_REPAIR};
use crate::store::{Store, StoreError};

use super::damaged::one_row_of_each_kind;
use super::{at, cid, lid, sample_token, sn};

/// A backend's way to damage a bank behind its store's back.
pub trait DamageBench {
    /// The backend's store.
    type S: Store;
    /// A fresh bank that `fill` filled through the store, after which each of `sql` was
    /// run on it with the backend's own driver (each statement changes one row).
    fn damaged(&self, fill: &dyn Fn(&Self::S), sql: &[&str]) -> Self::S;
}

fn root() -> Caller {
    Caller::Local("root".into())
}

fn name(s: &str) -> ClientName {
    ClientName::parse(s).unwrap()
}

/// The time the checks run at.
fn now() -> chrono::DateTime<chrono::Utc> {
    at(1_772_600_000, 0)
}

/// [`one_row_of_each_kind`] and API clients `bo` and `fe`.
fn with_clients<S: Store>(s: &S) {
    one_row_of_each_kind(s);
    s.transaction(|tx| {
        for n in ["bo", "fe"] {
            tx.insert_client(&ApiClient {
                name: name(n),
                scopes: vec![Scope::Login],
                key_hash: crate::access::hash_bearer(n),
                created_at: at(1_772_499_600, 0),
                revoked_at: None,
            })?;
        }
        Ok(())
    })
    .unwrap();
}

/// Asserts that `e` is the damaged-row error of `table`, `row` and `column`.
fn assert_names(e: &StoreError, table: &str, row: &str, column: &str) {
    let StoreError::Corrupt(m) = e else {
        panic!("expected a damaged-row error, got {e:?}")
    };
    let head = format!("table {table}, row where {row}, column {column}: ");
    assert!(m.starts_with(&head), "{m}\nmust begin\n  {head}");
    assert!(
        m.ends_with(repair_of(table)),
        "{m}\nmust end with what to do"
    );
}

/// `bank client revoke fe` reads only `fe`'s row: `bo`'s damaged row does not stop it.
pub fn revoking_one_client_works_while_another_clients_row_is_damaged<B: DamageBench>(b: &B) {
    let s = b.damaged(
        &|s| with_clients(s),
        &["UPDATE api_clients SET created_at = 'yesterday' WHERE name = 'bo'"],
    );
    let bank = Bank::new(&s, Policy::default());
    bank.revoke_client(&root(), &name("fe"), now()).unwrap();
    let fe = s.transaction(|tx| tx.client(&name("fe"))).unwrap().unwrap();
    assert_eq!(fe.revoked_at, Some(now()), "fe is revoked");
    let bo = s.transaction(|tx| tx.client(&name("bo")));
    assert_names(&bo.unwrap_err(), "api_clients", "name = 'bo'", "created_at");
}

/// `bank client list` lists the whole clients and names `bo`'s damaged row in its place.
pub fn listing_clients_lists_every_whole_row_and_names_the_damaged_one<B: DamageBench>(b: &B) {
    let s = b.damaged(
        &|s| with_clients(s),
        &["UPDATE api_clients SET scopes = 'everything' WHERE name = 'bo'"],
    );
    let rows = Bank::new(&s, Policy::default())
        .list_clients(&root(), now())
        .unwrap()
        .rows;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_names(
        rows[0].as_ref().unwrap_err(),
        "api_clients",
        "name = 'bo'",
        "scopes",
    );
    let whole: Vec<_> = rows.iter().flatten().map(|c| c.name.to_string()).collect();
    assert_eq!(whole, ["fe", "ib-frontend"]);
}

/// The API clients of [`with_clients`] and a second operator, tanaka, beside suzuki.
fn with_tanaka<S: Store>(s: &S) {
    with_clients(s);
    s.transaction(|tx| {
        tx.insert_token(&sample_token("11112222"))?;
        tx.insert_operator(&Operator {
            name: OperatorId::parse("tanaka").unwrap(),
            role: Role::Operator,
            password: SecretHash::from_phc(
                "$argon2id$v=19$m=8,t=1,p=1$b3BlcmF0b3JzYWx0$VEFOQUtBLVBBU1NXT1JE".into(),
            ),
            serial: sn("11112222"),
            failures: 0,
            locked_until: None,
            created_at: at(1_772_499_600, 0),
        })
    })
    .unwrap();
}

/// The operators `s` lists: tanaka alone whole, and the one damaged row's error, returned.
fn only_tanaka_listed<S: Store>(s: &S) -> StoreError {
    let (whole, mut damaged) = Bank::new(s, Policy::default())
        .list_operators(&root(), now())
        .unwrap()
        .split();
    let names: Vec<_> = whole.iter().map(|o| o.name.to_string()).collect();
    assert_eq!(names, ["tanaka"], "{damaged:?}");
    assert_eq!(damaged.len(), 1);
    damaged.remove(0)
}

/// `bank operator list` lists tanaka when suzuki's row is damaged.
pub fn listing_operators_lists_every_whole_row_and_names_the_damaged_one<B: DamageBench>(b: &B) {
    let s = b.damaged(
        &with_tanaka,
        &["UPDATE operators SET created_at = 'then' WHERE name = 'suzuki'"],
    );
    let damaged = only_tanaka_listed(&s);
    assert_names(&damaged, "operators", "name = 'suzuki'", "created_at");
}

/// `bank operator list` (and `bank serve`'s start, which lists the operators) goes on when
/// one of suzuki's session rows is damaged: suzuki is left out, named by the session row,
/// and tanaka is listed (issue #10 review: the whole list failed, and the server with it).
pub fn a_damaged_operator_session_leaves_out_only_its_operator<B: DamageBench>(b: &B) {
    // suzuki in service (the staff token 87654321 is theirs), so their sessions are read.
    let fill = |s: &B::S| {
        with_tanaka(s);
        s.transaction(|tx| {
            let mut t = tx.token(&sn("87654321"))?.unwrap();
            t.status = TokenStatus::Staff {
                operator: OperatorId::parse("suzuki").unwrap(),
            };
            tx.update_token(&t)
        })
        .unwrap();
    };
    let s = b.damaged(
        &fill,
        &["UPDATE operator_sessions SET last_seen = 'now' WHERE operator = 'suzuki'"],
    );
    let damaged = only_tanaka_listed(&s);
    assert_names(
        &damaged,
        "operator_sessions",
        "operator = 'suzuki' AND client = 'ib-frontend' AND created_at = '2026-03-03T01:00:00Z'",
        "last_seen",
    );
}

/// [`one_row_of_each_kind`] and user hanako of customer C001.
fn with_hanako<S: Store>(s: &S) {
    one_row_of_each_kind(s);
    s.transaction(|tx| {
        tx.insert_user(&User::new(
            lid("hanako"),
            cid("C001"),
            "花子".into(),
            UserClass::General,
            true,
        ))
    })
    .unwrap();
}

/// `bank users list C001` and `bank customer show C001` (`GET /v1/customers/C001`) list
/// hanako and name taro's damaged row.
pub fn listing_users_lists_every_whole_row_and_names_the_damaged_one<B: DamageBench>(b: &B) {
    let s = b.damaged(
        &|s| with_hanako(s),
        &["UPDATE users SET locked_until = 'tomorrow' WHERE login = 'taro'"],
    );
    let bank = Bank::new(&s, Policy::default());
    let c001 = CustomerId::parse("C001").unwrap();
    let page = bank
        .list_users(&root(), None, &c001, None, 1, now())
        .unwrap();
    let logins: Vec<_> = page.rows.iter().map(|r| r.login.to_string()).collect();
    assert_eq!(logins, ["hanako"]);
    assert_eq!(page.damaged.len(), 1);
    let taro = super::damaged::TARO;
    assert_names(&page.damaged[0], "users", taro, "locked_until");
    assert!(
        page.whole().is_err(),
        "a reader that needs every row refuses"
    );
    let d = bank.show_customer(&root(), &c001, now()).unwrap();
    let logins: Vec<_> = d.users.iter().map(|r| r.login.to_string()).collect();
    assert_eq!(logins, ["hanako"]);
    assert_names(&d.damaged[0], "users", taro, "locked_until");
}

/// A user whose registered token's row is damaged is named by that row; the others list.
pub fn a_users_damaged_token_row_is_named_and_the_other_users_list<B: DamageBench>(b: &B) {
    let s = b.damaged(
        &|s| with_hanako(s),
        &["UPDATE tokens SET expiry = 'soon' WHERE serial = '12345678'"],
    );
    let c001 = CustomerId::parse("C001").unwrap();
    let page = Bank::new(&s, Policy::default())
        .list_users(&root(), None, &c001, None, 1, now())
        .unwrap();
    let logins: Vec<_> = page.rows.iter().map(|r| r.login.to_string()).collect();
    assert_eq!(logins, ["hanako"]);
    assert_names(&page.damaged[0], "tokens", "serial = '12345678'", "expiry");
}

/// A log of three entries chained under the store's own key.
fn three_entries<S: Store>(s: &S) {
    s.transaction(|tx| {
        for (i, action) in ["bank_init", "client_add", "client_revoke"]
            .iter()
            .enumerate()
        {
            let e = AuditEntry {
                at: at(1_772_499_600 + i as i64, 0),
                actor: Actor::System,
                ..super::audit_entry(None, action)
            };
            crate::audit::append(tx, e, s.audit_key())?;
        }
        Ok(())
    })
    .unwrap();
}

/// `bank audit` lists entries 1 and 3 and names entry 2, damaged, in its place.
pub fn listing_the_audit_log_lists_every_whole_entry_and_names_the_damaged_one<B: DamageBench>(
    b: &B,
) {
    let s = b.damaged(
        &|s| three_entries(s),
        &["UPDATE audit SET at = 'then' WHERE id = 2"],
    );
    let rows = Bank::new(&s, Policy::default())
        .audit_rows(&root(), &AuditQuery::default(), now())
        .unwrap()
        .rows;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].as_ref().unwrap().id, 1);
    assert_names(rows[1].as_ref().unwrap_err(), "audit", "id = 2", "at");
    assert_eq!(rows[2].as_ref().unwrap().id, 3);
}

/// `bank audit verify` reports a damaged entry as the first broken link, at its place,
/// naming the row and column, and does not send the operator back to itself as the check.
pub fn verifying_the_audit_log_reports_a_damaged_entry_as_a_broken_link<B: DamageBench>(b: &B) {
    let s = b.damaged(
        &|s| three_entries(s),
        &["UPDATE audit SET actor_kind = 'robot' WHERE id = 2"],
    );
    let link = Bank::new(&s, Policy::default())
        .verify_audit(&root(), now())
        .unwrap()
        .unwrap_err();
    assert_eq!((link.id, link.kind), (2, BreakKind::Unreadable), "{link}");
    assert!(
        link.what
            .starts_with("table audit, row where id = 2, column actor_kind: "),
        "{}",
        link.what
    );
    assert!(link.what.ends_with(AUDIT_REPAIR), "{}", link.what);
    // A damaged first entry is that entry, not an empty log.
    let s = b.damaged(
        &|s| three_entries(s),
        &["UPDATE audit SET at = 'x' WHERE id = 1"],
    );
    let link = Bank::new(&s, Policy::default())
        .verify_audit(&root(), now())
        .unwrap()
        .unwrap_err();
    assert_eq!((link.id, link.kind), (1, BreakKind::Unreadable), "{link}");
}

/// A login whose user names a token that is not there (a broken link between rows) is
/// refused naming the user's row, its `serial` column, the missing token and what to do.
pub fn a_login_whose_registered_token_is_missing_names_the_users_row_and_column<B: DamageBench>(
    b: &B,
) {
    let s = b.damaged(
        &|s| one_row_of_each_kind(s),
        &["UPDATE users SET serial = '59999999' WHERE login = 'taro'"],
    );
    let taro = crate::ids::UserRef {
        customer: cid("C001"),
        login: lid("taro"),
    };
    let e = Bank::new(&s, Policy::default())
        .validate(&root(), &taro, "123456", now())
        .unwrap_err();
    let crate::error::Error::Store(e) = e else {
        panic!("expected a damaged-row error, got {e:?}")
    };
    assert_names(&e, "users", super::damaged::TARO, "serial");
    assert!(
        e.to_string()
            .contains("it names token 59999999, which is missing from table tokens"),
        "{e}"
    );
}

/// A login password hash that is not a PHC string is damage (the users row and column
/// named, never the text), not a wrong password counted as a failure.
pub fn a_login_password_hash_that_is_not_a_phc_string_is_damage_not_a_failure<B: DamageBench>(
    b: &B,
) {
    let s = b.damaged(
        &|s| one_row_of_each_kind(s),
        &["UPDATE users SET login_password_hash = 'hunter2' WHERE login = 'taro'"],
    );
    let e = Bank::new(&s, Policy::default())
        .login(
            &root(),
            &cid("C001"),
            &lid("taro"),
            &crate::secret::LoginPassword::new("hunter2"),
            now(),
        )
        .unwrap_err();
    let crate::error::Error::Store(e) = e else {
        panic!("expected a damaged-row error, got {e:?}")
    };
    assert_names(&e, "users", super::damaged::TARO, "login_password_hash");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

/// Every check here, each on its own fresh bank.
pub fn run_all<B: DamageBench>(b: &B) {
    revoking_one_client_works_while_another_clients_row_is_damaged(b);
    listing_clients_lists_every_whole_row_and_names_the_damaged_one(b);
    listing_operators_lists_every_whole_row_and_names_the_damaged_one(b);
    a_damaged_operator_session_leaves_out_only_its_operator(b);
    listing_users_lists_every_whole_row_and_names_the_damaged_one(b);
    a_users_damaged_token_row_is_named_and_the_other_users_list(b);
    listing_the_audit_log_lists_every_whole_entry_and_names_the_damaged_one(b);
    verifying_the_audit_log_reports_a_damaged_entry_as_a_broken_link(b);
    a_login_whose_registered_token_is_missing_names_the_users_row_and_column(b);
    a_login_password_hash_that_is_not_a_phc_string_is_damage_not_a_failure(b);
}
