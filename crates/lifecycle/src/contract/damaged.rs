//! Rows changed outside tokenline (a hand-made `UPDATE`, a bad restore): what the SQL stores'
//! tests share to check that the error of every row kind names the table, the row by its key
//! and the column, says what to do, and holds none of the row's secrets, the same on every
//! backend ([`crate::store::columns::damaged`]). The memory store has no rows to damage.
//!
//! A store's test fills a fresh bank with [`one_row_of_each_kind`], runs one [`Damage`]'s
//! statement on it with its driver, then reads through the store and checks the error with
//! [`assert_damage_named`]: [`damages`] for every backend, and its own for what only its
//! column types allow (text in an integer column, a blob in a text column).

use crate::access::{
    ApiClient, BackofficeRequest, Operator, OperatorSession, RequestKind, Role, Throttle,
};
use crate::audit::{Actor, AuditEntry, AuditQuery};
use crate::auth::Scope;
use crate::ids::{ClientName, OperatorId};
use crate::model::{Customer, UsageMode, User, UserClass};
use crate::secret::SecretHash;
use crate::store::columns::repair_of;
use crate::store::{Store, StoreError, Tx};

use super::{cid, lid, sample_token, sn};

/// User taro's confirmation password hash (a secret: never in an error).
const USER_SECRET: &str = "$argon2id$v=19$m=8,t=1,p=1$dXNlcnNhbHQ$VVNFUi1TRUNSRVQtSEFTSA";
/// User taro's login password hash.
const LOGIN_PASSWORD: &str = "$argon2id$v=19$m=8,t=1,p=1$bG9naW5zYWx0$TE9HSU4tUEFTU1dPUkQ";
/// Customer C001's secret hash.
const CUSTOMER_SECRET: &str = "$argon2id$v=19$m=8,t=1,p=1$Y3VzdHNhbHQ$Q1VTVE9NRVItU0VDUkVU";
/// Operator suzuki's password hash.
const OPERATOR_PASSWORD: &str =
    "$argon2id$v=19$m=8,t=1,p=1$b3BlcmF0b3JzYWx0$T1BFUkFUT1ItUEFTU1dPUkQ";
/// API client ib-frontend's key hash.
pub const KEY_HASH: &str = "feedc0defeedc0defeedc0defeedc0defeedc0defeedc0defeedc0defeedc0de";
/// Operator suzuki's session's token hash (its primary key).
pub const SESSION_HASH: &str = "5e55101dbeef5e55101dbeef5e55101dbeef5e55101dbeef5e55101dbeef5e55";
/// The throttle row's key.
pub const THROTTLE_KEY: &str = "login:C001/ghost";

fn suzuki() -> OperatorId {
    OperatorId::parse("suzuki").unwrap()
}
fn ib_frontend() -> ClientName {
    ClientName::parse("ib-frontend").unwrap()
}

/// Fills `s` with one row of every kind: customer C001 (with a secret) and its user taro
/// (with both passwords) holding stock token 12345678, operator suzuki on staff token
/// 87654321 with a session (created 2026-03-03T01:00:00Z) through API client ib-frontend,
/// back-office request 1, the throttle [`THROTTLE_KEY`] and audit entry 1.
pub fn one_row_of_each_kind<S: Store>(s: &S) {
    let t0 = super::at(1_772_499_600, 0); // 2026-03-03T01:00:00Z
    s.transaction(|tx| {
        tx.insert_customer(&Customer {
            id: cid("C001"),
            name: "株式会社テスト".into(),
            mode: UsageMode::Individual,
            secret: Some(SecretHash::from_phc(CUSTOMER_SECRET.into())),
        })?;
        tx.insert_token(&sample_token("12345678"))?;
        tx.insert_token(&sample_token("87654321"))?;
        let mut u = User::new(
            lid("taro"),
            cid("C001"),
            "太郎".into(),
            UserClass::Master,
            true,
        );
        u.serial = Some(sn("12345678"));
        u.secret = Some(SecretHash::from_phc(USER_SECRET.into()));
        u.login_password = Some(SecretHash::from_phc(LOGIN_PASSWORD.into()));
        tx.insert_user(&u)?;
        tx.insert_client(&ApiClient {
            name: ib_frontend(),
            scopes: vec![Scope::Login, Scope::Backoffice],
            key_hash: KEY_HASH.into(),
            created_at: t0,
            revoked_at: None,
        })?;
        tx.insert_operator(&Operator {
            name: suzuki(),
            role: Role::Supervisor,
            password: SecretHash::from_phc(OPERATOR_PASSWORD.into()),
            serial: sn("87654321"),
            failures: 0,
            locked_until: None,
            created_at: t0,
        })?;
        tx.insert_session(&OperatorSession {
            token_hash: SESSION_HASH.into(),
            operator: suzuki(),
            client: ib_frontend(),
            created_at: t0,
            last_seen: t0,
        })?;
        tx.insert_request(&BackofficeRequest {
            id: 0,
            kind: RequestKind::Unlock {
                customer: cid("C001"),
                login: lid("taro"),
            },
            requested_by: suzuki(),
            requested_at: t0,
            approved_by: None,
            approved_at: None,
            ended: None,
        })?;
        tx.set_throttle(
            THROTTLE_KEY,
            &Throttle {
                failures: 2,
                locked_until: None,
            },
        )?;
        tx.append_audit(&AuditEntry {
            id: 1,
            at: t0,
            actor: Actor::System,
            digest: "d1".into(),
            ..super::audit_entry(None, "init")
        })?;
        Ok(())
    })
    .unwrap();
}

/// A change made behind the store's back to one row of [`one_row_of_each_kind`]'s bank,
/// the read that meets it and what its error must name.
pub struct Damage {
    /// The statement (it changes one row).
    pub sql: &'static str,
    /// A read through the store that decodes the row.
    pub read: fn(&mut dyn Tx) -> Result<(), StoreError>,
    /// The table the error names.
    pub table: &'static str,
    /// The row, as the error names it (a SQL condition on its key).
    pub row: &'static str,
    /// The column the error names.
    pub column: &'static str,
}

/// The user row's key.
pub const TARO: &str = "customer = 'C001' AND login = 'taro'";

/// The damages whose statements every SQL backend runs as they are: text that is not what a
/// text column holds (a time, an identifier, JSON, a scope, an actor), a negative count.
pub fn damages() -> Vec<Damage> {
    vec![
        Damage {
            sql: "UPDATE users SET locked_until = 'tomorrow'",
            read: |tx| tx.user(&cid("C001"), &lid("taro")).map(drop),
            table: "users",
            row: TARO,
            column: "locked_until",
        },
        Damage {
            sql: "UPDATE users SET failures = -1",
            read: |tx| tx.users_by_login(&lid("taro")).map(drop),
            table: "users",
            row: TARO,
            column: "failures",
        },
        Damage {
            sql: "UPDATE users SET login = 'ta''ro'",
            read: |tx| tx.users_of_customer(&cid("C001"))?.whole().map(drop),
            table: "users",
            row: "customer = 'C001' AND login = 'ta''ro'",
            column: "login",
        },
        Damage {
            sql: "UPDATE users SET login_password_hash = 'hunter2-plain'",
            read: |tx| tx.user(&cid("C001"), &lid("taro")).map(drop),
            table: "users",
            row: TARO,
            column: "login_password_hash",
        },
        Damage {
            sql: "UPDATE users SET secret_hash = 'hunter2-plain'",
            read: |tx| tx.users_by_login(&lid("taro")).map(drop),
            table: "users",
            row: TARO,
            column: "secret_hash",
        },
        Damage {
            sql: "UPDATE customers SET secret_hash = 'hunter2-plain'",
            read: |tx| tx.customer(&cid("C001")).map(drop),
            table: "customers",
            row: "id = 'C001'",
            column: "secret_hash",
        },
        Damage {
            sql: "UPDATE operators SET password_hash = 'hunter2-plain'",
            read: |tx| tx.operator(&suzuki()).map(drop),
            table: "operators",
            row: "name = 'suzuki'",
            column: "password_hash",
        },
        Damage {
            sql: "UPDATE api_clients SET key_hash = 'hunter2-plain'",
            read: |tx| tx.client(&ib_frontend()).map(drop),
            table: "api_clients",
            row: "name = 'ib-frontend'",
            column: "key_hash",
        },
        Damage {
            sql: "UPDATE tokens SET expiry = 'soon' WHERE serial = '12345678'",
            read: |tx| tx.token(&sn("12345678")).map(drop),
            table: "tokens",
            row: "serial = '12345678'",
            column: "expiry",
        },
        Damage {
            sql: "UPDATE tokens SET status = 'issued' WHERE serial = '12345678'",
            read: |tx| {
                tx.tokens_page(&crate::store::TokenFilter::default(), 0, 10)
                    .map(drop)
            },
            table: "tokens",
            row: "serial = '12345678'",
            column: "status",
        },
        Damage {
            sql: "UPDATE tokens SET params = '{}' WHERE serial = '12345678'",
            read: |tx| tx.token(&sn("12345678")).map(drop),
            table: "tokens",
            row: "serial = '12345678'",
            column: "params",
        },
        Damage {
            sql: "UPDATE api_clients SET created_at = 'yesterday'",
            read: |tx| tx.clients()?.whole().map(drop),
            table: "api_clients",
            row: "name = 'ib-frontend'",
            column: "created_at",
        },
        Damage {
            sql: "UPDATE api_clients SET scopes = 'login,everything'",
            read: |tx| tx.client_by_key(KEY_HASH).map(drop),
            table: "api_clients",
            row: "name = 'ib-frontend'",
            column: "scopes",
        },
        Damage {
            sql: "UPDATE operators SET failures = -1",
            read: |tx| tx.operator(&suzuki()).map(drop),
            table: "operators",
            row: "name = 'suzuki'",
            column: "failures",
        },
        Damage {
            sql: "UPDATE operators SET created_at = 'then'",
            read: |tx| tx.operators()?.whole().map(drop),
            table: "operators",
            row: "name = 'suzuki'",
            column: "created_at",
        },
        Damage {
            sql: "UPDATE operator_sessions SET last_seen = 'now'",
            read: |tx| tx.session(SESSION_HASH).map(drop),
            table: "operator_sessions",
            row: "operator = 'suzuki' AND client = 'ib-frontend' AND created_at = \
                  '2026-03-03T01:00:00Z'",
            column: "last_seen",
        },
        Damage {
            sql: "UPDATE backoffice_requests SET kind = '{'",
            read: |tx| tx.pending_requests().map(drop),
            table: "backoffice_requests",
            row: "id = 1",
            column: "kind",
        },
        Damage {
            sql: "UPDATE backoffice_requests SET requested_by = 'Suzuki San'",
            read: |tx| tx.request(1).map(drop),
            table: "backoffice_requests",
            row: "id = 1",
            column: "requested_by",
        },
        Damage {
            sql: "UPDATE throttles SET failures = -1",
            read: |tx| tx.throttle(THROTTLE_KEY).map(drop),
            table: "throttles",
            row: "key = 'login:C001/ghost'",
            column: "failures",
        },
        Damage {
            sql: "UPDATE audit SET at = 'then'",
            read: |tx| tx.audit(&AuditQuery::default())?.whole().map(drop),
            table: "audit",
            row: "id = 1",
            column: "at",
        },
        Damage {
            sql: "UPDATE audit SET actor_kind = 'robot'",
            read: |tx| tx.audit(&AuditQuery::default())?.whole().map(drop),
            table: "audit",
            row: "id = 1",
            column: "actor_kind",
        },
    ]
}

/// Every secret of [`one_row_of_each_kind`]'s bank, as text an error could show it in.
fn secrets() -> Vec<String> {
    let seed = sample_token("12345678").seed.expose().to_vec();
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        USER_SECRET.into(),
        LOGIN_PASSWORD.into(),
        CUSTOMER_SECRET.into(),
        OPERATOR_PASSWORD.into(),
        KEY_HASH.into(),
        SESSION_HASH.into(),
        "argon2".into(),
        "hunter2".into(),
        hex,
        format!("{seed:?}"),
    ]
}

/// The text of `read`'s error after `d`, which must be [`StoreError::Corrupt`] naming `d`'s
/// table, row and column, ending with what to do, and holding no secret of the row.
pub fn assert_damage_named(read: Result<(), StoreError>, d: &Damage) -> String {
    let m = match read {
        Err(StoreError::Corrupt(m)) => m,
        other => panic!(
            "after `{}`: expected a damaged-row error, got {other:?}",
            d.sql
        ),
    };
    let head = format!(
        "table {}, row where {}, column {}: ",
        d.table, d.row, d.column
    );
    assert!(
        m.starts_with(&head),
        "after `{}`:\n  {m}\nmust begin\n  {head}",
        d.sql
    );
    assert!(
        m.ends_with(repair_of(d.table)),
        "after `{}`: {m}\nmust end with what to do",
        d.sql
    );
    for s in secrets() {
        assert!(
            !m.to_lowercase().contains(&s.to_lowercase()),
            "after `{}`: {m}\nshows a secret ({s})",
            d.sql
        );
    }
    m
}
