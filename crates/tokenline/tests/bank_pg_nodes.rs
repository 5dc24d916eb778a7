//! Two `tokenline bank serve` processes on one PostgreSQL database (issue #16), under a
//! bounded loopback load: every code is accepted exactly once, one serial registered on both
//! nodes at once binds once, failures from both nodes add up to one lockout, and a node killed
//! with SIGKILL in the middle of the load leaves no code accepted twice, no half-done
//! registration, and the other node serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use lifecycle::{
    Bank, ClientName, CustomerId, LoginId, LoginPassword, NewCustomer, NewToken, NewUser, Policy,
    Scope, Seed, SerialNumber, UsageMode, UserClass, UserRef,
};
use lifecycle_postgres::testing::TestSchema;
use lifecycle_postgres::{MasterKey, PgStore};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};

const BIN: &str = env!("CARGO_BIN_EXE_tokenline");

mod serve_support;

/// The bearer key of each bank (by database URL) and of each node (by address): every route
/// but /v1/health needs one (issue #10).
static API_KEYS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

fn api_key(of: &str) -> String {
    API_KEYS
        .lock()
        .unwrap()
        .iter()
        .find(|(k, _)| k == of)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The CLI on the database file (root access).
fn root() -> lifecycle::Caller {
    lifecycle::Caller::Local("root".into())
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

/// Monday 2025-03-03 10:00 JST: registrations are done at t0, the nodes' clock is t0 + 60 s.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap()
}

fn lid(s: &str) -> LoginId {
    LoginId::parse(s).unwrap()
}
fn sn(s: &str) -> SerialNumber {
    SerialNumber::parse(s).unwrap()
}
fn user_serial(i: usize) -> String {
    format!("{:08}", 30_000_000 + i)
}

/// A node: `bank serve` on 127.0.0.1, killed when dropped.
struct Node {
    child: Child,
    addr: SocketAddr,
    /// Its Prometheus metrics (`--metrics-listen`), when asked for.
    metrics: Option<SocketAddr>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_node(url: &str, key: &Path, clock: DateTime<Utc>) -> Node {
    start_node_with(url, key, clock, &[])
}

fn start_node_with(url: &str, key: &Path, clock: DateTime<Utc>, extra: &[&str]) -> Node {
    let mut cmd = serve_support::serve_cmd(url, clock);
    cmd.args(["--workers", "4", "--key-file"])
        .arg(key)
        .args(extra);
    let started = serve_support::spawn_serve(cmd);
    // `metrics on ADDR` comes before `listening on ADDR`.
    let metrics = started
        .head
        .iter()
        .find_map(|l| l.strip_prefix("metrics on ")?.parse::<SocketAddr>().ok());
    let key = api_key(url);
    API_KEYS
        .lock()
        .unwrap()
        .push((started.addr.to_string(), key));
    Node {
        child: started.child,
        addr: started.addr,
        metrics,
    }
}

/// `GET /metrics` of a node: the exposition text, `None` when the node does not answer.
fn scrape(addr: SocketAddr) -> Option<String> {
    let mut s =
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1.1 200")
        .then(|| out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()))
        .flatten()
}

/// The value of one series (`name{labels}`) in a scrape; 0 when absent.
fn series(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// POST a JSON body; `None` when the node is gone (connection refused or cut).
/// The login password of ra and rb.
const LOGIN_PASSWORD: &str = "race-login-pass";

fn post(addr: SocketAddr, path: &str, body: &str) -> Option<(u16, Value)> {
    post_with(addr, path, body, &[])
}

/// [`post`] with extra header lines (`("X-Customer-Session", "…")`).
fn post_with(
    addr: SocketAddr,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Option<(u16, Value)> {
    let mut s =
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let key = api_key(&addr.to_string());
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let v = serde_json::from_str(out.split_once("\r\n\r\n")?.1).ok()?;
    Some((status, v))
}

fn outcome(r: &Option<(u16, Value)>) -> String {
    match r {
        None => "no answer".into(),
        Some((200, v)) => v["result"].as_str().unwrap_or("ok").to_string(),
        Some((_, v)) => v["code"].as_str().unwrap_or("?").to_string(),
    }
}

/// A staging bank in its own schema: `users` users (u0…, masters of customers K0…), each registered at
/// t0 to their own token; customers A and B with masters ra and rb; token 55555555 in stock.
struct Setup {
    schema: TestSchema,
    _dir: tempfile::TempDir,
    key: PathBuf,
}

fn setup(users: usize) -> Option<Setup> {
    let schema = TestSchema::new()?;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("bank.key");
    let o = Command::new(BIN)
        .args(["bank", "init", "--staging", "--db", schema.url()])
        .arg("--key-file")
        .arg(&key)
        .env_remove("TOKENLINE_BANK_DB")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let store = PgStore::open(schema.url(), &MasterKey::load(&key).unwrap()).unwrap();
    let bank = Bank::new(store, Policy::default());
    let mut tokens: Vec<NewToken> = (0..users).map(|i| token(&user_serial(i))).collect();
    tokens.push(token("55555555"));
    bank.import_tokens(&root(), "sha256:nodes", "nodes", &tokens, t0())
        .unwrap();
    let (k, _) = bank
        .add_client(
            &root(),
            &ClientName::parse("nodes").unwrap(),
            &[Scope::Login],
            t0(),
        )
        .unwrap();
    API_KEYS
        .lock()
        .unwrap()
        .push((schema.url().to_owned(), k.expose().to_owned()));
    let customers: Vec<String> = ["A", "B"]
        .into_iter()
        .map(String::from)
        .chain((0..users).map(|i| format!("K{i}")))
        .collect();
    for c in &customers {
        bank.add_customer(
            &root(),
            NewCustomer {
                id: CustomerId::parse(c).unwrap(),
                name: c.clone(),
                mode: UsageMode::Individual,
                secret: None,
            },
            t0(),
        )
        .unwrap();
    }
    let add = |login: &str, customer: &str| {
        bank.add_user(
            &root(),
            NewUser {
                login: lid(login),
                customer: CustomerId::parse(customer).unwrap(),
                name: login.into(),
                class: UserClass::Master,
                needs_otp: true,
                secret: None,
            },
            t0(),
        )
        .unwrap();
    };
    add("ra", "A");
    add("rb", "B");
    // ra and rb register through the API inside their own sessions (issue #10): they sign in
    // with a login password first.
    for (login, customer) in [("ra", "A"), ("rb", "B")] {
        bank.set_login_password(
            &root(),
            &CustomerId::parse(customer).unwrap(),
            &lid(login),
            &LoginPassword::new(LOGIN_PASSWORD),
            t0(),
        )
        .unwrap();
    }
    for i in 0..users {
        let login = format!("u{i}");
        add(&login, &format!("K{i}"));
        let s = user_serial(i);
        bank.register(
            &root(),
            &UserRef::new(CustomerId::parse(&format!("K{i}")).unwrap(), lid(&login)),
            &sn(&s),
            &code(&s, t0()),
            t0(),
        )
        .unwrap();
    }
    Some(Setup {
        schema,
        _dir: dir,
        key,
    })
}

fn token(serial: &str) -> NewToken {
    NewToken {
        serial: sn(serial),
        seed: Seed::new(seed_of(serial)),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: chrono::NaiveDate::from_ymd_opt(2030, 1, 31).unwrap(),
        batch: "B".into(),
        drift: 0,
    }
}

fn sql(url: &str) -> postgres::Client {
    lifecycle_postgres::Target::parse(url)
        .unwrap()
        .connect()
        .unwrap()
}

/// Runs `f(i)` on `n` threads released together.
fn race<T: Send + 'static>(n: usize, f: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (f, b) = (f.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                f(i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn two_nodes_one_database_accept_each_code_once_bind_once_and_lock_out_once() {
    const USERS: usize = 24;
    let Some(s) = setup(USERS) else { return };
    let now = t0() + Duration::seconds(60);
    let nodes = [
        start_node(s.schema.url(), &s.key, now),
        start_node(s.schema.url(), &s.key, now),
    ];
    let addrs = [nodes[0].addr, nodes[1].addr];

    // Every user's current code, sent twice to each node at once (8 client threads).
    let results = race(8, move |th| {
        let addr = addrs[th % 2];
        (0..USERS)
            .filter(|i| i % 2 == (th / 2) % 2)
            .map(|i| {
                let body = format!(
                    r#"{{"customer":"K{i}","login":"u{i}","code":"{}"}}"#,
                    code(&user_serial(i), now)
                );
                (i, outcome(&post(addr, "/v1/validate", &body)))
            })
            .collect::<Vec<_>>()
    });
    let mut accepted = [0usize; USERS];
    for (i, o) in results.into_iter().flatten() {
        match o.as_str() {
            "accepted" => accepted[i] += 1,
            "replayed_code" => {}
            other => panic!("u{i}: unexpected answer {other}"),
        }
    }
    assert!(
        accepted.iter().all(|n| *n == 1),
        "each code accepted exactly once across two nodes: {accepted:?}"
    );

    // One serial, registered on both nodes at once by users of two customers, each inside the
    // session the other node's sign-in answered (both nodes derive one session key).
    let sessions: Vec<String> = (0..2)
        .map(|n| {
            let (customer, login) = [("A", "ra"), ("B", "rb")][n];
            let body = format!(
                r#"{{"customer":"{customer}","login":"{login}","password":"{LOGIN_PASSWORD}"}}"#
            );
            let (st, v) = post(addrs[1 - n], "/v1/login", &body).unwrap();
            assert_eq!((st, v["next"].as_str()), (200, Some("registration")), "{v}");
            v["session"].as_str().unwrap().to_owned()
        })
        .collect();
    let reg = race(2, move |n| {
        let (customer, login) = [("A", "ra"), ("B", "rb")][n];
        let body = format!(
            r#"{{"customer":"{customer}","login":"{login}","serial":"55555555","code":"{}"}}"#,
            code("55555555", now)
        );
        let session = [("X-Customer-Session", sessions[n].as_str())];
        outcome(&post_with(addrs[n], "/v1/register", &body, &session))
    });
    assert_eq!(
        reg.iter().filter(|o| *o == "ok").count(),
        1,
        "one registration succeeds: {reg:?}"
    );
    let mut db = sql(s.schema.url());
    let bound: i64 = db
        .query_one("SELECT COUNT(*) FROM users WHERE serial = '55555555'", &[])
        .unwrap()
        .get(0);
    assert_eq!(bound, 1, "the serial binds once: {reg:?}");
    assert_eq!(
        reg.iter()
            .filter(|o| matches!(o.as_str(), "wrong_serial_or_code" | "replayed_code"))
            .count(),
        1,
        "the other registration is refused: {reg:?}"
    );

    // Wrong codes for one user from both nodes at once: one lockout.
    let wrong = race(6, move |th| {
        (0..3)
            .map(|k| {
                let body = format!(
                    r#"{{"customer":"K0","login":"u0","code":"{:06}"}}"#,
                    100_000 + th * 10 + k
                );
                outcome(&post(addrs[th % 2], "/v1/validate", &body))
            })
            .collect::<Vec<_>>()
    });
    let all: Vec<String> = wrong.into_iter().flatten().collect();
    let max = Policy::default().validation.max_failures as usize;
    let failures: i64 = db
        .query_one("SELECT failures FROM users WHERE login = 'u0'", &[])
        .unwrap()
        .get(0);
    let locked_until: Option<String> = db
        .query_one("SELECT locked_until FROM users WHERE login = 'u0'", &[])
        .unwrap()
        .get(0);
    assert!(locked_until.is_some(), "u0 is locked out: {all:?}");
    assert_eq!(
        failures as usize, max,
        "failures from both nodes add up to one lockout: {all:?}"
    );
    assert!(
        all.iter().filter(|o| *o == "locked").count() >= all.len() - max,
        "after the lockout every attempt is refused as locked: {all:?}"
    );
}

#[test]
fn a_node_killed_mid_load_loses_nothing_and_the_other_keeps_serving() {
    const USERS: usize = 40;
    let Some(s) = setup(USERS) else { return };
    let now = t0() + Duration::seconds(60);
    let mut nodes = vec![
        start_node(s.schema.url(), &s.key, now),
        start_node(s.schema.url(), &s.key, now),
    ];
    let addrs = [nodes[0].addr, nodes[1].addr];
    // Load on both nodes; node 1 is SIGKILLed once 20 answers have come back.
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = answered.clone();
    let load = std::thread::spawn(move || {
        // Two threads per node: each code is sent 4 times (a replay counts as a failure
        // today, and the 5th failure locks: the check below is the 5th attempt at most).
        race(4, move |th| {
            (0..USERS)
                .map(|i| {
                    let body = format!(
                        r#"{{"customer":"K{i}","login":"u{i}","code":"{}"}}"#,
                        code(&user_serial(i), now)
                    );
                    let o = outcome(&post(addrs[th % 2], "/v1/validate", &body));
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    (i, th % 2, o)
                })
                .collect::<Vec<_>>()
        })
    });
    while answered.load(std::sync::atomic::Ordering::SeqCst) < 20 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let mut killed = nodes.remove(1);
    killed.child.kill().unwrap(); // SIGKILL
    killed.child.wait().unwrap();
    let results: Vec<_> = load.join().unwrap().into_iter().flatten().collect();
    assert!(
        results
            .iter()
            .any(|(_, node, o)| *node == 1 && o == "no answer"),
        "node 1 was killed in the middle of the load"
    );
    let mut accepted = vec![0usize; USERS];
    for (i, _, o) in &results {
        match o.as_str() {
            "accepted" => accepted[*i] += 1,
            "replayed_code" | "no answer" => {}
            other => panic!("u{i}: unexpected answer {other}"),
        }
    }
    assert!(
        accepted.iter().all(|n| *n <= 1),
        "no code accepted twice: {accepted:?}"
    );
    // What the database committed agrees: at most one accepted validation per user.
    let mut db = sql(s.schema.url());
    let rows = db
        .query(
            "SELECT actor_id, COUNT(*) FROM audit WHERE action = 'login' AND outcome = 'ok' GROUP BY actor_id HAVING COUNT(*) > 1",
            &[],
        )
        .unwrap();
    assert!(rows.is_empty(), "a code accepted twice in the audit log");
    // The other node keeps serving: every user's code is now accepted or already used there.
    for (i, seen) in accepted.iter().enumerate() {
        let body = format!(
            r#"{{"customer":"K{i}","login":"u{i}","code":"{}"}}"#,
            code(&user_serial(i), now)
        );
        let o = outcome(&post(addrs[0], "/v1/validate", &body));
        assert!(
            matches!(o.as_str(), "accepted" | "replayed_code"),
            "u{i}: {o}"
        );
        if o == "accepted" {
            assert_eq!(*seen, 0, "u{i}: accepted twice");
        }
    }
    // No half-done registration: every active token is bound to exactly one user of its customer.
    let broken: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM tokens t WHERE t.status = 'active' AND \
             (SELECT COUNT(*) FROM users u WHERE u.serial = t.serial) <> 1",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(broken, 0);
}

#[test]
fn metrics_scraped_from_both_nodes_under_load_add_up_to_the_validations_sent() {
    const USERS: usize = 30;
    let Some(s) = setup(USERS) else { return };
    let now = t0() + Duration::seconds(60);
    let metrics = ["--metrics-listen", "127.0.0.1:0"];
    let nodes = [
        start_node_with(s.schema.url(), &s.key, now, &metrics),
        start_node_with(s.schema.url(), &s.key, now, &metrics),
    ];
    let addrs = [nodes[0].addr, nodes[1].addr];
    let scrapes = [nodes[0].metrics.unwrap(), nodes[1].metrics.unwrap()];
    assert!(!addrs.contains(&scrapes[0]) && !addrs.contains(&scrapes[1]));

    // A scraper polls both nodes all through the load, as Prometheus would.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    let scraper = std::thread::spawn(move || {
        let (mut ok, mut last) = (0usize, [0u64; 2]);
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            for (n, m) in scrapes.iter().enumerate() {
                let text = scrape(*m).expect("a node's metrics answer during the load");
                let seen: u64 = text
                    .lines()
                    .filter(|l| l.starts_with("tokenline_validations_total{"))
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                    .map(|v| v as u64)
                    .sum();
                assert!(seen >= last[n], "node {n}: counters went down");
                last[n] = seen;
                ok += 1;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        ok
    });

    // Each user's code three times (once accepted, then replays), a wrong code for every
    // third user, spread over 6 client threads and both nodes; u0 is then locked out.
    let results = race(6, move |th| {
        let node = th % 2;
        (0..USERS)
            .filter(|i| i % 6 == th)
            .flat_map(|i| {
                let right = code(&user_serial(i), now);
                let mut bodies = vec![right.clone(), right.clone(), right];
                if i % 3 == 0 {
                    bodies.push("000000".into());
                }
                bodies
                    .into_iter()
                    .enumerate()
                    .map(move |(k, c)| (i, (node + k) % 2, c))
                    .collect::<Vec<_>>()
            })
            .map(|(i, node, c)| {
                let body = format!(r#"{{"customer":"K{i}","login":"u{i}","code":"{c}"}}"#);
                (node, outcome(&post(addrs[node], "/v1/validate", &body)))
            })
            .collect::<Vec<_>>()
    });
    let mut sent: Vec<(usize, String)> = results.into_iter().flatten().collect();
    let max = Policy::default().validation.max_failures as usize;
    for k in 0..max + 1 {
        let body = format!(
            r#"{{"customer":"K1","login":"u1","code":"{:06}"}}"#,
            111_111 + k
        );
        sent.push((k % 2, outcome(&post(addrs[k % 2], "/v1/validate", &body))));
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let scraped_during_load = scraper.join().unwrap();
    assert!(
        scraped_during_load >= 2,
        "both nodes scraped during the load"
    );

    // What the client saw, by node and result.
    let count = |node: usize, result: &str| {
        sent.iter()
            .filter(|(n, o)| *n == node && o == result)
            .count() as u64
    };
    let texts: Vec<String> = scrapes.iter().map(|m| scrape(*m).unwrap()).collect();
    let mut total = std::collections::BTreeMap::<String, u64>::new();
    for (node, text) in texts.iter().enumerate() {
        for result in ["accepted", "replayed_code", "wrong_code", "locked"] {
            let metric = series(
                text,
                &format!(r#"tokenline_validations_total{{result="{result}"}}"#),
            );
            assert_eq!(
                metric,
                count(node, result),
                "node {node}: {result} in the metrics vs the answers it gave"
            );
            *total.entry(result.to_owned()).or_default() += metric;
        }
        let all: u64 = text
            .lines()
            .filter(|l| l.starts_with("tokenline_validations_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map(|v| v as u64)
            .sum();
        assert_eq!(
            all,
            sent.iter().filter(|(n, _)| *n == node).count() as u64,
            "node {node}: accepted + refusals by reason = the validations it was sent"
        );
        assert!(
            series(text, r#"tokenline_db_connections{state="open"}"#) >= 1,
            "{text}"
        );
        assert_eq!(
            series(text, "tokenline_db_connections_max"),
            16,
            "two pools of 8"
        );
        assert_eq!(series(text, "tokenline_db_up"), 1, "{text}");
    }
    // Both nodes together: every user accepted once, every replay and wrong code counted,
    // and u1's failures from both nodes made one lockout.
    assert_eq!(total["accepted"], USERS as u64, "{total:?}");
    assert_eq!(total["replayed_code"], 2 * USERS as u64, "{total:?}");
    assert_eq!(total["wrong_code"], (USERS / 3 + max) as u64, "{total:?}");
    assert_eq!(total["locked"], 1, "{total:?}");
    let lockouts: u64 = texts
        .iter()
        .map(|t| series(t, r#"tokenline_lockouts_total{route="/v1/validate"}"#))
        .sum();
    assert_eq!(
        lockouts, 1,
        "failures from both nodes add up to one lockout"
    );
    let latencies: u64 = texts
        .iter()
        .map(|t| {
            series(
                t,
                r#"tokenline_http_request_duration_seconds_count{route="/v1/validate"}"#,
            )
        })
        .sum();
    assert_eq!(
        latencies,
        sent.len() as u64,
        "one latency observation per validation"
    );
}
