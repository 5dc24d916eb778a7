//! Logins and customer IDs ignoring case, customers, users, and the admin listing.

use super::{at, cid, customer, lid, sample_token, sn};
use crate::ids::{CustomerId, LoginId};
use crate::model::{TokenStatus, UsageMode, User, UserClass};
use crate::secret::SecretHash;
use crate::store::{Store, StoreError};

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
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
    ));
    // The login password is a hash of its own, never the confirmation secret's.
    b.login_password = Some(SecretHash::from_phc(
        "$argon2id$v=19$m=8,t=1,p=1$bG9naW5zYWx0$bG9naW5sb2dpbmxvZ2lu".into(),
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
        .transaction(|tx| tx.users_of_customer(&cid("C001"))?.whole())
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
        "$argon2id$v=19$m=8,t=1,p=1$b3RoZXJzYWx0$b3RoZXJvdGhlcm90aGVy".into(),
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
