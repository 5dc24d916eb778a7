//! The storage contract: every [`Store`] implementation runs [`run_all`] in its tests
//! (`lifecycle` against [`crate::memory::MemoryStore`], `lifecycle-sqlite` against SQLite).
//! Each check panics with a message naming the broken rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::audit::{Actor, AuditEntry, AuditQuery};
use crate::ids::{CustomerId, LoginId, SerialNumber};
use crate::model::{
    Customer, NewToken, Seed, TokenCounters, TokenStatus, UsageMode, User, UserClass,
};
use crate::secret::SecretHash;
use crate::store::{Store, StoreError};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

fn cid(s: &str) -> CustomerId {
    CustomerId::parse(s).unwrap()
}
fn lid(s: &str) -> LoginId {
    LoginId::parse(s).unwrap()
}
fn sn(s: &str) -> SerialNumber {
    SerialNumber::parse(s).unwrap()
}
fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, nanos).single().unwrap()
}

/// A token for contract checks (seed bytes are a test pattern).
pub fn sample_token(serial: &str) -> NewToken {
    NewToken {
        serial: sn(serial),
        seed: Seed::new((0u8..20).collect()),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: NaiveDate::from_ymd_opt(2030, 1, 31).unwrap(),
        batch: "B-1".into(),
        drift: 0,
    }
}

fn customer(id: &str) -> Customer {
    Customer {
        id: cid(id),
        name: format!("{id} 株式会社"),
        mode: UsageMode::Individual,
        secret: Some(SecretHash::from_phc(
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        )),
    }
}

fn audit_entry(customer: Option<&str>, action: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: at(1_700_000_000, 123_000_000),
        actor: Actor::User("u1".into()),
        via: Some("client:ib-frontend".into()),
        action: action.into(),
        customer: customer.map(str::to_owned),
        subject: Some("12345678".into()),
        outcome: "ok".into(),
        detail: "détail 日本語".into(),
        clock: Some("fixed:2025-01-01T00:00:00Z".into()),
        prev: String::new(),
        digest: String::new(),
    }
}

/// Appends `e` chained under the test key every contract run uses.
fn append_chained(tx: &mut dyn crate::store::Tx, e: AuditEntry) -> Result<i64, StoreError> {
    crate::audit::append(tx, e, &contract_key())
}

/// The audit key of the contract checks (the store's own is not needed to test storage).
fn contract_key() -> crate::audit::AuditKey {
    crate::audit::AuditKey::from_bytes(zeroize::Zeroizing::new([7u8; 32]))
}

/// Runs every contract check, each on a fresh store from `make`.
pub fn run_all<S: Store>(make: impl Fn() -> S) {
    customers_round_trip(&make());
    users_round_trip(&make());
    tokens_round_trip(&make());
    imported_time_drift_is_the_starting_drift(&make());
    failed_transaction_rolls_back(&make());
    rows_written_by_a_failed_transaction_read_as_before(&make());
    a_panic_inside_a_transaction_writes_nothing_and_the_store_goes_on(&make());
    imports_are_recorded_once(&make());
    audit_is_append_only_and_ordered(&make());
    audit_filters_select_like_the_reference(&make());
    clients_round_trip(&make());
    operators_and_sessions_round_trip(&make());
    requests_and_throttles_round_trip(&make());
    admin_listing_and_removal(&make());
    import_skip_known_keeps_all_or_nothing(&make());
    two_customers_may_each_have_login_admin01(&make());
    customer_ids_are_found_ignoring_case(&make());
    logins_are_found_ignoring_case_within_their_customer(&make());
}

/// [`Tx::logins_ignoring_case`] (issue #10: `RMASTER` beside `rmaster`): every stored user of
/// the customer asked whose login ID equals the one asked ignoring ASCII case, exact ones
/// included, ordered by customer then login ID, as stored; never another customer's user;
/// nothing for login IDs that differ in more than case, nor for an empty list.
///
/// [`Tx::logins_ignoring_case`]: crate::store::UserRows::logins_ignoring_case
pub fn logins_are_found_ignoring_case_within_their_customer<S: Store>(s: &S) {
    s.transaction(|tx| {
        for c in ["C1", "C2"] {
            tx.insert_customer(&customer(c))?;
        }
        for (c, l) in [
            ("C1", "rmaster"),
            ("C1", "Hanako.K@x"),
            ("C1", "jiro"),
            ("C2", "RMASTER"),
        ] {
            tx.insert_user(&User::new(
                lid(l),
                cid(c),
                l.into(),
                UserClass::General,
                true,
            ))?;
        }
        Ok(())
    })
    .unwrap();
    let found = |ask: &[(&str, &str)]| {
        let users: Vec<(CustomerId, LoginId)> = ask.iter().map(|(c, l)| (cid(c), lid(l))).collect();
        s.transaction(|tx| tx.logins_ignoring_case(&users))
            .unwrap()
            .iter()
            .map(|(c, l)| format!("{c}/{l}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        found(&[("C1", "RMASTER")]),
        ["C1/rmaster"],
        "another case, same customer"
    );
    assert_eq!(
        found(&[("C1", "rmaster")]),
        ["C1/rmaster"],
        "the exact login ID too"
    );
    assert_eq!(
        found(&[("C2", "rMaster")]),
        ["C2/RMASTER"],
        "each customer its own"
    );
    assert_eq!(found(&[("C1", "hanako.k@X")]), ["C1/Hanako.K@x"]);
    assert_eq!(
        found(&[
            ("C2", "JIRO"),
            ("C1", "JIRO"),
            ("C1", "RMaster"),
            ("C2", "rmaster")
        ]),
        ["C1/jiro", "C1/rmaster", "C2/RMASTER"],
        "several at once, ordered by customer then login ID"
    );
    assert!(found(&[("C2", "jiro"), ("C1", "rmaster2"), ("C3", "rmaster")]).is_empty());
    assert!(found(&[]).is_empty());
}

/// [`Tx::customer_ids_ignoring_case`] (issue #10: `C0001` beside `c0001`): every stored ID
/// equal to one asked ignoring ASCII case, exact ones included, ordered by ID, as stored;
/// nothing for IDs that differ in more than case, nor for an empty list.
///
/// [`Tx::customer_ids_ignoring_case`]: crate::store::CustomerRows::customer_ids_ignoring_case
pub fn customer_ids_are_found_ignoring_case<S: Store>(s: &S) {
    for id in ["c0001", "AbC-x.y@z", "C0002", "c0003"] {
        s.transaction(|tx| tx.insert_customer(&customer(id)))
            .unwrap();
    }
    let found = |ask: &[&str]| {
        let ids: Vec<CustomerId> = ask.iter().map(|a| cid(a)).collect();
        let got = s
            .transaction(|tx| tx.customer_ids_ignoring_case(&ids))
            .unwrap();
        got.iter()
            .map(|c| c.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        found(&["C0001"]),
        ["c0001"],
        "another case finds the stored ID"
    );
    assert_eq!(found(&["c0001"]), ["c0001"], "the exact ID is found too");
    assert_eq!(found(&["aBc-X.Y@Z"]), ["AbC-x.y@z"]);
    assert_eq!(
        found(&["c0002", "C0003", "c0004", "C0001"]),
        ["C0002", "c0001", "c0003"],
        "several at once, ordered by ID as stored"
    );
    assert!(found(&["c00010", "c000", "c0004"]).is_empty());
    assert!(found(&[]).is_empty());
}

/// Login IDs are unique per customer, not bank-wide (issue #15; the seeds' 契約者 each name
/// their own users): two customers each have a user `admin01`; each reads, updates and is
/// deleted on its own; the same login twice in one customer is still `Duplicate`;
/// [`Tx::users_by_login`] finds both, ordered by customer.
///
/// [`Tx::users_by_login`]: crate::store::UserRows::users_by_login
pub fn two_customers_may_each_have_login_admin01<S: Store>(s: &S) {
    let mk = |c: &str, name: &str| {
        User::new(lid("admin01"), cid(c), name.into(), UserClass::Master, true)
    };
    s.transaction(|tx| {
        tx.insert_customer(&customer("C0042"))?;
        tx.insert_customer(&customer("C0041"))?;
        tx.insert_user(&mk("C0042", "四二"))?;
        tx.insert_user(&mk("C0041", "四一"))
    })
    .expect("two customers may each have admin01");
    let dup = s.transaction(|tx| tx.insert_user(&mk("C0041", "again")));
    assert!(
        matches!(dup, Err(StoreError::Duplicate { what: "user", .. })),
        "admin01 twice in one customer must be Duplicate, got {dup:?}"
    );
    let name = |c: &str| {
        s.transaction(|tx| tx.user(&cid(c), &lid("admin01")))
            .unwrap()
            .map(|u| u.name)
    };
    assert_eq!(name("C0041").as_deref(), Some("四一"));
    assert_eq!(name("C0042").as_deref(), Some("四二"));
    let both: Vec<String> = s
        .transaction(|tx| tx.users_by_login(&lid("admin01")))
        .unwrap()
        .into_iter()
        .map(|u| u.customer.to_string())
        .collect();
    assert_eq!(
        both,
        ["C0041", "C0042"],
        "users_by_login: every customer's, by customer"
    );
    let mut u = s
        .transaction(|tx| tx.user(&cid("C0041"), &lid("admin01")))
        .unwrap()
        .unwrap();
    u.failures = 4;
    s.transaction(|tx| tx.update_user(&u)).unwrap();
    let other = s
        .transaction(|tx| tx.user(&cid("C0042"), &lid("admin01")))
        .unwrap()
        .unwrap();
    assert_eq!(
        other.failures, 0,
        "an update touches that customer's user only"
    );
    s.transaction(|tx| tx.delete_user(&cid("C0042"), &lid("admin01")))
        .unwrap();
    assert_eq!(name("C0042"), None);
    assert_eq!(
        name("C0041").as_deref(),
        Some("四一"),
        "a delete removes that customer's user only"
    );
}

/// `import --skip-known` through the domain on this store (issue #15): a serial the store
/// holds with the same seed (read back through its encryption at rest) is skipped and
/// counted; a known serial with another seed refuses the whole file, naming the serial, and
/// leaves the store as it was.
pub fn import_skip_known_keeps_all_or_nothing<S: Store>(s: &S) {
    use crate::auth::Caller;
    use crate::bank::Bank;
    use crate::error::Error;
    let bank = Bank::new(s, crate::policy::Policy::default());
    let root = Caller::Local("root".into());
    let now = at(1_700_000_000, 0);
    let partial: Vec<NewToken> = ["40000001", "40000002"]
        .iter()
        .map(|t| sample_token(t))
        .collect();
    assert_eq!(
        bank.import_tokens(&root, "sha256:part", "part", &partial, now)
            .unwrap(),
        2
    );
    let full: Vec<NewToken> = ["40000001", "40000002", "40000003", "40000004"]
        .iter()
        .map(|t| sample_token(t))
        .collect();
    assert_eq!(
        bank.import_tokens(&root, "sha256:full", "full", &full, now)
            .unwrap_err()
            .code(),
        "duplicate_serial",
        "without skip_known a known serial still refuses the file"
    );
    let mut other = full.clone();
    other[1].seed = Seed::new(vec![9u8; 20]);
    assert_eq!(
        bank.import_tokens_skipping_known(&root, "sha256:other", "other", &other, now)
            .unwrap_err(),
        Error::KnownSerialOtherSeed(sn("40000002")),
        "a known serial with another seed is refused, naming it"
    );
    assert_eq!(
        s.transaction(|tx| tx.token_count()).unwrap(),
        2,
        "a refused skip-known import writes nothing"
    );
    // The refusal may come after whole batches of the stream were written (the import
    // looks serials up 1024 records ahead): still nothing is kept.
    let mut long: Vec<NewToken> = (0..1100u32)
        .map(|i| sample_token(&(41_000_000 + i).to_string()))
        .collect();
    long.push(other[1].clone());
    assert_eq!(
        bank.import_tokens_skipping_known(&root, "sha256:long", "long", &long, now)
            .unwrap_err(),
        Error::KnownSerialOtherSeed(sn("40000002")),
        "a known serial with another seed after 1100 new records"
    );
    assert_eq!(
        s.transaction(|tx| tx.token_count()).unwrap(),
        2,
        "a skip-known import refused after writing batches keeps nothing"
    );
    let o = bank
        .import_tokens_skipping_known(&root, "sha256:full", "full", &full, now)
        .unwrap();
    assert_eq!((o.imported, o.skipped), (2, 2));
    assert_eq!(s.transaction(|tx| tx.token_count()).unwrap(), 4);
}

/// Customers and tokens page in key order with a total; the token filter matches by status
/// and by customer (issued or active there, never a staff token); a user row is removed and
/// its token-management permission reads back (issue #15).
pub fn admin_listing_and_removal<S: Store>(s: &S) {
    use crate::store::TokenFilter;
    s.transaction(|tx| {
        for c in ["C003", "C001", "C002"] {
            tx.insert_customer(&customer(c))?;
        }
        for t in ["30000003", "30000001", "30000002", "30000004"] {
            tx.insert_token(&sample_token(t))?;
        }
        let mut t = tx.token(&sn("30000002"))?.unwrap();
        t.status = TokenStatus::Issued {
            customer: cid("C001"),
        };
        tx.update_token(&t)?;
        let mut t = tx.token(&sn("30000004"))?.unwrap();
        t.status = TokenStatus::Active {
            customer: cid("C001"),
        };
        tx.update_token(&t)?;
        let mut u = User::new(
            lid("adm"),
            cid("C001"),
            "管理".into(),
            UserClass::Admin,
            true,
        );
        u.token_management = false;
        tx.insert_user(&u)
    })
    .unwrap();
    let (total, page) = s.transaction(|tx| tx.customers_page(1, 10)).unwrap();
    assert_eq!(total, 3, "customers_page counts every customer");
    assert_eq!(
        page.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["C002", "C003"],
        "customers_page orders by id and skips the offset"
    );
    assert_eq!(
        page[0],
        customer("C002"),
        "customers read back field for field"
    );
    let list = |f: TokenFilter, off, lim| {
        let (n, v) = s.transaction(|tx| tx.tokens_page(&f, off, lim)).unwrap();
        (
            n,
            v.into_iter()
                .map(|t| t.serial.to_string())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        list(TokenFilter::default(), 1, 2),
        (4, vec!["30000002".to_owned(), "30000003".to_owned()]),
        "tokens_page orders by serial, counts all, skips and limits"
    );
    assert_eq!(
        list(
            TokenFilter {
                status: Some("stock"),
                customer: None
            },
            0,
            10
        ),
        (2, vec!["30000001".to_owned(), "30000003".to_owned()]),
        "tokens_page filters by status"
    );
    assert_eq!(
        list(
            TokenFilter {
                status: None,
                customer: Some(cid("C001"))
            },
            0,
            10
        ),
        (2, vec!["30000002".to_owned(), "30000004".to_owned()]),
        "tokens_page filters by customer (issued and active)"
    );
    assert_eq!(
        list(
            TokenFilter {
                status: Some("active"),
                customer: Some(cid("C001"))
            },
            0,
            10
        )
        .0,
        1
    );
    let u = s
        .transaction(|tx| tx.user(&cid("C001"), &lid("adm")))
        .unwrap()
        .unwrap();
    assert!(!u.token_management, "token_management must read back");
    s.transaction(|tx| tx.delete_user(&cid("C001"), &lid("adm")))
        .unwrap();
    assert_eq!(
        s.transaction(|tx| tx.user(&cid("C001"), &lid("adm")))
            .unwrap(),
        None
    );
    assert!(
        matches!(
            s.transaction(|tx| tx.delete_user(&cid("C001"), &lid("adm"))),
            Err(StoreError::Missing { what: "user", .. })
        ),
        "deleting a missing user is Missing"
    );
}

/// API clients: insert, find by key hash, list, revoke; duplicate names refused.
pub fn clients_round_trip<S: Store>(s: &S) {
    use crate::access::ApiClient;
    use crate::auth::Scope;
    let c = ApiClient {
        name: crate::ids::ClientName::parse("ib-frontend").unwrap(),
        scopes: vec![Scope::Login, Scope::CustomerAdmin],
        key_hash: "ab".repeat(32),
        created_at: at(1_700_000_000, 5),
        revoked_at: None,
    };
    s.transaction(|tx| tx.insert_client(&c)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.client_by_key(&"ab".repeat(32)))
            .unwrap(),
        Some(c.clone()),
        "a client must read back by its key hash"
    );
    assert_eq!(
        s.transaction(|tx| tx.client_by_key(&"cd".repeat(32)))
            .unwrap(),
        None
    );
    let dup = s.transaction(|tx| tx.insert_client(&c));
    assert!(
        matches!(dup, Err(StoreError::Duplicate { what: "client", .. })),
        "{dup:?}"
    );
    let mut r = c.clone();
    r.revoked_at = Some(at(1_700_000_100, 0));
    s.transaction(|tx| tx.update_client(&r)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.clients()).unwrap(),
        vec![r],
        "revocation must persist"
    );
}

/// Operators and their sessions; a staff token's status round-trips.
pub fn operators_and_sessions_round_trip<S: Store>(s: &S) {
    use crate::access::{Operator, OperatorSession, Role};
    let name = crate::ids::OperatorId::parse("suzuki").unwrap();
    s.transaction(|tx| tx.insert_token(&sample_token("55555555")))
        .unwrap();
    let mut t = s
        .transaction(|tx| tx.token(&sn("55555555")))
        .unwrap()
        .unwrap();
    t.status = TokenStatus::Staff {
        operator: name.clone(),
    };
    s.transaction(|tx| tx.update_token(&t)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.token(&sn("55555555")))
            .unwrap()
            .unwrap()
            .status,
        t.status,
        "a staff token must read back as staff"
    );
    let mut o = Operator {
        name: name.clone(),
        role: Role::Supervisor,
        password: SecretHash::from_phc("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into()),
        serial: sn("55555555"),
        failures: 0,
        locked_until: None,
        created_at: at(1_700_000_000, 0),
    };
    s.transaction(|tx| tx.insert_operator(&o)).unwrap();
    let dup = s.transaction(|tx| tx.insert_operator(&o));
    assert!(
        matches!(
            dup,
            Err(StoreError::Duplicate {
                what: "operator",
                ..
            })
        ),
        "{dup:?}"
    );
    o.failures = 2;
    o.locked_until = Some(at(1_700_000_300, 7));
    s.transaction(|tx| tx.update_operator(&o)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.operator(&name)).unwrap(),
        Some(o.clone())
    );
    let mut sess = OperatorSession {
        token_hash: "ef".repeat(32),
        operator: name.clone(),
        client: crate::ids::ClientName::parse("backoffice-ui").unwrap(),
        created_at: at(1_700_000_000, 1),
        last_seen: at(1_700_000_000, 1),
    };
    s.transaction(|tx| tx.insert_session(&sess)).unwrap();
    sess.last_seen = at(1_700_000_060, 2);
    s.transaction(|tx| tx.update_session(&sess)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.session(&"ef".repeat(32))).unwrap(),
        Some(sess.clone())
    );
    // Every operator, by name, and one operator's sessions (`bank operator list|remove`).
    assert_eq!(s.transaction(|tx| tx.operators()).unwrap(), vec![o.clone()]);
    assert_eq!(
        s.transaction(|tx| tx.sessions_of(&name)).unwrap(),
        vec![sess]
    );
    let other = crate::ids::OperatorId::parse("nobody").unwrap();
    assert_eq!(s.transaction(|tx| tx.sessions_of(&other)).unwrap(), vec![]);
    s.transaction(|tx| tx.delete_session(&"ef".repeat(32)))
        .unwrap();
    assert_eq!(
        s.transaction(|tx| tx.session(&"ef".repeat(32))).unwrap(),
        None
    );
    s.transaction(|tx| tx.delete_session(&"ef".repeat(32)))
        .unwrap();
}

/// Dual-control requests get increasing ids and record their approval; throttles default
/// to zero and round-trip.
pub fn requests_and_throttles_round_trip<S: Store>(s: &S) {
    use crate::access::{BackofficeRequest, RequestKind, Throttle};
    let op = crate::ids::OperatorId::parse("sato").unwrap();
    let r = BackofficeRequest {
        id: 0,
        kind: RequestKind::RevokeUser {
            customer: cid("C001"),
            login: lid("taro"),
            reason: "紛失".into(),
        },
        requested_by: op.clone(),
        requested_at: at(1_700_000_000, 3),
        approved_by: None,
        approved_at: None,
        ended: None,
    };
    let id1 = s.transaction(|tx| tx.insert_request(&r)).unwrap();
    let id2 = s.transaction(|tx| tx.insert_request(&r)).unwrap();
    // Withdrawn and rejected requests keep how they ended, and are no longer pending.
    let id3 = s.transaction(|tx| tx.insert_request(&r)).unwrap();
    let id4 = s.transaction(|tx| tx.insert_request(&r)).unwrap();
    for (id, end) in [
        (
            id3,
            crate::access::RequestEnd::Withdrawn {
                by: op.clone(),
                at: at(1_700_000_050, 7),
            },
        ),
        (
            id4,
            crate::access::RequestEnd::Rejected {
                by: crate::ids::OperatorId::parse("suzuki").unwrap(),
                at: at(1_700_000_060, 0),
                reason: "誤った申請".into(),
            },
        ),
    ] {
        let mut e = s.transaction(|tx| tx.request(id)).unwrap().unwrap();
        e.ended = Some(end);
        s.transaction(|tx| tx.update_request(&e)).unwrap();
        assert_eq!(s.transaction(|tx| tx.request(id)).unwrap(), Some(e));
    }
    assert!(id2 > id1, "request ids must increase");
    let mut got = s
        .transaction(|tx| tx.request(id1))
        .unwrap()
        .expect("request");
    assert_eq!(got.kind, r.kind);
    assert_eq!(got.requested_at, r.requested_at);
    got.approved_by = Some(crate::ids::OperatorId::parse("tanaka").unwrap());
    got.approved_at = Some(at(1_700_000_100, 0));
    s.transaction(|tx| tx.update_request(&got)).unwrap();
    assert_eq!(s.transaction(|tx| tx.request(id1)).unwrap(), Some(got));
    let pending: Vec<i64> = s
        .transaction(|tx| tx.pending_requests())
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(pending, [id2], "an approved request is no longer pending");
    assert_eq!(s.transaction(|tx| tx.request(999)).unwrap(), None);
    assert_eq!(
        s.transaction(|tx| tx.throttle("login:ghost")).unwrap(),
        Throttle::default()
    );
    let t = Throttle {
        failures: 3,
        locked_until: Some(at(1_700_000_500, 9)),
    };
    s.transaction(|tx| tx.set_throttle("login:ghost", &t))
        .unwrap();
    assert_eq!(s.transaction(|tx| tx.throttle("login:ghost")).unwrap(), t);
    s.transaction(|tx| tx.set_throttle("login:ghost", &Throttle::default()))
        .unwrap();
    assert_eq!(
        s.transaction(|tx| tx.throttle("login:ghost")).unwrap(),
        Throttle::default()
    );
}

/// Customers: insert, read, update, duplicate refused.
pub fn customers_round_trip<S: Store>(s: &S) {
    let c = customer("C001");
    s.transaction(|tx| tx.insert_customer(&c)).unwrap();
    let got = s.transaction(|tx| tx.customer(&cid("C001"))).unwrap();
    assert_eq!(got.as_ref(), Some(&c), "customer must read back as written");
    let dup = s.transaction(|tx| tx.insert_customer(&c));
    assert!(
        matches!(
            dup,
            Err(StoreError::Duplicate {
                what: "customer",
                ..
            })
        ),
        "duplicate customer must be Duplicate, got {dup:?}"
    );
    let mut c2 = c.clone();
    c2.mode = UsageMode::Shared;
    c2.secret = None;
    s.transaction(|tx| tx.update_customer(&c2)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.customer(&cid("C001"))).unwrap(),
        Some(c2),
        "update must replace mode and secret"
    );
    assert_eq!(
        s.transaction(|tx| tx.customer(&cid("NOPE"))).unwrap(),
        None,
        "unknown customer reads as None"
    );
    let miss = s.transaction(|tx| tx.update_customer(&customer("NOPE")));
    assert!(
        matches!(miss, Err(StoreError::Missing { .. })),
        "update of unknown customer must be Missing, got {miss:?}"
    );
}

/// Users: every field round-trips (times to the nanosecond), ordering, lookups by token.
pub fn users_round_trip<S: Store>(s: &S) {
    s.transaction(|tx| {
        tx.insert_customer(&customer("C001"))?;
        tx.insert_customer(&customer("C002"))?;
        tx.insert_token(&sample_token("11111111"))?;
        tx.insert_token(&sample_token("22222222"))
    })
    .unwrap();
    let mut b = User::new(
        lid("bob"),
        cid("C001"),
        "ボブ".into(),
        UserClass::General,
        true,
    );
    b.serial = Some(sn("11111111"));
    b.issued = Some(sn("22222222"));
    b.last_revoked_at = Some(at(1_700_000_000, 987_654_321));
    b.awaiting_registration = true;
    b.failures = 3;
    b.locked_until = Some(at(1_700_000_600, 5));
    b.last_locked_at = Some(at(1_700_000_000, 123_456_789));
    b.secret = Some(SecretHash::from_phc(
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
    ));
    // The login password is a hash of its own, never the confirmation secret's.
    b.login_password = Some(SecretHash::from_phc(
        "$argon2id$v=19$m=8,t=1,p=1$bG9naW5zYWx0$bG9naW4".into(),
    ));
    let mut a = User::new(
        lid("alice"),
        cid("C001"),
        "アリス".into(),
        UserClass::Master,
        true,
    );
    a.serial = Some(sn("11111111"));
    let z = User::new(
        lid("zed"),
        cid("C002"),
        "Zed".into(),
        UserClass::Admin,
        false,
    );
    s.transaction(|tx| {
        tx.insert_user(&b)?;
        tx.insert_user(&a)?;
        tx.insert_user(&z)
    })
    .unwrap();
    assert_eq!(
        s.transaction(|tx| tx.user(&cid("C001"), &lid("bob")))
            .unwrap()
            .as_ref(),
        Some(&b),
        "user must read back field for field"
    );
    let dup = s.transaction(|tx| tx.insert_user(&b));
    assert!(
        matches!(dup, Err(StoreError::Duplicate { what: "user", .. })),
        "duplicate login must be Duplicate, got {dup:?}"
    );
    let of_c1: Vec<String> = s
        .transaction(|tx| tx.users_of_customer(&cid("C001")))
        .unwrap()
        .into_iter()
        .map(|u| u.login.to_string())
        .collect();
    assert_eq!(
        of_c1,
        ["alice", "bob"],
        "users_of_customer: only that customer's, by login"
    );
    let of_t: Vec<String> = s
        .transaction(|tx| tx.users_of_token(&sn("11111111")))
        .unwrap()
        .into_iter()
        .map(|u| u.login.to_string())
        .collect();
    assert_eq!(
        of_t,
        ["alice", "bob"],
        "users_of_token: every user of a shared token"
    );
    let mut b2 = b.clone();
    b2.serial = None;
    b2.locked_until = None;
    b2.last_locked_at = Some(at(1_700_000_700, 1));
    b2.last_revoked_at = None;
    b2.issued = None;
    b2.secret = None;
    b2.needs_otp = false;
    let mut b3 = b2.clone();
    b2.login_password = None;
    s.transaction(|tx| tx.update_user(&b2)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.user(&cid("C001"), &lid("bob")))
            .unwrap(),
        Some(b2),
        "update must clear optional fields"
    );
    b3.login_password = Some(SecretHash::from_phc(
        "$argon2id$v=19$m=8,t=1,p=1$b3RoZXJzYWx0$b3RoZXI".into(),
    ));
    s.transaction(|tx| tx.update_user(&b3)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.user(&cid("C001"), &lid("bob")))
            .unwrap(),
        Some(b3.clone()),
        "update must replace the login password"
    );
    b3.login_password = None;
    s.transaction(|tx| tx.update_user(&b3)).unwrap();
    let of_t = s
        .transaction(|tx| tx.users_of_token(&sn("11111111")))
        .unwrap();
    assert_eq!(
        of_t.len(),
        1,
        "an unregistered user no longer counts for the token"
    );
}

/// A token imported with a starting drift (PSKC `<TimeDrift>`, issue #13) reads back with
/// it (TOTP), and an HOTP token's drift stays 0 whatever it was given.
pub fn imported_time_drift_is_the_starting_drift<S: Store>(s: &S) {
    let behind = NewToken {
        drift: -2,
        ..sample_token("21212121")
    };
    let ahead = NewToken {
        drift: 3,
        ..sample_token("31313131")
    };
    let hotp = NewToken {
        drift: 5,
        params: otp_core::Params {
            mode: otp_core::Mode::Hotp { counter: 7 },
            ..otp_core::Params::DEFAULT_TOTP
        },
        ..sample_token("41414141")
    };
    s.transaction(|tx| {
        tx.insert_token(&behind)?;
        tx.insert_token(&ahead)?;
        tx.insert_token(&hotp)
    })
    .unwrap();
    for (serial, drift) in [("21212121", -2), ("31313131", 3), ("41414141", 0)] {
        let info = s
            .transaction(|tx| tx.token(&sn(serial)))
            .unwrap()
            .expect("token stored");
        assert_eq!(
            info.counters.drift, drift,
            "token {serial} must start with drift {drift}"
        );
    }
}

/// Tokens: seed and info round-trip; updates change status and counters only.
pub fn tokens_round_trip<S: Store>(s: &S) {
    let t = sample_token("12345678");
    s.transaction(|tx| tx.insert_token(&t)).unwrap();
    let info = s
        .transaction(|tx| tx.token(&sn("12345678")))
        .unwrap()
        .expect("token stored");
    assert_eq!(
        info,
        t.info(),
        "token info must read back as imported (in stock)"
    );
    let seed = s
        .transaction(|tx| tx.token_seed(&sn("12345678")))
        .unwrap()
        .expect("seed stored");
    assert_eq!(
        seed.expose(),
        t.seed.expose(),
        "seed must read back byte for byte"
    );
    let dup = s.transaction(|tx| tx.insert_token(&t));
    assert!(
        matches!(&dup, Err(StoreError::Duplicate { what: "token", key }) if key == "12345678"),
        "duplicate serial must be Duplicate naming it, got {dup:?}"
    );
    let mut upd = info.clone();
    upd.status = TokenStatus::Revoked {
        at: at(1_700_000_000, 1),
    };
    upd.counters = TokenCounters {
        drift: -3,
        last_step: Some(56_666_666),
        next_counter: 9,
        failures: 4,
        locked_until: Some(at(1_700_000_900, 42)),
    };
    upd.batch = "changed".into();
    s.transaction(|tx| tx.update_token(&upd)).unwrap();
    let got = s
        .transaction(|tx| tx.token(&sn("12345678")))
        .unwrap()
        .expect("token");
    assert_eq!(got.status, upd.status, "status must update");
    assert_eq!(got.counters, upd.counters, "counters must update");
    assert_eq!(got.batch, "B-1", "update_token must not change the batch");
    let mut issued = got.clone();
    issued.status = TokenStatus::Issued {
        customer: cid("C9"),
    };
    s.transaction(|tx| tx.update_token(&issued)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.token(&sn("12345678")))
            .unwrap()
            .expect("token")
            .status,
        issued.status
    );
    // A code check writes the counters only: the status passed along is ignored.
    let mut checked = issued.clone();
    checked.counters = TokenCounters {
        drift: 2,
        last_step: None,
        next_counter: 12,
        failures: 0,
        locked_until: None,
    };
    checked.status = TokenStatus::Stock;
    s.transaction(|tx| tx.update_counters(&checked)).unwrap();
    let got = s
        .transaction(|tx| tx.token(&sn("12345678")))
        .unwrap()
        .expect("token");
    assert_eq!(
        got.counters, checked.counters,
        "update_counters must write the counters"
    );
    assert_eq!(
        got.status, issued.status,
        "update_counters must not change the status"
    );
    let mut unknown = checked.clone();
    unknown.serial = sn("99999999");
    let r = s.transaction(|tx| tx.update_counters(&unknown));
    assert!(
        matches!(&r, Err(StoreError::Missing { what: "token", .. })),
        "update_counters of an unknown serial must be Missing, got {r:?}"
    );
    assert_eq!(s.transaction(|tx| tx.token_count()).unwrap(), 1);
    assert_eq!(s.transaction(|tx| tx.token(&sn("99999999"))).unwrap(), None);
}

/// A transaction whose closure fails leaves no trace.
pub fn failed_transaction_rolls_back<S: Store>(s: &S) {
    let r: Result<(), StoreError> = s.transaction(|tx| {
        tx.insert_customer(&customer("C001"))?;
        tx.insert_token(&sample_token("12345678"))?;
        append_chained(tx, audit_entry(Some("C001"), "x"))?;
        tx.insert_token(&sample_token("12345678"))
    });
    assert!(r.is_err(), "second insert of the same serial must fail");
    assert_eq!(
        s.transaction(|tx| tx.customer(&cid("C001"))).unwrap(),
        None,
        "rolled-back customer must not exist"
    );
    assert_eq!(
        s.transaction(|tx| tx.token_count()).unwrap(),
        0,
        "rolled-back tokens must not exist"
    );
    assert!(
        s.transaction(|tx| tx.audit(&AuditQuery::default()))
            .unwrap()
            .is_empty(),
        "rolled-back audit must not exist"
    );
}

/// A transaction that fails after rewriting rows it read (a user, a token's counters, a
/// throttle, the audit tail) leaves every later read as before it, in the same store: a store
/// that keeps rows between transactions (the SQLite store's row cache) must drop what the
/// failed one wrote.
pub fn rows_written_by_a_failed_transaction_read_as_before<S: Store>(s: &S) {
    let user = User::new(
        lid("carol"),
        cid("C020"),
        "キャロル".into(),
        UserClass::Master,
        true,
    );
    s.transaction(|tx| {
        tx.insert_customer(&customer("C020"))?;
        tx.insert_token(&sample_token("20202020"))?;
        tx.insert_user(&user)?;
        append_chained(tx, audit_entry(Some("C020"), "before"))
    })
    .unwrap();
    let read = |s: &S| s.transaction(|tx| read_in(tx)).unwrap();
    let before = read(s);
    let r: Result<(), StoreError> = s.transaction(|tx| {
        let mut u = tx.user(&cid("C020"), &lid("carol"))?.expect("user stored");
        u.failures = 4;
        tx.update_user(&u)?;
        let mut t = tx.token(&sn("20202020"))?.expect("token stored");
        t.counters.last_step = Some(99);
        tx.update_counters(&t)?;
        tx.set_throttle(
            "login:C020/carol",
            &crate::access::Throttle {
                failures: 2,
                locked_until: None,
            },
        )?;
        append_chained(tx, audit_entry(Some("C020"), "rolled back"))?;
        assert_ne!(read_in(tx)?, before, "the transaction sees its own writes");
        Err(StoreError::Backend("contract: the use case fails".into()))
    });
    assert!(r.is_err());
    assert_eq!(
        read(s),
        before,
        "a failed transaction's writes must not be read afterwards"
    );
}

type Rows = (
    Option<User>,
    Option<crate::model::TokenInfo>,
    crate::access::Throttle,
    Option<(i64, String)>,
);

fn read_in(tx: &mut dyn crate::store::Tx) -> Result<Rows, StoreError> {
    Ok((
        tx.user(&cid("C020"), &lid("carol"))?,
        tx.token(&sn("20202020"))?,
        tx.throttle("login:C020/carol")?,
        tx.audit_tail()?,
    ))
}

/// A use case that panics inside its transaction (a bug in a request handler) leaves no
/// trace, and the store serves the next transaction: a panic must not poison the store for
/// every later request until a restart (issue #10). The panic is caught here as the service
/// catches it (tokio's blocking pool, tower-http's `CatchPanicLayer`).
pub fn a_panic_inside_a_transaction_writes_nothing_and_the_store_goes_on<S: Store>(s: &S) {
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _: Result<(), StoreError> = s.transaction(|tx| {
            tx.insert_customer(&customer("C013"))?;
            tx.insert_token(&sample_token("13131313"))?;
            append_chained(tx, audit_entry(Some("C013"), "x"))?;
            #[allow(clippy::panic)]
            {
                panic!("contract: a use case panics inside its transaction");
            }
        });
    }));
    assert!(panicked.is_err(), "the closure must have panicked");
    let after = s.transaction(|tx| {
        let c = tx.customer(&cid("C013"))?;
        let n = tx.token_count()?;
        let audit = tx.audit(&AuditQuery::default())?;
        Ok((c, n, audit.len()))
    });
    assert_eq!(
        after.expect("the transaction after a panic must succeed, not report a poisoned store"),
        (None, 0, 0),
        "the panicked transaction's customer, token and audit entry must be absent"
    );
    s.transaction(|tx| tx.insert_customer(&customer("C014")))
        .expect("the store must accept writes after a panic");
    assert!(
        s.transaction(|tx| tx.customer(&cid("C014")))
            .unwrap()
            .is_some(),
        "a write after the panic must commit"
    );
}

/// An import digest is accepted once.
pub fn imports_are_recorded_once<S: Store>(s: &S) {
    s.transaction(|tx| tx.record_import("sha256:ab", "batch.tls", 3, at(0, 0)))
        .unwrap();
    let dup = s.transaction(|tx| tx.record_import("sha256:ab", "again", 3, at(1, 0)));
    assert!(
        matches!(dup, Err(StoreError::Duplicate { what: "import", .. })),
        "same digest twice must be Duplicate, got {dup:?}"
    );
    s.transaction(|tx| tx.record_import("sha256:cd", "other", 1, at(1, 0)))
        .unwrap();
    assert_eq!(
        s.read(|tx| Ok((
            tx.import_recorded("sha256:ab")?,
            tx.import_recorded("sha256:ef")?
        )))
        .unwrap(),
        (true, false),
        "import_recorded tells whether a digest was recorded"
    );
}

/// Audit entries get increasing ids, read back in order, filter by customer, limit to the last.
pub fn audit_is_append_only_and_ordered<S: Store>(s: &S) {
    let ids: Vec<i64> = s
        .transaction(|tx| {
            Ok(vec![
                append_chained(tx, audit_entry(Some("C1"), "a"))?,
                append_chained(tx, audit_entry(None, "b"))?,
                append_chained(tx, audit_entry(Some("C1"), "c"))?,
            ])
        })
        .unwrap();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "audit ids must increase: {ids:?}"
    );
    let all = s
        .transaction(|tx| tx.audit(&AuditQuery::default()))
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    let mut want = audit_entry(Some("C1"), "a");
    want.chain_after(None, &contract_key());
    assert_eq!(all[0], want, "audit entry must read back field for field");
    assert_eq!(
        crate::audit::verify_chain(&all, Some(&contract_key())).map(|c| c.entries),
        Ok(3),
        "stored entries must keep their chain (id, prev, digest)"
    );
    assert_eq!(
        s.transaction(|tx| tx.audit_tail()).unwrap(),
        Some((3, all[2].digest.clone())),
        "audit_tail is the last id and digest"
    );
    assert_eq!(
        s.read(|tx| Ok((tx.audit_link(2)?, tx.audit_link(4)?)))
            .unwrap(),
        (Some(all[1].digest.clone()), None),
        "audit_link is the digest of the entry with that id, None past the end"
    );
    let mut clash = audit_entry(None, "clash");
    clash.id = 2;
    let dup = s.transaction(|tx| tx.append_audit(&clash));
    assert!(
        matches!(dup, Err(StoreError::Duplicate { .. })),
        "an audit id is written once, got {dup:?}"
    );
    let c1 = s
        .transaction(|tx| {
            tx.audit(&AuditQuery {
                customer: Some("C1".into()),
                ..AuditQuery::default()
            })
        })
        .unwrap();
    assert_eq!(
        c1.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["a", "c"]
    );
    let last = s
        .transaction(|tx| {
            tx.audit(&AuditQuery {
                limit: Some(2),
                ..AuditQuery::default()
            })
        })
        .unwrap();
    assert_eq!(
        last.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["b", "c"],
        "limit keeps the last entries"
    );
}

/// The audit filters (actor, action, subject as a whole word, time range at whole seconds)
/// select exactly what [`AuditQuery::matches`] selects, and `limit` keeps the last of those.
pub fn audit_filters_select_like_the_reference<S: Store>(s: &S) {
    let mk = |secs: i64, nanos: u32, actor: Actor, action: &str, subject: &str, detail: &str| {
        let mut e = audit_entry(Some("C1"), action);
        e.at = at(secs, nanos);
        e.actor = actor;
        e.subject = Some(subject.into());
        e.detail = detail.into();
        e
    };
    let t0 = 1_700_000_000;
    let entries = vec![
        mk(
            t0,
            0,
            Actor::Operator("suzuki".into()),
            "backoffice_revoke",
            "12345678",
            "reason: 紛失; revoked for taro, hanako",
        ),
        mk(
            t0 + 1,
            500_000_000,
            Actor::User("taro".into()),
            "login",
            "taro",
            "token 123456789",
        ),
        mk(
            t0 + 2,
            0,
            Actor::Operator("sato".into()),
            "backoffice_approve",
            "request 1",
            "approved request 1 of suzuki",
        ),
        mk(
            t0 + 2,
            999_000_000,
            Actor::Local("root".into()),
            "unlock",
            "hanako",
            "unlocked",
        ),
        mk(
            t0 + 3,
            0,
            Actor::User("suzuki".into()),
            "login",
            "suzuki",
            "token 12345678",
        ),
        mk(
            t0 + 4,
            0,
            Actor::System,
            "import",
            "sha256:ab",
            "2 tokens from b.tlseed",
        ),
    ];
    s.transaction(|tx| {
        for e in &entries {
            append_chained(tx, e.clone())?;
        }
        Ok(())
    })
    .unwrap();
    let all = s
        .transaction(|tx| tx.audit(&AuditQuery::default()))
        .unwrap();
    let queries: Vec<(&str, AuditQuery)> = vec![
        (
            "actor kind:id",
            AuditQuery {
                actor: Some("operator:suzuki".into()),
                ..Default::default()
            },
        ),
        (
            "bare actor id",
            AuditQuery {
                actor: Some("suzuki".into()),
                ..Default::default()
            },
        ),
        (
            "system actor",
            AuditQuery {
                actor: Some("system".into()),
                ..Default::default()
            },
        ),
        (
            "action",
            AuditQuery {
                action: Some("login".into()),
                ..Default::default()
            },
        ),
        (
            "serial as subject or word",
            AuditQuery {
                subject: Some("12345678".into()),
                ..Default::default()
            },
        ),
        (
            "login as a word",
            AuditQuery {
                subject: Some("hanako".into()),
                ..Default::default()
            },
        ),
        (
            "a digest is no ID",
            AuditQuery {
                subject: Some("sha256:ab".into()),
                ..Default::default()
            },
        ),
        (
            "from, inside the second",
            AuditQuery {
                from: Some(at(t0 + 1, 0)),
                ..Default::default()
            },
        ),
        (
            "until, whole seconds",
            AuditQuery {
                until: Some(at(t0 + 2, 0)),
                ..Default::default()
            },
        ),
        (
            "range and action",
            AuditQuery {
                from: Some(at(t0 + 1, 0)),
                until: Some(at(t0 + 4, 0)),
                action: Some("login".into()),
                ..Default::default()
            },
        ),
        (
            "limit after filters",
            AuditQuery {
                action: Some("login".into()),
                limit: Some(1),
                ..Default::default()
            },
        ),
        (
            "customer and actor",
            AuditQuery {
                customer: Some("C2".into()),
                actor: Some("taro".into()),
                ..Default::default()
            },
        ),
    ];
    for (what, q) in queries {
        let got: Vec<i64> = s
            .transaction(|tx| tx.audit(&q))
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        let mut want: Vec<i64> = all.iter().filter(|e| q.matches(e)).map(|e| e.id).collect();
        if let Some(l) = q.limit {
            want = want.split_off(want.len().saturating_sub(l));
        }
        assert_eq!(got, want, "audit filter {what}: {q:?}");
    }
    let serial = s
        .transaction(|tx| {
            tx.audit(&AuditQuery {
                subject: Some("12345678".into()),
                ..Default::default()
            })
        })
        .unwrap();
    assert_eq!(
        serial.iter().map(|e| e.id).collect::<Vec<_>>(),
        [1, 5],
        "a serial matches its subject and a detail naming it, not a longer serial"
    );
    let odd = s
        .transaction(|tx| {
            tx.audit(&AuditQuery {
                subject: Some("*".into()),
                ..Default::default()
            })
        })
        .unwrap();
    assert!(odd.is_empty(), "a subject that is no ID matches nothing");
}
