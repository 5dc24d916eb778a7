//! PostgreSQL stopped and started again under a running `bank serve` node (issue #16): while
//! the database is down the node answers at once and accepts nothing (no hang, nothing
//! half-written); once it is back the node serves again by itself, and what was committed
//! before — the codes already used — is still there.
//!
//! The test stops its own throwaway cluster (scripts/lib/pg.sh), never the shared one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use lifecycle::{
    Bank, Caller, ClientName, CustomerId, LoginId, NewCustomer, NewToken, NewUser, Policy, Scope,
    Seed, SerialNumber, UsageMode, UserClass,
};
use lifecycle_postgres::{MasterKey, PgStore};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tokenline");

mod serve_support;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A throwaway cluster of this test only (scripts/lib/pg.sh), stopped when dropped.
struct Cluster {
    dir: String,
    bin: String,
    url: String,
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let enabled = std::env::var("TOKENLINE_TEST_PG_URL").is_ok()
            || std::env::var("TOKENLINE_REQUIRE_PG").is_ok_and(|v| v == "1");
        if !enabled {
            eprintln!("skipped: PostgreSQL tests are off (./scripts/test turns them on)");
            return None;
        }
        let o = Command::new("bash")
            .arg("-c")
            .arg(". scripts/lib/pg.sh && pg_start >&2 && printf '%s\\n%s\\n%s\\n' \"$TOKENLINE_PG_DIR\" \"$TOKENLINE_PG_BIN\" \"$TOKENLINE_TEST_PG_URL\"")
            .current_dir(repo())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "pg_start: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let out = String::from_utf8(o.stdout).unwrap();
        let mut l = out.lines().map(str::to_owned);
        Some(Cluster {
            dir: l.next().unwrap(),
            bin: l.next().unwrap(),
            url: l.next().unwrap(),
        })
    }

    fn run(&self, what: &str) {
        let o = Command::new("bash")
            .arg("-c")
            .arg(format!(". scripts/lib/pg.sh && {what}"))
            .current_dir(repo())
            .env("TOKENLINE_PG_DIR", &self.dir)
            .env("TOKENLINE_PG_BIN", &self.bin)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.run("pg_stop");
    }
}

fn seed_of(serial: &str) -> Vec<u8> {
    serial.bytes().cycle().take(20).collect()
}

fn code(serial: &str, t: DateTime<Utc>) -> String {
    format!(
        "{:06}",
        otp_core::code(
            &otp_core::Params::DEFAULT_TOTP,
            &seed_of(serial),
            t.timestamp() as u64
        )
        .unwrap()
    )
}

fn serial(i: usize) -> String {
    format!("{:08}", 40_000_000 + i)
}

/// The node process, killed when dropped.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// POST /v1/validate with the API client's bearer key; (status, body) or None when there is
/// no answer.
fn validate(addr: SocketAddr, key: &str, login: &str, code: &str) -> Option<(u16, Value)> {
    let mut s =
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let body = format!(
        r#"{{"customer":"K{}","login":"{login}","code":"{code}"}}"#,
        &login[1..]
    );
    write!(
        s,
        "POST /v1/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    Some((
        status,
        serde_json::from_str(out.split_once("\r\n\r\n")?.1).ok()?,
    ))
}

/// `GET path` without a credential (the probes): status and body.
fn probe(addr: SocketAddr, path: &str) -> Option<(u16, Value)> {
    let mut s =
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    Some((
        status,
        serde_json::from_str(out.split_once("\r\n\r\n")?.1).ok()?,
    ))
}

#[test]
fn postgres_restarted_under_a_node_errors_meanwhile_then_recovers_losing_nothing() {
    const USERS: usize = 10;
    let Some(pg) = Cluster::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("bank.key");
    let o = Command::new(BIN)
        .args(["bank", "init", "--staging", "--db", &pg.url])
        .arg("--key-file")
        .arg(&key)
        .env_remove("TOKENLINE_BANK_DB")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Monday 2025-03-03 10:00 JST: users registered at t0; the node's clock is t0 + 60 s.
    let t0 = Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap();
    let now = t0 + Duration::seconds(60);
    let root = Caller::Local("root".into());
    let api_key = {
        let bank = Bank::new(
            PgStore::open(&pg.url, &MasterKey::load(&key).unwrap()).unwrap(),
            Policy::default(),
        );
        let tokens: Vec<NewToken> = (0..USERS)
            .map(|i| NewToken {
                serial: SerialNumber::parse(&serial(i)).unwrap(),
                seed: Seed::new(seed_of(&serial(i))),
                params: otp_core::Params::DEFAULT_TOTP,
                expiry: chrono::NaiveDate::from_ymd_opt(2030, 1, 31).unwrap(),
                batch: "B".into(),
                drift: 0,
            })
            .collect();
        bank.import_tokens(&root, "sha256:restart", "restart", &tokens, t0)
            .unwrap();
        let (api_key, _) = bank
            .add_client(
                &root,
                &ClientName::parse("restart").unwrap(),
                &[Scope::Login],
                t0,
            )
            .unwrap();
        for i in 0..USERS {
            let c = CustomerId::parse(&format!("K{i}")).unwrap();
            bank.add_customer(
                &root,
                NewCustomer {
                    id: c.clone(),
                    name: "K".into(),
                    mode: UsageMode::Individual,
                    secret: None,
                },
                t0,
            )
            .unwrap();
            let login = LoginId::parse(&format!("u{i}")).unwrap();
            bank.add_user(
                &root,
                NewUser {
                    login: login.clone(),
                    customer: c.clone(),
                    name: "u".into(),
                    class: UserClass::Master,
                    needs_otp: true,
                    secret: None,
                },
                t0,
            )
            .unwrap();
            let s = SerialNumber::parse(&serial(i)).unwrap();
            bank.register(
                &root,
                &lifecycle::UserRef::new(c, login),
                &s,
                &code(&serial(i), t0),
                t0,
            )
            .unwrap();
        }
        api_key.expose().to_owned()
    };
    let mut cmd = serve_support::serve_cmd(&pg.url, now);
    cmd.args(["--workers", "2", "--key-file"]).arg(&key);
    let started = serve_support::spawn_serve(cmd);
    let addr = started.addr;
    let _node = Node(started.child);
    let check = |i: usize| validate(addr, &api_key, &format!("u{i}"), &code(&serial(i), now));

    // Before: half of the users log in.
    for i in 0..USERS / 2 {
        let (st, v) = check(i).expect("answer");
        assert_eq!(
            (st, v["result"].as_str()),
            (200, Some("accepted")),
            "u{i}: {v}"
        );
    }
    assert_eq!(
        probe(addr, "/v1/ready").map(|(st, _)| st),
        Some(200),
        "ready while the database answers"
    );
    // The database goes away: the node answers at once with 503 (a load balancer retries
    // elsewhere), names the cause, and accepts nothing.
    pg.run("pg_server stop");
    // The readiness probe says so (without why); the liveness probe does not (the node is
    // alive and must not be restarted for its database).
    std::thread::sleep(bank_http::ops::READY_CACHE);
    let (st, v) = probe(addr, "/v1/ready").expect("the node answers its readiness probe");
    assert_eq!(
        (st, &v),
        (503, &serde_json::json!({"status": "not_ready"})),
        "not ready while the database is down, and nothing else said"
    );
    assert_eq!(
        probe(addr, "/v1/health").map(|(st, _)| st),
        Some(200),
        "still alive"
    );
    let (st, v) = check(USERS / 2).expect("the node answers while the database is down");
    assert_eq!(
        (st, v["code"].as_str()),
        (503, Some("database_unavailable")),
        "nothing is accepted while the database is down: {v}"
    );
    let msg = v.to_string();
    assert!(msg.contains("database is unavailable"), "{msg}");
    assert!(
        !msg.contains("127.0.0.1"),
        "no database address in errors: {msg}"
    );
    assert!(
        !msg.contains(&code(&serial(USERS / 2), now)),
        "no code in errors: {msg}"
    );
    // It comes back: the node serves again by itself.
    pg.run("pg_server start");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let first = loop {
        let r = check(USERS / 2);
        if matches!(&r, Some((200, _))) || std::time::Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let (st, v) = first.expect("answer after the restart");
    assert_eq!((st, v["result"].as_str()), (200, Some("accepted")), "{v}");
    std::thread::sleep(bank_http::ops::READY_CACHE);
    assert_eq!(
        probe(addr, "/v1/ready").map(|(st, _)| st),
        Some(200),
        "ready again by itself"
    );
    // Nothing committed was lost: the codes used before the outage are still used.
    for i in 0..USERS / 2 {
        let (st, v) = check(i).expect("answer");
        assert_eq!(
            (st, v["code"].as_str()),
            (403, Some("replayed_code")),
            "u{i}: the code accepted before the restart must stay used: {v}"
        );
    }
    for i in USERS / 2 + 1..USERS {
        let (st, v) = check(i).expect("answer");
        assert_eq!(
            (st, v["result"].as_str()),
            (200, Some("accepted")),
            "u{i}: {v}"
        );
    }
}
