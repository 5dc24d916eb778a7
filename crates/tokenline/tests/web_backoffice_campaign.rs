//! The back office's campaign view (`/backoffice/campaigns/{id}`, issue #11) in a real
//! browser: a mailing-room replacement campaign with two customers, planned, packed and
//! shipped, one customer switched whole and one half, seen the day after the switch deadline
//! — its targets, what shipped, who switched and who has not after the deadline, per
//! envelope. Screenshots under target/screens/web_backoffice_campaign/, axe-core on each page.
//!
//! The bank is `bank init --staging`; the operator's token is a simulated one (its code read
//! from its display). The customers' old and new tokens are set up, as in the mailing room's
//! own tests (tests/mailroom_e2e.rs), through the bank's and the mailing room's libraries on
//! that database file, with known seeds: they are the campaign's data, not what is tested.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod web_support;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use lifecycle::{
    Bank, Caller, ConfirmationSecret, CustomerId, LoginId, NewCustomer, NewToken, NewUser, Policy,
    Proof, Seed, SerialNumber, UsageMode, UserClass, UserRef,
};
use lifecycle_sqlite::{MasterKey, SqliteStore};
use mailroom::{Address, Mailroom, PlanRequest};
use mailroom_sqlite::MailSqlite;
use web_support::*;

fn root() -> Caller {
    Caller::Local("root".into())
}
fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}
fn sn(s: &str) -> SerialNumber {
    SerialNumber::parse(s).unwrap()
}
fn user(c: &str, login: &str) -> UserRef {
    UserRef::new(
        CustomerId::parse(c).unwrap(),
        LoginId::parse(login).unwrap(),
    )
}
/// The code of a customer's token with the known seed [`seed`] at `t` (RFC 6238).
fn code(serial: &str, t: DateTime<Utc>) -> String {
    let c = otp_core::code(
        &otp_core::Params::DEFAULT_TOTP,
        &seed(serial),
        t.timestamp() as u64,
    );
    format!("{:06}", c.unwrap())
}
fn token(serial: &str, expiry: &str) -> NewToken {
    NewToken {
        serial: sn(serial),
        seed: Seed::new(seed(serial)),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: d(expiry),
        batch: "B".into(),
        drift: 0,
    }
}

/// 2023-03-01 10:00 in Tokyo: the bank is set up, the campaign planned and shipped.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 3, 1, 1, 0, 0).unwrap()
}

/// Customer A (shared token 10000001 for a1 master and a2) and customer B (individual: b1
/// master 10000002, b2 10000003), all tokens expiring 2023-04-30; stock 90000001–90000003
/// expiring 2028-01-31. Campaign C1 for 04/30/23 with deadline 2023-04-14: both envelopes
/// packed and shipped; A switches (a1 revokes the shared token, a1 and a2 register the new
/// one); in B only b1 switches, b2 does not.
fn campaign(bank: &BankDb) {
    let policy = std::fs::read_to_string(bank.dir.path().join("policy.toml")).unwrap();
    let key = MasterKey::load(&bank.dir.path().join("bank.db.key")).unwrap();
    let b = Bank::new(
        SqliteStore::open(&bank.db, &key).unwrap(),
        Policy::from_toml_str(&policy).unwrap(),
    );
    let mut t = t0();
    let mut tick = || {
        t += Duration::seconds(30);
        t
    };
    let old = ["10000001", "10000002", "10000003"].map(|s| token(s, "2023-04-30"));
    b.import_tokens(&root(), "old", "old", &old, tick())
        .unwrap();
    let stock = ["90000001", "90000002", "90000003"].map(|s| token(s, "2028-01-31"));
    b.import_tokens(&root(), "stock", "stock", &stock, tick())
        .unwrap();
    for (c, name, mode) in [
        ("A", "株式会社エー", UsageMode::Shared),
        ("B", "ビー商事", UsageMode::Individual),
    ] {
        let c = NewCustomer {
            id: CustomerId::parse(c).unwrap(),
            name: name.into(),
            mode,
            secret: Some(ConfirmationSecret::new(SECRET)),
        };
        b.add_customer(&root(), c, tick()).unwrap();
    }
    for (c, login, class, serial) in [
        ("A", "a1", UserClass::Master, "10000001"),
        ("A", "a2", UserClass::General, "10000001"),
        ("B", "b1", UserClass::Master, "10000002"),
        ("B", "b2", UserClass::General, "10000003"),
    ] {
        let u = NewUser {
            login: LoginId::parse(login).unwrap(),
            customer: CustomerId::parse(c).unwrap(),
            name: login.into(),
            class,
            needs_otp: true,
            secret: None,
        };
        b.add_user(&root(), u, tick()).unwrap();
        let at = tick();
        b.register(&root(), &user(c, login), &sn(serial), &code(serial, at), at)
            .unwrap();
    }

    let m = Mailroom::new(MailSqlite::open(&bank.db).unwrap());
    let c1 = m
        .plan(
            &PlanRequest {
                name: "2023年春の交換".into(),
                target_expiry: d("2023-04-30"),
                include_earlier: false,
                min_new_expiry: d("2028-01-31"),
                deadline: d("2023-04-14"),
                sender: "テスト信用組合".into(),
            },
            tick(),
        )
        .unwrap()
        .campaign
        .id;
    let addresses: Vec<Address> = ["A", "B"]
        .iter()
        .map(|c| Address {
            customer: CustomerId::parse(c).unwrap(),
            postal_code: "330-0063".into(),
            address: "埼玉県さいたま市浦和区高砂".into(),
            attention: String::new(),
            phone: String::new(),
        })
        .collect();
    m.import_addresses(&addresses, "test", tick()).unwrap();
    // Each user's new token: slot i of an envelope replaces its old token i.
    let mut new_of = std::collections::BTreeMap::new();
    for e in m.show(c1).unwrap().1 {
        for (old, new) in e.old_tokens.iter().zip(&e.new_tokens) {
            m.scan(c1, e.envelope, new.serial.as_str(), tick()).unwrap();
            for u in &old.users {
                new_of.insert(u.to_string(), new.serial.clone());
            }
        }
        m.ship(&b, &root(), c1, e.envelope, tick()).unwrap();
    }

    // The switch, a week later: each master revokes, and after the cool-down registers.
    let mut t = t0() + Duration::days(7);
    let mut tick = || {
        t += Duration::seconds(30);
        t
    };
    for (c, master, old) in [("A", "a1", "10000001"), ("B", "b1", "10000002")] {
        let at = tick();
        let proof = Proof {
            actor: user(c, master),
            secret: ConfirmationSecret::new(SECRET),
            code: code(old, at),
        };
        b.revoke(&root(), &proof, &[LoginId::parse(master).unwrap()], at)
            .unwrap();
    }
    let mut t = t + Duration::hours(2);
    for (c, login) in [("A", "a1"), ("A", "a2"), ("B", "b1")] {
        t += Duration::seconds(30);
        let serial = &new_of[login];
        b.register(
            &root(),
            &user(c, login),
            serial,
            &code(serial.as_str(), t),
            t,
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_campaign_page_shows_targets_shipped_switched_and_who_is_overdue_after_the_deadline() {
    if !browser_available() {
        return;
    }
    let (bank, tokens) = bank_with_operator("bank-000.toml", t0());
    campaign(&bank);
    // 2023-04-15 10:00 in Tokyo: the day after the deadline.
    let at = Utc.with_ymd_and_hms(2023, 4, 15, 1, 0, 0).unwrap();
    let server = bank.serve(&format!("fixed:{}", at.to_rfc3339()));
    let url = server.url.clone();
    let mut b = Browser::start("web_backoffice_campaign").await;
    b.operator_login(&url, &tokens, at).await;

    let t = b
        .visit(&format!("{url}/backoffice/campaigns"), "campaigns")
        .await;
    for s in ["C1", "2023年春の交換", "04/30/23", "2023-04-14"] {
        assert!(t.contains(s), "{s} missing: {t}");
    }
    b.click_to_next_page("a[href='/backoffice/campaigns/C1']")
        .await;
    let t = b.wait_and_see("#overdue", "campaign-c1").await;
    for s in [
        "交換キャンペーン C1 2023年春の交換",
        "裏面の有効期限が 04/30/23 のトークンが対象、切替期限は 2023-04-14 です。",
        // Targets: two customers, three old tokens (A's shared one counts once), four users.
        "ご契約先 2 件、トークン 3 本、利用者 4 名",
        // Both envelopes shipped with three new tokens.
        "2 / 2 通を発送(新しいトークン 3 本)",
        // a1, a2 and b1 switched; b2 did not.
        "3 / 4 名",
        "1 名(ご契約先 1 件)",
        "A 株式会社エー",
        "B ビー商事",
        "発送済み",
        "2 / 2",
        "1 / 2",
        "b2 (サービス利用中)",
    ] {
        assert!(t.contains(s), "{s} missing: {t}");
    }
    // Only B's row is marked overdue.
    let overdue_rows = b
        .client
        .find_all(fantoccini::Locator::Css("tbody strong.error"))
        .await
        .unwrap();
    assert_eq!(overdue_rows.len(), 1, "{t}");

    // The same page in English from the one catalogue.
    let t = b
        .visit(
            &format!("{url}/backoffice/campaigns/C1?lang=en"),
            "campaign-c1-en",
        )
        .await;
    for s in [
        "Switched 3 of 4 users",
        "Not switched after the deadline 1 user (1 customer)",
    ] {
        assert!(t.contains(s), "{s} missing: {t}");
    }
    b.close().await;
}
