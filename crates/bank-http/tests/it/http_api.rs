//! The JSON API over real loopback HTTP against a real SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{code, seed_of};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The bearer key of a client holding every scope (set up by the test).
static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn request(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let key = KEY.get().map(String::as_str).unwrap_or("");
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let b = body.map(|v| v.to_string()).unwrap_or_default();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}", b.len()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status: u16 = out.split(' ').nth(1).unwrap().parse().unwrap();
    let body = out.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn http_api_register_validate_revoke_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let key_path = dir.path().join("bank.key");
    let key = MasterKey::create(&key_path).unwrap();
    let mut policy = Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    };
    // This front end registers only after its own first factor: it is told the cool-down's
    // end (004: revoked at 08:00 → registration from 08:30).
    policy.validation.registration_state_to_clients = true;
    {
        let store = SqliteStore::create(&db, &key, Environment::Staging).unwrap();
        let bank = Bank::new(store, policy.clone());
        let exp = NaiveDate::from_ymd_opt(2030, 1, 31).unwrap();
        let toks: Vec<NewToken> = ["23456789", "33456789", "11111111"]
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
        let root = Caller::Local("root".into());
        bank.import_tokens(&root, "sha256:t", "t", &toks, Utc::now())
            .unwrap();
        let (key, _) = bank
            .add_client(
                &root,
                &ClientName::parse("all").unwrap(),
                &Scope::ALL,
                Utc::now(),
            )
            .unwrap();
        KEY.set(key.expose().to_owned()).unwrap();
    }
    let clock_at = Arc::new(Mutex::new(
        Utc.with_ymd_and_hms(2025, 3, 3, 23, 0, 0).unwrap(),
    )); // 08:00 JST
    let c2 = clock_at.clone();
    let clock: bank_http::Clock = Arc::new(move || *c2.lock().unwrap());
    let kp = key_path.clone();
    let dbp = db.clone();
    let pol = policy.clone();
    let server = bank_http::serve(
        bank_http::ServeConfig {
            workers: 2,
            ..bank_http::ServeConfig::loopback("127.0.0.1:0")
        },
        move || {
            let key = MasterKey::load(&kp).map_err(|e| e.to_string())?;
            let store = SqliteStore::open(&dbp, &key).map_err(|e| e.to_string())?;
            Ok(Bank::new(store, pol.clone()))
        },
        clock,
    )
    .unwrap();
    let a = server.addr();
    let set = |t: DateTime<Utc>| *clock_at.lock().unwrap() = t;
    let now = || *clock_at.lock().unwrap();

    assert_eq!(request(a, "GET", "/v1/health", None).0, 200);
    assert_eq!(
        request(
            a,
            "POST",
            "/v1/customers",
            Some(json!({"id":"C1","name":"データ商事","mode":"individual","secret":"kakunin"}))
        )
        .0,
        201
    );
    let (st, b) = request(
        a,
        "POST",
        "/v1/customers",
        Some(json!({"id":"C1","name":"x","mode":"individual"})),
    );
    assert_eq!((st, b["code"].as_str()), (409, Some("duplicate_customer")));
    for (login, class) in [("taro", "master"), ("hanako", "admin"), ("jiro", "general")] {
        assert_eq!(
            request(
                a,
                "POST",
                "/v1/users",
                Some(json!({"login":login,"customer":"C1","name":login,"class":class}))
            )
            .0,
            201
        );
    }
    let (st, b) = request(
        a,
        "POST",
        "/v1/users",
        Some(json!({"login":"bad id","customer":"C1","name":"x","class":"general"})),
    );
    assert_eq!(
        (st, b["code"].as_str()),
        (400, Some("invalid_input")),
        "{b}"
    );

    let t = now();
    assert_eq!(
        request(
            a,
            "POST",
            "/v1/register",
            Some(json!({"customer":"C1","login":"hanako","serial":"33456789","code":code("33456789", t)}))
        )
        .0,
        200
    );
    let (st, b) = request(
        a,
        "POST",
        "/v1/register",
        Some(
            json!({"customer":"C1","login":"jiro","serial":"23456789","code":code("23456789", t)}),
        ),
    );
    assert_eq!(st, 200, "{b}");

    set(t + chrono::Duration::seconds(30));
    let c = code("23456789", now());
    let (st, b) = request(
        a,
        "POST",
        "/v1/validate",
        Some(json!({"customer":"C1","login":"jiro","code":c})),
    );
    assert_eq!((st, b["result"].as_str()), (200, Some("accepted")), "{b}");
    let (st, b) = request(
        a,
        "POST",
        "/v1/validate",
        Some(json!({"customer":"C1","login":"jiro","code":c})),
    );
    assert_eq!(
        (st, b["code"].as_str()),
        (403, Some("replayed_code")),
        "{b}"
    );

    // A general user cannot revoke (000).
    set(now() + chrono::Duration::seconds(30));
    let (st, b) = request(
        a,
        "POST",
        "/v1/revoke",
        Some(
            json!({"customer":"C1","actor":"jiro","secret":"kakunin","code":code("23456789", now()),"targets":["jiro"]}),
        ),
    );
    assert_eq!((st, b["code"].as_str()), (403, Some("not_allowed")), "{b}");
    let (st, b) = request(
        a,
        "POST",
        "/v1/revoke",
        Some(
            json!({"customer":"C1","actor":"hanako","secret":"kakunin","code":code("33456789", now()),"targets":["jiro"]}),
        ),
    );
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["tokens"][0]["users"], json!(["jiro"]));

    set(now() + chrono::Duration::minutes(10));
    let (st, b) = request(
        a,
        "POST",
        "/v1/register",
        Some(
            json!({"customer":"C1","login":"jiro","serial":"11111111","code":code("11111111", now())}),
        ),
    );
    assert_eq!((st, b["code"].as_str()), (409, Some("cool_down")), "{b}");
    assert_eq!(
        b["allowed_from_local"].as_str(),
        Some("2025-03-04 08:31 JST"),
        "{b}"
    );

    let (st, b) = request(a, "GET", "/v1/customers/C1/users?filter=jiro", None);
    assert_eq!(st, 200);
    assert_eq!(b["users"][0]["state_ja"].as_str(), Some("失効中"), "{b}");
    let (st, b) = request(a, "GET", "/v1/audit?customer=C1&limit=50", None);
    assert_eq!(st, 200);
    assert!(
        b["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "replayed_code"),
        "{b}"
    );
    assert!(!b.to_string().contains(&c), "audit leaked a code");

    let (st, b) = request(
        a,
        "POST",
        "/v1/validate",
        Some(json!({"customer":"C1","login":"jiro"})),
    );
    assert_eq!((st, b["code"].as_str()), (400, Some("invalid_input")));
    assert_eq!(
        request(a, "GET", "/v1/nothing", None).1["code"].as_str(),
        Some("no_such_route")
    );
    server.stop();
}

#[test]
fn openapi_spec_documents_every_route() {
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/bank-api.openapi.yaml"
    ))
    .unwrap();
    for route in [
        "/v1/health:",
        "/v1/customers:",
        "/v1/users:",
        "/v1/customers/{id}/users:",
        "/v1/tokens/{serial}:",
        "/v1/tokens/{serial}/issue:",
        "/v1/revoke:",
        "/v1/backoffice/revoke:",
        "/v1/register:",
        "/v1/skip:",
        "/v1/validate:",
        "/v1/mode:",
        "/v1/unregister:",
        "/v1/unlock:",
        "/v1/audit:",
    ] {
        assert!(
            spec.contains(route),
            "spec/bank-api.openapi.yaml lacks {route}"
        );
    }
    for code in [
        "replayed_code",
        "cool_down",
        "not_allowed",
        "locked",
        "token_revoked",
        "expired_needs_backoffice",
    ] {
        assert!(spec.contains(code), "error code {code} undocumented");
    }
}
