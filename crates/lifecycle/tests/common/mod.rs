//! A small bank for scenario tests: customer C1 with a master, an admin, general users and a
//! shared token, on the in-memory store, under one of the fixture policies.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use lifecycle::cooldown::to_utc;
use lifecycle::memory::MemoryStore;
use lifecycle::policy::SecretPolicy;
use lifecycle::*;

pub const SECRET: &str = "kakunin-pass";

/// An operator session (through the back-office client) of operator `name`.
pub fn operator(name: &str) -> Caller {
    Caller::Operator {
        client: ClientName::parse("backoffice-ui").unwrap(),
        scopes: vec![Scope::Backoffice],
        operator: OperatorId::parse(name).unwrap(),
        role: Role::Operator,
    }
}

/// The CLI on the database file (the bank's root access), as OS user `root`.
pub fn root() -> Caller {
    Caller::Local("root".into())
}

pub fn policy(name: &str) -> Policy {
    let text = match name {
        "000" => include_str!("../../../../fixtures/policy/bank-000.toml"),
        "003" => include_str!("../../../../fixtures/policy/bank-003.toml"),
        "004" => include_str!("../../../../fixtures/policy/bank-004.toml"),
        _ => panic!("no policy {name}"),
    };
    let mut p = Policy::from_toml_str(text).expect("fixture policy parses");
    p.secrets = SecretPolicy::cheap_for_tests();
    p
}

/// Bank local time (Asia/Tokyo) `YYYY-MM-DD HH:MM[:SS]` as UTC.
pub fn jst(s: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .expect("time");
    to_utc(chrono_tz::Asia::Tokyo, naive.date(), naive.time())
}

pub fn sn(s: &str) -> SerialNumber {
    SerialNumber::parse(s).unwrap()
}
pub fn lid(s: &str) -> LoginId {
    LoginId::parse(s).unwrap()
}
pub fn cid(s: &str) -> CustomerId {
    CustomerId::parse(s).unwrap()
}
/// The user `s` of customer C1 (the world's customer).
pub fn uref(s: &str) -> UserRef {
    UserRef::new(cid("C1"), lid(s))
}

/// The seed of a test token: its serial's digits repeated to 20 bytes.
pub fn seed_of(serial: &str) -> Vec<u8> {
    serial.bytes().cycle().take(20).collect()
}

/// The code a test token shows at `t` (TOTP, SHA-1, 6 digits, 30 s).
pub fn code(serial: &str, t: DateTime<Utc>) -> String {
    let c = otp_core::code(
        &otp_core::Params::DEFAULT_TOTP,
        &seed_of(serial),
        t.timestamp() as u64,
    )
    .unwrap();
    format!("{c:06}")
}

/// A code the token does not show around `t`.
pub fn wrong_code(serial: &str, t: DateTime<Utc>) -> String {
    let right: Vec<String> = (-2i64..=2)
        .map(|k| code(serial, t + chrono::Duration::seconds(30 * k)))
        .collect();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| !right.contains(c))
        .unwrap()
}

pub fn token(serial: &str, expiry: NaiveDate) -> NewToken {
    NewToken {
        serial: sn(serial),
        seed: Seed::new(seed_of(serial)),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry,
        batch: "B-2025-01".into(),
        drift: 0,
    }
}

pub struct World {
    pub bank: Bank<MemoryStore>,
}

pub const OLD_EXPIRY: (i32, u32, u32) = (2025, 4, 30);

/// Customer C1 (individual mode):
/// - taro (master) uses 23456789, hanako (admin) 33456789, jiro (general) 45678909;
/// - sachiko and saburo (general) share 78160641;
/// - shiro (general) needs an OTP but has no token; goro (general) needs none.
///
/// Tokens 11111111…, 12121212, 13131313 (expiring 2030) are in stock for replacement.
/// Registration happens on 2025-03-01 from 09:00 JST, one user per 30 s step.
pub fn world(policy_name: &str) -> World {
    world_with(policy(policy_name))
}

/// [`world`] under any policy.
pub fn world_with(p: Policy) -> World {
    let bank = Bank::new(MemoryStore::new(), p);
    let t0 = jst("2025-03-01 09:00");
    let old = NaiveDate::from_ymd_opt(OLD_EXPIRY.0, OLD_EXPIRY.1, OLD_EXPIRY.2).unwrap();
    let new = NaiveDate::from_ymd_opt(2030, 1, 31).unwrap();
    let mut tokens: Vec<NewToken> = ["23456789", "33456789", "45678909", "78160641"]
        .iter()
        .map(|s| token(s, old))
        .collect();
    tokens.extend(
        ["11111111", "12121212", "13131313", "14141414", "15151515"]
            .iter()
            .map(|s| token(s, new)),
    );
    bank.import_tokens(&root(), "sha256:test-batch", "test batch", &tokens, t0)
        .unwrap();
    bank.add_customer(
        &root(),
        NewCustomer {
            id: cid("C1"),
            name: "データ商事".into(),
            mode: UsageMode::Individual,
            secret: Some(ConfirmationSecret::new(SECRET)),
        },
        t0,
    )
    .unwrap();
    for (login, name, class, otp) in [
        ("taro", "データ太郎", UserClass::Master, true),
        ("hanako", "データ花子", UserClass::Admin, true),
        ("jiro", "データ二郎", UserClass::General, true),
        ("sachiko", "データ幸子", UserClass::General, true),
        ("saburo", "データ三郎", UserClass::General, true),
        ("shiro", "データ四郎", UserClass::General, true),
        ("goro", "データ五郎", UserClass::General, false),
    ] {
        bank.add_user(
            &root(),
            NewUser {
                login: lid(login),
                customer: cid("C1"),
                name: name.into(),
                class,
                needs_otp: otp,
                secret: None,
            },
            t0,
        )
        .unwrap();
    }
    let mut t = t0;
    for (login, serial) in [
        ("taro", "23456789"),
        ("hanako", "33456789"),
        ("jiro", "45678909"),
        ("sachiko", "78160641"),
        ("saburo", "78160641"),
    ] {
        bank.register(&root(), &uref(login), &sn(serial), &code(serial, t), t)
            .unwrap();
        t += chrono::Duration::seconds(30);
    }
    World { bank }
}

impl World {
    /// `actor` proves with the right secret and the current code of `serial` at `t`.
    pub fn proof(&self, actor: &str, serial: &str, t: DateTime<Utc>) -> Proof {
        Proof {
            actor: uref(actor),
            secret: ConfirmationSecret::new(SECRET),
            code: code(serial, t),
        }
    }

    pub fn state(&self, login: &str, now: DateTime<Utc>) -> OtpState {
        let page = self
            .bank
            .list_users(&root(), None, &cid("C1"), Some(login), 1, now)
            .unwrap();
        page.rows
            .into_iter()
            .find(|r| r.login.as_str() == login)
            .unwrap()
            .state
    }
}
