//! The mailing room over a real SQLite bank database (created by lifecycle-sqlite): each test
//! is named after the rule it checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::backend::{Environment, MailSqlite, MasterKey, SqliteStore};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use lifecycle::{
    Bank, ConfirmationSecret, CustomerId, LoginId, NewCustomer, NewToken, NewUser, Policy, Proof,
    Seed, SerialNumber, Tx, UsageMode, UserClass, UserRef,
};
use mailroom::{Address, CampaignId, EnvelopeId, Error, MailStore, Mailroom, PlanRequest};

/// The stores under test. This file is the SQLite run; `mailroom-postgres/tests/pg_mailroom.rs`
/// includes it as a module under its own `crate::backend` (PostgreSQL): one suite, both backends.
#[allow(dead_code, unused_imports)]
mod backend {
    pub use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
    pub use mailroom_sqlite::MailSqlite;
}

/// The CLI on the database file (root access).
fn root() -> lifecycle::Caller {
    lifecycle::Caller::Local("root".into())
}

const POLICY: &str =
    "name = \"test bank\"\n[secrets]\nargon2_m_kib = 8\nargon2_t = 1\nargon2_p = 1\n";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}
fn sn(s: &str) -> SerialNumber {
    SerialNumber::parse(s).unwrap()
}
/// The user `s` of its customer (the first letter of the login ID, upper case).
fn uref(s: &str) -> UserRef {
    UserRef::new(cid(&s[..1].to_uppercase()), lid(s))
}
fn lid(s: &str) -> LoginId {
    LoginId::parse(s).unwrap()
}
fn cid(s: &str) -> CustomerId {
    CustomerId::parse(s).unwrap()
}
fn seed(serial: &str) -> Vec<u8> {
    format!("{serial:0>20}").into_bytes()
}
fn code(serial: &str, at: DateTime<Utc>) -> String {
    let c = otp_core::code(
        &otp_core::Params::DEFAULT_TOTP,
        &seed(serial),
        u64::try_from(at.timestamp()).unwrap(),
    )
    .unwrap();
    format!("{c:06}")
}
fn token(serial: &str, expiry: &str, batch: &str) -> NewToken {
    NewToken {
        serial: sn(serial),
        seed: Seed::new(seed(serial)),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: d(expiry),
        batch: batch.into(),
        drift: 0,
    }
}

/// A bank with: A (shared token 10000001 for a1, a2, a3, expiring 2023-04-30), B (individual:
/// b1 10000002 and b2 10000003 both 2023-04-30, b3 10000004 expiring 2023-05-31), C (c1
/// 10000005 expiring 2023-03-31). Stock: 2 tokens 2028-01-31 (batch B28), 2 tokens
/// 2025-01-31 (batch B25).
struct World {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    bank: Bank<SqliteStore>,
    clock: std::cell::Cell<DateTime<Utc>>,
}

impl World {
    fn tick(&self) -> DateTime<Utc> {
        let t = self.clock.get() + Duration::seconds(30);
        self.clock.set(t);
        t
    }
    fn mail(&self) -> Mailroom<MailSqlite> {
        Mailroom::new(MailSqlite::open(&self.path).unwrap())
    }
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bank.db");
        let store =
            SqliteStore::create(&path, &MasterKey::generate().unwrap(), Environment::Staging)
                .unwrap();
        let bank = Bank::new(store, Policy::from_toml_str(POLICY).unwrap());
        let w = World {
            _dir: dir,
            path,
            bank,
            clock: std::cell::Cell::new(Utc.with_ymd_and_hms(2023, 2, 1, 0, 0, 0).unwrap()),
        };
        let t = w.tick();
        let old = [
            token("10000001", "2023-04-30", "OLD"),
            token("10000002", "2023-04-30", "OLD"),
            token("10000003", "2023-04-30", "OLD"),
            token("10000004", "2023-05-31", "OLD"),
            token("10000005", "2023-03-31", "OLD"),
        ];
        w.bank
            .import_tokens(&root(), "old", "old", &old, t)
            .unwrap();
        let stock = [
            token("90000001", "2028-01-31", "B28"),
            token("90000002", "2028-01-31", "B28"),
            token("80000001", "2025-01-31", "B25"),
            token("80000002", "2025-01-31", "B25"),
        ];
        w.bank
            .import_tokens(&root(), "stock", "stock", &stock, t)
            .unwrap();
        for (c, mode) in [
            ("A", UsageMode::Shared),
            ("B", UsageMode::Individual),
            ("C", UsageMode::Individual),
        ] {
            w.bank
                .add_customer(
                    &root(),
                    NewCustomer {
                        id: cid(c),
                        name: format!("株式会社{c}"),
                        mode,
                        secret: Some(ConfirmationSecret::new("kakunin")),
                    },
                    t,
                )
                .unwrap();
        }
        let users = [
            ("a1", "A", "10000001"),
            ("a2", "A", "10000001"),
            ("a3", "A", "10000001"),
            ("b1", "B", "10000002"),
            ("b2", "B", "10000003"),
            ("b3", "B", "10000004"),
            ("c1", "C", "10000005"),
        ];
        for (i, (login, c, serial)) in users.iter().enumerate() {
            let class = if i == 0 || *login == "b1" || *login == "c1" {
                UserClass::Master
            } else {
                UserClass::General
            };
            w.bank
                .add_user(
                    &root(),
                    NewUser {
                        login: lid(login),
                        customer: cid(c),
                        name: login.to_string(),
                        class,
                        needs_otp: true,
                        secret: None,
                    },
                    t,
                )
                .unwrap();
            let t = w.tick();
            w.bank
                .register(&root(), &uref(login), &sn(serial), &code(serial, t), t)
                .unwrap();
        }
        w
    }
    fn request(&self) -> PlanRequest {
        PlanRequest {
            name: "spring".into(),
            target_expiry: d("2023-04-30"),
            include_earlier: false,
            min_new_expiry: d("2028-01-31"),
            deadline: d("2023-04-14"),
            sender: "テスト信用組合".into(),
        }
    }
    fn addresses(&self, m: &Mailroom<MailSqlite>, who: &[&str]) {
        let rows: Vec<Address> = who
            .iter()
            .map(|c| Address {
                customer: cid(c),
                postal_code: "330-0063".into(),
                address: "埼玉県さいたま市".into(),
                attention: String::new(),
                phone: String::new(),
            })
            .collect();
        m.import_addresses(&rows, "test", self.tick()).unwrap();
    }
}

#[test]
fn bank_view_reads_what_the_bank_stored() {
    let w = World::new();
    let m = w.mail();
    let (mine_users, mine_token, mine_customer) = m
        .store()
        .transaction(|tx| {
            Ok((
                tx.users_of_customer(&cid("B"))?,
                tx.token(&sn("10000002"))?,
                tx.customer(&cid("A"))?,
            ))
        })
        .unwrap();
    let (bank_users, bank_token, bank_customer) =
        lifecycle::Store::transaction(w.bank.store(), |tx: &mut dyn Tx| {
            Ok((
                tx.users_of_customer(&cid("B"))?.whole()?,
                tx.token(&sn("10000002"))?,
                tx.customer(&cid("A"))?,
            ))
        })
        .unwrap();
    assert_eq!(mine_users, bank_users);
    assert_eq!(mine_token, bank_token);
    assert_eq!(mine_customer, bank_customer);
}

#[test]
fn a_shared_token_gets_one_new_token_and_stock_shortage_allocates_nothing() {
    let w = World::new();
    let m = w.mail();
    // A's shared token counts once, B has two tokens expiring on the target: 3 needed, 2 in stock.
    let err = m.plan(&w.request(), w.tick()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotEnoughStock {
                needed: 3,
                available: 2,
                missing: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(m.campaigns().unwrap().is_empty(), "nothing planned");
    // Allow the 2025 batch too: now enough, and it is taken only after the oldest eligible.
    let r = PlanRequest {
        min_new_expiry: d("2025-01-31"),
        ..w.request()
    };
    let p = m.plan(&r, w.tick()).unwrap();
    assert_eq!((p.envelopes, p.tokens, p.users), (2, 3, 5));
    let (_, env) = m.show(p.campaign.id).unwrap();
    let a = &env[0];
    assert_eq!(a.customer.as_str(), "A");
    assert_eq!(
        a.total, 1,
        "one token for the three users of a shared token"
    );
    assert_eq!(a.users.len(), 3);
    // Oldest first: the 2025 batch goes before the 2028 one.
    assert_eq!(a.new_tokens[0].serial.as_str(), "80000001");
    assert_eq!(
        p.missing_addresses.len(),
        2,
        "customers without an address are listed"
    );
}

#[test]
fn a_target_date_with_no_tokens_says_which_dates_exist() {
    let w = World::new();
    let err = w
        .mail()
        .plan(
            &PlanRequest {
                target_expiry: d("2023-04-29"),
                deadline: d("2023-04-14"),
                ..w.request()
            },
            w.tick(),
        )
        .unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.code(), "nothing_expires");
    assert!(
        msg.contains("2023-04-30 (3)") && msg.contains("2023-03-31 (1)"),
        "{msg}"
    );
}

#[test]
fn planning_the_same_tokens_twice_is_refused() {
    let w = World::new();
    let m = w.mail();
    let r = PlanRequest {
        min_new_expiry: d("2025-01-31"),
        ..w.request()
    };
    m.plan(&r, w.tick()).unwrap();
    let err = m
        .plan(
            &PlanRequest {
                include_earlier: true,
                ..r
            },
            w.tick(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "already_planned", "{err}");
    assert!(err.to_string().contains("C1"), "{err}");
    assert_eq!(m.campaigns().unwrap().len(), 1);
}

#[test]
fn pack_checks_every_scan_and_ship_needs_a_full_envelope_with_an_address() {
    let w = World::new();
    let m = w.mail();
    let p = m
        .plan(
            &PlanRequest {
                min_new_expiry: d("2025-01-31"),
                ..w.request()
            },
            w.tick(),
        )
        .unwrap();
    let c = p.campaign.id;
    let (e1, e2) = (EnvelopeId::new(1), EnvelopeId::new(2));
    let env2 = m.envelope(c, e2).unwrap();
    let first = env2.new_tokens[0].serial.to_string();
    let refused = |text: &str, e: EnvelopeId| m.scan(c, e, text, w.tick()).unwrap_err().code();
    assert_eq!(refused("99999999", e2), "unknown_serial");
    assert_eq!(refused("hello", e2), "not_a_serial");
    assert_eq!(refused("10000005", e2), "expires_too_soon");
    m.scan(c, e2, &first, w.tick()).unwrap();
    assert_eq!(refused(&first, e2), "already_packed");
    // Half packed: refused, nothing told to the bank.
    w.addresses(&m, &["A", "B"]);
    let err = m.ship(&w.bank, &root(), c, e2, w.tick()).unwrap_err();
    assert_eq!(err.code(), "not_fully_packed", "{err}");
    assert!(w.bank.user(&root(), &uref("b1")).unwrap().issued.is_none());
    let second = env2.new_tokens[1].serial.to_string();
    let s = m.scan(c, e2, &format!("{second}\r"), w.tick()).unwrap();
    assert!(s.complete);
    let shipped = m.ship(&w.bank, &root(), c, e2, w.tick()).unwrap();
    assert_eq!(shipped.issued.len(), 2);
    assert_eq!(
        w.bank
            .user(&root(), &uref("b1"))
            .unwrap()
            .issued
            .as_ref()
            .map(SerialNumber::as_str),
        Some(first.as_str())
    );
    assert_eq!(
        w.bank
            .user(&root(), &uref("b2"))
            .unwrap()
            .issued
            .as_ref()
            .map(SerialNumber::as_str),
        Some(second.as_str())
    );
    assert!(
        w.bank.user(&root(), &uref("b3")).unwrap().issued.is_none(),
        "b3's token expires later: not in this campaign"
    );
    assert_eq!(refused(&first, e2), "envelope_shipped");
    assert!(
        m.ship(&w.bank, &root(), c, e2, w.tick())
            .unwrap()
            .already_shipped
    );
    // A stock token revoked after planning (damaged, lost) is refused loudly.
    let e1_serial = m.envelope(c, e1).unwrap().new_tokens[0].serial.clone();
    w.bank
        .backoffice_revoke(
            &lifecycle::Caller::Local("op1".into()),
            "damaged in stock",
            &lifecycle::BackofficeTarget::Serial(e1_serial.clone()),
            w.tick(),
        )
        .unwrap();
    assert_eq!(refused(e1_serial.as_str(), e1), "revoked");
    let events = m.events(Some(c), None).unwrap();
    assert!(
        events.iter().any(|e| e.outcome == "expires_too_soon"),
        "refused scans are audited"
    );
    assert!(events
        .iter()
        .any(|e| e.action == "ship" && e.outcome == "ok"));
}

#[test]
fn a_shipment_interrupted_after_the_bank_was_partly_told_completes_when_run_again() {
    let w = World::new();
    let m = w.mail();
    let c = m
        .plan(
            &PlanRequest {
                min_new_expiry: d("2025-01-31"),
                ..w.request()
            },
            w.tick(),
        )
        .unwrap()
        .campaign
        .id;
    w.addresses(&m, &["A", "B"]);
    let e = EnvelopeId::new(1); // customer A, shared token, users a1 a2 a3
    let new = m.envelope(c, e).unwrap().new_tokens[0].serial.clone();
    m.scan(c, e, new.as_str(), w.tick()).unwrap();
    // The crash: shipping began and the bank heard about a1 only.
    let t = w.tick();
    m.store()
        .transaction(|tx| tx.set_shipping_started(c, e, t))
        .unwrap();
    w.bank
        .issue_token(&root(), &new, &cid("A"), Some(&lid("a1")), t)
        .unwrap();
    assert_eq!(
        m.envelope(c, e).unwrap().state(),
        mailroom::EnvelopeState::Shipping
    );
    assert_eq!(
        m.scan(c, e, new.as_str(), w.tick()).unwrap_err().code(),
        "envelope_shipped",
        "no repacking once shipping began"
    );
    let s = m.ship(&w.bank, &root(), c, e, w.tick()).unwrap();
    assert!(s.resumed);
    for u in ["a1", "a2", "a3"] {
        assert_eq!(
            w.bank.user(&root(), &uref(u)).unwrap().issued.as_ref(),
            Some(&new),
            "{u}"
        );
    }
    assert_eq!(
        m.envelope(c, e).unwrap().state(),
        mailroom::EnvelopeState::Shipped
    );
}

#[test]
fn after_the_deadline_customers_who_did_not_switch_are_overdue() {
    let w = World::new();
    let m = w.mail();
    let c = m
        .plan(
            &PlanRequest {
                min_new_expiry: d("2025-01-31"),
                ..w.request()
            },
            w.tick(),
        )
        .unwrap()
        .campaign
        .id;
    w.addresses(&m, &["A", "B"]);
    for e in m.show(c).unwrap().1 {
        for t in &e.new_tokens {
            m.scan(c, e.envelope, t.serial.as_str(), w.tick()).unwrap();
        }
        m.ship(&w.bank, &root(), c, e.envelope, w.tick()).unwrap();
    }
    // Customer A switches: the master revokes the shared token for all, then each registers.
    let new_a = m.envelope(c, EnvelopeId::new(1)).unwrap().new_tokens[0]
        .serial
        .clone();
    let t = w.tick();
    let proof = Proof {
        actor: uref("a1"),
        secret: ConfirmationSecret::new("kakunin"),
        code: code("10000001", t),
    };
    w.bank.revoke(&root(), &proof, &[lid("a1")], t).unwrap();
    let mut t = t + Duration::minutes(31);
    for u in ["a1", "a2", "a3"] {
        t += Duration::seconds(30);
        w.bank
            .register(&root(), &uref(u), &new_a, &code(new_a.as_str(), t), t)
            .unwrap();
    }
    // Customer B does nothing.
    let tokyo = chrono_tz::Asia::Tokyo;
    let before = Utc.with_ymd_and_hms(2023, 4, 14, 14, 59, 0).unwrap(); // 23:59 on the 14th, Tokyo
    let (_, rows) = m.report(c, tokyo, before).unwrap();
    assert!(
        rows.iter().all(|r| !r.overdue),
        "not overdue until the deadline day ends"
    );
    let after = Utc.with_ymd_and_hms(2023, 4, 14, 15, 0, 0).unwrap();
    let (_, rows) = m.report(c, tokyo, after).unwrap();
    let a = &rows[0];
    assert_eq!(
        (
            a.old_revoked,
            a.new_registered,
            a.switched,
            a.users,
            a.overdue
        ),
        (1, 1, 3, 3, false)
    );
    let b = &rows[1];
    assert!(b.overdue);
    assert_eq!(
        b.pending
            .iter()
            .map(|p| p.login.as_str())
            .collect::<Vec<_>>(),
        ["b1", "b2"]
    );
    assert_eq!(
        b.pending[0].state_ja, "サービス利用中",
        "b1 still uses the old token"
    );
    // The back office's campaign view adds the rows up: targets, shipped, switched, and
    // not switched after the deadline (none before the deadline day ends).
    let (_, sum, _) = m.campaign_view(c, tokyo, before).unwrap();
    assert_eq!(
        (
            sum.envelopes,
            sum.users,
            sum.shipped,
            sum.switched,
            sum.pending,
            sum.overdue_users,
            sum.past_deadline
        ),
        (2, 5, 2, 3, 2, 0, false)
    );
    let (_, sum, _) = m.campaign_view(c, tokyo, after).unwrap();
    assert_eq!(
        (sum.overdue_users, sum.overdue_envelopes, sum.past_deadline),
        (2, 1, true)
    );
}

#[test]
fn importing_an_address_of_an_unknown_customer_imports_nothing() {
    let w = World::new();
    let m = w.mail();
    let rows = vec![
        Address {
            customer: cid("A"),
            postal_code: "1".into(),
            address: "x".into(),
            attention: String::new(),
            phone: String::new(),
        },
        Address {
            customer: cid("ZZZ"),
            postal_code: "1".into(),
            address: "x".into(),
            attention: String::new(),
            phone: String::new(),
        },
    ];
    let err = m.import_addresses(&rows, "bad.csv", w.tick()).unwrap_err();
    assert!(
        err.to_string().contains("line 2") && err.to_string().contains("ZZZ"),
        "{err}"
    );
    assert!(m
        .store()
        .transaction(|tx| tx.address(&cid("A")))
        .unwrap()
        .is_none());
    let _ = CampaignId::new(1);
}

#[test]
fn scan_assigns_any_eligible_token_from_the_box() {
    let w = World::new();
    let m = w.mail();
    let min = d("2025-01-31");
    let c = m
        .plan(
            &PlanRequest {
                min_new_expiry: min,
                ..w.request()
            },
            w.tick(),
        )
        .unwrap()
        .campaign
        .id;
    let (e1, e2) = (EnvelopeId::new(1), EnvelopeId::new(2));
    let serials = |e| -> Vec<String> {
        m.envelope(c, e)
            .unwrap()
            .new_tokens
            .iter()
            .map(|t| t.serial.to_string())
            .collect()
    };
    assert_eq!(serials(e1), ["80000001"]);
    assert_eq!(serials(e2), ["80000002", "90000001"]);
    // E2's reserved 90000001 packed into E1: the two envelopes swap reservations.
    m.scan(c, e1, "90000001", w.tick()).unwrap();
    assert_eq!(serials(e1), ["90000001"]);
    assert_eq!(serials(e2), ["80000002", "80000001"]);
    // E1 is complete: another token is not needed there.
    let err = m.scan(c, e1, "90000002", w.tick()).unwrap_err();
    assert_eq!(err.code(), "envelope_complete", "{err}");
    // Free stock into E2: its first unpacked reservation goes back to stock.
    let s = m.scan(c, e2, "90000002", w.tick()).unwrap();
    assert_eq!((s.packed, s.total), (1, 2));
    assert_eq!(serials(e2), ["90000002", "80000001"]);
    let free = m.store().transaction(|tx| tx.free_stock(min)).unwrap();
    assert_eq!(
        free.iter()
            .map(|t| t.serial.to_string())
            .collect::<Vec<_>>(),
        ["80000002"]
    );
    // Still refused: a customer's token in use, a packed one, one expiring too soon.
    let refused = |text: &str, e| m.scan(c, e, text, w.tick()).unwrap_err().code();
    assert_eq!(refused("10000002", e2), "expires_too_soon");
    let t = w.tick();
    w.bank
        .import_tokens(
            &root(),
            "late",
            "late",
            &[token("90000009", "2028-01-31", "B28")],
            t,
        )
        .unwrap();
    w.bank
        .issue_token(&root(), &sn("90000009"), &cid("C"), None, t)
        .unwrap();
    assert_eq!(
        refused("90000009", e2),
        "not_in_stock",
        "another customer's token"
    );
    assert_eq!(refused("90000002", e2), "already_packed");
    m.scan(c, e2, "80000002", w.tick()).unwrap();
    assert_eq!(serials(e2), ["90000002", "80000002"]);
    let events = m.events(Some(c), None).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.detail.contains("in place of 80000001 (back to stock)")),
        "{events:?}"
    );
}

/// A mailing-room use case that panics inside its transaction (a bug in a request handler)
/// writes nothing, and the store serves the next request instead of failing until a restart
/// (issue #10: a panic must not poison the store).
#[test]
fn a_panic_inside_a_mailroom_transaction_writes_nothing_and_the_store_goes_on() {
    let w = World::new();
    let m = w.mail();
    let address = |postal: &str| Address {
        customer: cid("A"),
        postal_code: postal.into(),
        address: "x".into(),
        attention: String::new(),
        phone: String::new(),
    };
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _: Result<(), lifecycle::StoreError> = m.store().transaction(|tx| {
            tx.put_address(&address("330-0063"))?;
            panic!("a use case panics inside its transaction");
        });
    }));
    assert!(panicked.is_err());
    let after = m.store().transaction(|tx| tx.address(&cid("A")));
    assert_eq!(
        after.expect("the next transaction must succeed after a panic"),
        None,
        "the panicked transaction's address must be absent"
    );
    m.store()
        .transaction(|tx| tx.put_address(&address("100-0001")))
        .expect("writes go on after a panic");
    assert_eq!(
        m.store()
            .transaction(|tx| tx.address(&cid("A")))
            .unwrap()
            .map(|a| a.postal_code),
        Some("100-0001".into())
    );
}
