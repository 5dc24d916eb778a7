//! The Bank IT and seeds 001/002 routes (issue #15) on a real SQLite file, through the same
//! `handle` the server runs: customers listed and shown, a user's password set and the user
//! removed, an admin registering for a user, the master withdrawing an admin's 利用権限, tokens
//! listed by status with an operator session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{code, seed_of};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use serde_json::{json, Value};

struct Api {
    bank: Bank<SqliteStore>,
    _dir: tempfile::TempDir,
}

impl Api {
    fn call(
        &self,
        who: &Caller,
        method: &str,
        path: &str,
        body: Value,
        t: DateTime<Utc>,
    ) -> (u16, Value) {
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        let query = bank_http::routes::query_pairs(q);
        let body = body.to_string();
        let request = bank_http::routes::Request {
            body: body.as_bytes(),
            ..bank_http::routes::Request::bare(method, p, &query)
        };
        let r = bank_http::handle(&self.bank, Some(who), &request, t);
        (r.status, r.body)
    }
}

fn client(scope: Scope) -> Caller {
    Caller::Client {
        name: ClientName::parse("c").unwrap(),
        scopes: vec![scope],
    }
}

/// C1 with taro (master, 23456789) and hanako (admin, 33456789) registered, shiro (general)
/// without a token; 11111111 and 12121212 in stock.
fn api(t0: DateTime<Utc>) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::create(&dir.path().join("bank.key")).unwrap();
    let policy = Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    };
    let store =
        SqliteStore::create(&dir.path().join("bank.db"), &key, Environment::Staging).unwrap();
    let bank = Bank::new(store, policy);
    let root = Caller::Local("root".into());
    let exp = NaiveDate::from_ymd_opt(2030, 1, 31).unwrap();
    let toks: Vec<NewToken> = ["23456789", "33456789", "11111111", "12121212"]
        .iter()
        .map(|s| NewToken {
            serial: SerialNumber::parse(s).unwrap(),
            seed: Seed::new(seed_of(s)),
            params: otp_core::Params::DEFAULT_TOTP,
            expiry: exp,
            batch: "B".into(),
            drift: 0,
        })
        .collect();
    bank.import_tokens(&root, "sha256:t", "t", &toks, t0)
        .unwrap();
    bank.add_customer(
        &root,
        NewCustomer {
            id: CustomerId::parse("C1").unwrap(),
            name: "データ商事".into(),
            mode: UsageMode::Individual,
            secret: Some(ConfirmationSecret::new("kakunin")),
        },
        t0,
    )
    .unwrap();
    for (l, c) in [
        ("taro", UserClass::Master),
        ("hanako", UserClass::Admin),
        ("shiro", UserClass::General),
    ] {
        bank.add_user(
            &root,
            NewUser {
                login: LoginId::parse(l).unwrap(),
                customer: CustomerId::parse("C1").unwrap(),
                name: l.into(),
                class: c,
                needs_otp: true,
                secret: None,
            },
            t0,
        )
        .unwrap();
    }
    for (i, (l, s)) in [("taro", "23456789"), ("hanako", "33456789")]
        .iter()
        .enumerate()
    {
        let t = t0 + chrono::Duration::seconds(30 * i as i64);
        bank.register(
            &root,
            &lifecycle::UserRef::new(CustomerId::parse("C1").unwrap(), LoginId::parse(l).unwrap()),
            &SerialNumber::parse(s).unwrap(),
            &code(s, t),
            t,
        )
        .unwrap();
    }
    Api { bank, _dir: dir }
}

#[test]
fn register_for_and_permissions_routes_follow_seed_002() {
    let t0 = Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap();
    let a = api(t0);
    let admin = client(Scope::CustomerAdmin);
    // The master withdraws hanako's 利用権限: her register-for is refused.
    let t1 = t0 + chrono::Duration::minutes(5);
    let (st, v) = a.call(
        &admin,
        "POST",
        "/v1/customers/C1/users/hanako/permissions",
        json!({ "customer": "C1", "actor": "taro", "secret": "kakunin", "code": code("23456789", t1), "token_management": false }),
        t1,
    );
    assert_eq!((st, &v["token_management"]), (200, &json!(false)), "{v}");
    let t2 = t1 + chrono::Duration::seconds(30);
    let body = |t| json!({ "customer": "C1", "actor": "hanako", "secret": "kakunin", "code": code("33456789", t), "target": "shiro", "serial": "11111111", "token_code": code("11111111", t) });
    let (st, v) = a.call(&admin, "POST", "/v1/register-for", body(t2), t2);
    assert_eq!((st, v["code"].as_str()), (403, Some("not_allowed")), "{v}");
    // Granted again, hanako registers 11111111 for shiro.
    let t3 = t2 + chrono::Duration::seconds(30);
    let (st, _) = a.call(
        &admin,
        "POST",
        "/v1/customers/C1/users/hanako/permissions",
        json!({ "customer": "C1", "actor": "taro", "secret": "kakunin", "code": code("23456789", t3), "token_management": true }),
        t3,
    );
    assert_eq!(st, 200);
    let t4 = t3 + chrono::Duration::seconds(30);
    let (st, v) = a.call(&admin, "POST", "/v1/register-for", body(t4), t4);
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["login"].as_str(), v["registered_by"].as_str()),
        (Some("shiro"), Some("hanako"))
    );
    // Never for the master.
    let t5 = t4 + chrono::Duration::seconds(30);
    let mut b = body(t5);
    b["target"] = json!("taro");
    let (st, v) = a.call(&admin, "POST", "/v1/register-for", b, t5);
    assert_eq!(
        (st, v["code"].as_str()),
        (403, Some("master_registers_own_token")),
        "{v}"
    );
}

#[test]
fn bank_it_routes_list_show_set_password_remove_and_list_tokens() {
    let t0 = Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap();
    let a = api(t0);
    let prov = client(Scope::Provisioning);
    let (st, v) = a.call(&prov, "GET", "/v1/customers?page=1", Value::Null, t0);
    assert_eq!((st, &v["total"]), (200, &json!(1)), "{v}");
    assert_eq!(v["customers"][0]["has_confirmation_password"], json!(true));
    assert!(v["customers"][0].get("secret").is_none());
    let (st, v) = a.call(&prov, "GET", "/v1/customers?page=2", Value::Null, t0);
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("invalid_input")),
        "{v}"
    );
    let (st, v) = a.call(&prov, "GET", "/v1/customers/C1", Value::Null, t0);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["users"].as_array().unwrap().len(), 3);
    assert_eq!(v["tokens"].as_array().unwrap().len(), 2);
    let (st, _) = a.call(
        &prov,
        "POST",
        "/v1/customers/C1/users/shiro/password",
        json!({ "secret": "shiro-own" }),
        t0,
    );
    assert_eq!(st, 200);
    let (st, v) = a.call(
        &prov,
        "POST",
        "/v1/customers/C1/users/shiro/password",
        json!({ "secret": "" }),
        t0,
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("invalid_input")),
        "{v}"
    );
    let (st, v) = a.call(
        &prov,
        "POST",
        "/v1/customers/C1/users/taro/remove",
        json!({}),
        t0,
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (403, Some("master_cannot_be_removed")),
        "{v}"
    );
    let (st, v) = a.call(
        &prov,
        "POST",
        "/v1/customers/C1/users/hanako/remove",
        json!({}),
        t0,
    );
    assert_eq!(
        (st, v["released_serial"].as_str()),
        (200, Some("33456789")),
        "{v}"
    );
    let op = Caller::Operator {
        client: ClientName::parse("bo").unwrap(),
        scopes: vec![Scope::Backoffice],
        operator: OperatorId::parse("sato").unwrap(),
        role: Role::Operator,
    };
    let (st, v) = a.call(&op, "GET", "/v1/tokens?status=stock", Value::Null, t0);
    assert_eq!((st, &v["total"]), (200, &json!(2)), "{v}");
    assert!(v["tokens"][0].get("seed").is_none());
    let (st, v) = a.call(
        &op,
        "GET",
        "/v1/tokens?status=issued&customer=C1",
        Value::Null,
        t0,
    );
    assert_eq!(
        (st, v["tokens"][0]["serial"].as_str()),
        (200, Some("33456789")),
        "hanako's token went back to issued: {v}"
    );
    let (st, v) = a.call(&op, "GET", "/v1/tokens?status=lost", Value::Null, t0);
    assert_eq!(st, 400, "{v}");
    // The audit log names the caller of each administration call.
    let log = a
        .bank
        .audit(&Caller::Local("root".into()), &AuditQuery::default(), t0)
        .unwrap();
    let e = log
        .iter()
        .find(|e| e.action == "user_remove" && e.outcome == "ok")
        .unwrap();
    assert_eq!(e.via.as_deref(), Some("client:c"));
}

#[test]
fn the_api_names_a_user_by_customer_and_login_id() {
    // Login IDs are unique per customer only (issue #15): C2 also has a hanako.
    let t0 = Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap();
    let a = api(t0);
    let prov = client(Scope::Provisioning);
    let (st, v) = a.call(
        &prov,
        "POST",
        "/v1/customers",
        json!({ "id": "C2", "name": "別商事", "mode": "individual" }),
        t0,
    );
    assert_eq!(st, 201, "{v}");
    let (st, v) = a.call(
        &prov,
        "POST",
        "/v1/users",
        json!({ "login": "hanako", "customer": "C2", "name": "別花子", "class": "admin" }),
        t0,
    );
    assert_eq!(st, 201, "{v}");
    // C1's hanako's code does not log in C2's hanako (who has no token yet).
    let t1 = t0 + chrono::Duration::minutes(1);
    let login = client(Scope::Login);
    let validate = |c: &str, t| {
        a.call(
            &login,
            "POST",
            "/v1/validate",
            json!({ "customer": c, "login": "hanako", "code": code("33456789", t) }),
            t,
        )
    };
    // (C2's hanako has no token: answered like an unknown login, since
    // validation.registration_state_to_clients is off by default.)
    let (st, v) = validate("C2", t1);
    assert_eq!((st, v["code"].as_str()), (403, Some("wrong_code")), "{v}");
    assert_eq!(validate("C1", t1).1["result"], "accepted");
    // Removing C2's hanako leaves C1's.
    let (st, v) = a.call(
        &prov,
        "POST",
        "/v1/customers/C2/users/hanako/remove",
        json!({}),
        t1,
    );
    assert_eq!((st, v["customer"].as_str()), (200, Some("C2")), "{v}");
    let t2 = t1 + chrono::Duration::seconds(30);
    assert_eq!(validate("C1", t2).1["result"], "accepted");
    let (st, v) = validate("C2", t2);
    assert_eq!((st, v["code"].as_str()), (403, Some("wrong_code")), "{v}");
}
