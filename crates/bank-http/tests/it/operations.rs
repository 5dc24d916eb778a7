//! The operations side of a node (issue #16) over real loopback HTTP on a real SQLite file:
//! `/v1/ready` follows the database and reveals nothing else, the metrics listen apart from
//! the API (loopback unless allowed), and count validations by result and lockouts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{code, seed_of};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Monday 2025-03-03 10:00 JST.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap()
}

/// A raw HTTP/1.1 request; the status, headers and body text.
fn raw(addr: SocketAddr, method: &str, path: &str, key: &str, body: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = if key.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {key}\r\n")
    };
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// The readiness query of the CLI for a SQLite file, as a probe.
struct FileProbe(PathBuf);

impl bank_http::Probe for FileProbe {
    fn ping(&self) -> Result<(), String> {
        lifecycle_sqlite::ping(&self.0)
    }
    fn pool(&self) -> bank_http::PoolState {
        bank_http::PoolState {
            open: 2,
            idle: None,
            max: 2,
        }
    }
}

fn policy() -> Policy {
    Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    }
}

/// A staging bank with users u0…u{n-1}, each registered to token 4000000i; returns the
/// login key.
fn bank(db: &Path, kp: &Path, users: usize) -> String {
    let key = MasterKey::create(kp).unwrap();
    let bank = Bank::new(
        SqliteStore::create(db, &key, Environment::Staging).unwrap(),
        policy(),
    );
    let root = Caller::Local("root".into());
    let serial = |i: usize| format!("{:08}", 40_000_000 + i);
    let tokens: Vec<NewToken> = (0..users)
        .map(|i| NewToken {
            serial: SerialNumber::parse(&serial(i)).unwrap(),
            seed: Seed::new(seed_of(&serial(i))),
            params: otp_core::Params::DEFAULT_TOTP,
            expiry: NaiveDate::from_ymd_opt(2030, 1, 31).unwrap(),
            batch: "B".into(),
            drift: 0,
        })
        .collect();
    bank.import_tokens(&root, "sha256:ops", "ops", &tokens, now())
        .unwrap();
    for i in 0..users {
        let c = CustomerId::parse(&format!("K{i}")).unwrap();
        bank.add_customer(
            &root,
            NewCustomer {
                id: c.clone(),
                name: format!("K{i}"),
                mode: UsageMode::Individual,
                secret: None,
            },
            now(),
        )
        .unwrap();
        let login = LoginId::parse(&format!("u{i}")).unwrap();
        bank.add_user(
            &root,
            NewUser {
                login: login.clone(),
                customer: c.clone(),
                name: format!("u{i}"),
                class: UserClass::Master,
                needs_otp: true,
                secret: None,
            },
            now(),
        )
        .unwrap();
        let s = SerialNumber::parse(&serial(i)).unwrap();
        bank.register(
            &root,
            &lifecycle::UserRef::new(c, login),
            &s,
            &code(&serial(i), now()),
            now(),
        )
        .unwrap();
    }
    let (k, _) = bank
        .add_client(
            &root,
            &ClientName::parse("login").unwrap(),
            &[Scope::Login],
            now(),
        )
        .unwrap();
    k.expose().to_owned()
}

fn serve(db: &Path, kp: &Path, ops: bank_http::OpsConfig) -> bank_http::Running {
    let (db, kp) = (db.to_owned(), kp.to_owned());
    let at = now() + chrono::Duration::seconds(60);
    bank_http::serve_with(
        bank_http::ServeConfig::loopback("127.0.0.1:0"),
        ops,
        move || {
            let key = MasterKey::load(&kp).map_err(|e| e.to_string())?;
            Ok(Bank::new(
                SqliteStore::open(&db, &key).map_err(|e| e.to_string())?,
                policy(),
            ))
        },
        Arc::new(move || at),
    )
    .unwrap()
}

#[test]
fn ready_is_503_revealing_nothing_while_the_database_file_is_gone_and_health_stays_200() {
    let dir = tempfile::tempdir().unwrap();
    let (db, kp) = (dir.path().join("bank.db"), dir.path().join("bank.key"));
    bank(&db, &kp, 1);
    let server = serve(
        &db,
        &kp,
        bank_http::OpsConfig {
            probe: Some(Arc::new(FileProbe(db.clone()))),
            ..Default::default()
        },
    );
    let a = server.addr();
    let (st, head, body) = raw(a, "GET", "/v1/ready", "", "");
    assert_eq!(
        (st, json(&body)),
        (200, serde_json::json!({"status": "ready"}))
    );
    assert!(head.contains("x-request-id: "), "{head}");

    // The file goes away (a lost volume): not ready, and nothing says why.
    let moved = dir.path().join("elsewhere.db");
    std::fs::rename(&db, &moved).unwrap();
    std::thread::sleep(bank_http::ops::READY_CACHE + Duration::from_millis(100));
    let (st, _, body) = raw(a, "GET", "/v1/ready", "", "");
    assert_eq!(
        (st, json(&body)),
        (503, serde_json::json!({"status": "not_ready"})),
        "only not_ready, no path, no error text: {body}"
    );
    assert_eq!(raw(a, "GET", "/v1/health", "", "").0, 200, "still alive");

    // Back: ready again by itself.
    std::fs::rename(&moved, &db).unwrap();
    std::thread::sleep(bank_http::ops::READY_CACHE + Duration::from_millis(100));
    assert_eq!(raw(a, "GET", "/v1/ready", "", "").0, 200);
    server.stop();
}

#[test]
fn metrics_on_a_public_address_are_refused_without_metrics_public() {
    let dir = tempfile::tempdir().unwrap();
    let (db, kp) = (dir.path().join("bank.db"), dir.path().join("bank.key"));
    bank(&db, &kp, 1);
    let (db2, kp2) = (db.clone(), kp.clone());
    let r = bank_http::serve_with(
        bank_http::ServeConfig::loopback("127.0.0.1:0"),
        bank_http::OpsConfig {
            metrics_listen: Some("0.0.0.0:0".into()),
            ..Default::default()
        },
        move || {
            let key = MasterKey::load(&kp2).map_err(|e| e.to_string())?;
            Ok(Bank::new(
                SqliteStore::open(&db2, &key).map_err(|e| e.to_string())?,
                policy(),
            ))
        },
        Arc::new(Utc::now),
    );
    let err = r.err().expect("refused").to_string();
    assert!(
        err.contains("refusing metrics") && err.contains("--metrics-public"),
        "{err}"
    );
}

/// `name{labels} value` of a scrape, 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn metrics_count_each_validation_by_result_and_the_lockout_apart_from_the_api() {
    const USERS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let (db, kp) = (dir.path().join("bank.db"), dir.path().join("bank.key"));
    let key = bank(&db, &kp, USERS);
    let server = serve(
        &db,
        &kp,
        bank_http::OpsConfig {
            probe: Some(Arc::new(FileProbe(db.clone()))),
            metrics_listen: Some("127.0.0.1:0".into()),
            metrics_public: false,
        },
    );
    let (a, m) = (
        server.addr(),
        server.metrics_addr().expect("metrics address"),
    );
    assert_ne!(a, m, "the metrics are not on the API's listener");
    let at = now() + chrono::Duration::seconds(60);
    let validate = |login: &str, code: &str| {
        let (st, _, body) = raw(
            a,
            "POST",
            "/v1/validate",
            &key,
            &format!(
                r#"{{"customer":"K{}","login":"{login}","code":"{code}"}}"#,
                &login[1..]
            ),
        );
        (st, json(&body))
    };
    // Every user's code once (accepted), then again (replayed).
    for i in 0..USERS {
        let c = code(&format!("{:08}", 40_000_000 + i), at);
        assert_eq!(validate(&format!("u{i}"), &c).1["result"], "accepted");
        assert_eq!(validate(&format!("u{i}"), &c).1["code"], "replayed_code");
    }
    // u0: wrong codes until locked, then one more (refused as locked).
    let max = policy().validation.max_failures as usize;
    let mut wrong = 0;
    loop {
        let (_, v) = validate("u0", &format!("{:06}", 100_000 + wrong));
        wrong += 1;
        if v["attempts_remaining"] == 0 {
            break;
        }
        assert_eq!(v["code"], "wrong_code", "{v}");
        assert!(wrong <= max, "no lockout after {wrong} wrong codes");
    }
    assert_eq!(validate("u0", "123456").1["code"], "locked");
    let (st, _, _) = raw(a, "GET", "/v1/ready", "", "");
    assert_eq!(st, 200);

    let (st, head, text) = raw(m, "GET", "/metrics", "", "");
    assert_eq!(st, 200);
    assert!(head.contains("content-type: text/plain"), "{head}");
    let n = |s: &str| sample(&text, s);
    assert_eq!(
        n(r#"tokenline_validations_total{result="accepted"}"#),
        USERS as f64
    );
    assert_eq!(
        n(r#"tokenline_validations_total{result="replayed_code"}"#),
        USERS as f64
    );
    // The failure that used the last attempt was itself a wrong code.
    assert_eq!(
        n(r#"tokenline_validations_total{result="wrong_code"}"#),
        wrong as f64
    );
    assert_eq!(n(r#"tokenline_validations_total{result="locked"}"#), 1.0);
    assert_eq!(n(r#"tokenline_lockouts_total{route="/v1/validate"}"#), 1.0);
    let sent = (2 * USERS + wrong + 1) as f64;
    assert_eq!(
        n(r#"tokenline_http_request_duration_seconds_count{route="/v1/validate"}"#),
        sent,
        "one latency observation per validation"
    );
    assert_eq!(
        n(r#"tokenline_http_requests_total{method="POST",route="/v1/validate",status="200"}"#),
        USERS as f64
    );
    assert_eq!(n(r#"tokenline_db_connections{state="open"}"#), 2.0);
    assert_eq!(n("tokenline_db_up"), 1.0);
    assert!(
        n(r#"tokenline_db_file_bytes{file="db"}"#) == 0.0,
        "no file sizes from this probe"
    );
    // No login, serial or code is a label (the label sets only: a sample value such as a
    // latency sum may hold any digits, which made this check fail now and then).
    let label_sets: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| Some(&l[l.find('{')?..=l.find('}')?]))
        .collect();
    assert!(!label_sets.is_empty(), "the metrics have labels");
    for secret in ["u0", "40000000"] {
        let hit = label_sets.iter().find(|l| l.contains(secret));
        assert!(hit.is_none(), "{secret} in the metrics' labels: {hit:?}");
    }
    // Each listener serves only its own: no metrics on the API, no API on the metrics.
    let (st, _, _) = raw(a, "GET", "/metrics", "", "");
    assert_ne!(st, 200, "the API does not serve the metrics");
    let (st, _, _) = raw(m, "GET", "/v1/health", "", "");
    assert_eq!(st, 404, "the metrics listener serves only /metrics");
    server.stop();
}
