//! Validation benchmark through the HTTPS API (issue #10): an in-process server (TLS by
//! rustls, W runtime threads, logins group-committed to SQLite with synchronous=FULL: every
//! answer is durable, fsynced, before it is sent) and C loopback TLS clients with keep-alive
//! connections, each logging in its own HOTP users with their next code. Bounded: stops
//! after R requests in total or D seconds, whichever first.
//!
//! `cargo run --release -p bank-http --example http_bench -- [users] [clients] [workers] [requests] [seconds]`
//! Prints markdown rows `| bench | figure | unit | note |`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, Utc};
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn arg(i: usize, d: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(d)
}

fn hotp_params() -> otp_core::Params {
    otp_core::Params {
        hash: otp_core::Hash::Sha1,
        digits: 6,
        mode: otp_core::Mode::Hotp { counter: 0 },
    }
}

fn seed(i: u64) -> Vec<u8> {
    format!("bench-seed-{i:09}").into_bytes()
}

fn code(i: u64, counter: u64) -> String {
    format!(
        "{:06}",
        otp_core::hotp(otp_core::Hash::Sha1, &seed(i), counter, 6).unwrap()
    )
}

static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn post(conn: &mut BufReader<Tls>, body: &str) -> u16 {
    let key = KEY.get().map(String::as_str).unwrap_or("");
    write!(conn.get_mut(), "POST /v1/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut status = String::new();
    conn.read_line(&mut status).unwrap();
    let code: u16 = status.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        conn.read_line(&mut h).unwrap();
        if h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut b = vec![0u8; len];
    conn.read_exact(&mut b).unwrap();
    code
}

fn main() {
    let users = arg(1, 2000);
    let clients = arg(2, 4);
    let workers = arg(3, 4) as usize;
    let max_requests = arg(4, 20_000);
    let max_secs = arg(5, 20);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let key_path = dir.path().join("bank.key");
    let key = MasterKey::create(&key_path).unwrap();
    let mut policy = Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    };
    policy.validation.hotp_look_ahead = 3;
    {
        let bank = Bank::new(
            SqliteStore::create(&db, &key, Environment::Staging).unwrap(),
            policy.clone(),
        );
        let exp = NaiveDate::from_ymd_opt(2031, 1, 31).unwrap();
        let toks: Vec<NewToken> = (0..users)
            .map(|i| NewToken {
                serial: SerialNumber::parse(&format!("{:010}", 2_000_000_000 + i)).unwrap(),
                seed: Seed::new(seed(i)),
                params: hotp_params(),
                expiry: exp,
                batch: "B".into(),
                drift: 0,
            })
            .collect();
        let now = Utc::now();
        let root = Caller::Local("bench".into());
        let (k, _) = bank
            .add_client(
                &root,
                &ClientName::parse("bench").unwrap(),
                &[Scope::Login],
                now,
            )
            .unwrap();
        KEY.set(k.expose().to_owned()).unwrap();
        bank.import_tokens(&root, "sha256:bench", "bench", &toks, now)
            .unwrap();
        bank.add_customer(
            &root,
            NewCustomer {
                id: CustomerId::parse("C").unwrap(),
                name: "C".into(),
                mode: UsageMode::Individual,
                secret: None,
            },
            now,
        )
        .unwrap();
        for i in 0..users {
            let login = LoginId::parse(&format!("u{i}")).unwrap();
            bank.add_user(
                &root,
                NewUser {
                    login: login.clone(),
                    customer: CustomerId::parse("C").unwrap(),
                    name: "u".into(),
                    class: UserClass::General,
                    needs_otp: true,
                    secret: None,
                },
                now,
            )
            .unwrap();
            bank.register(&root, &login, &toks[i as usize].serial, &code(i, 0), now)
                .unwrap();
        }
    }
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_pem_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, ck.cert.pem()).unwrap();
    std::fs::write(&key_pem_path, ck.signing_key.serialize_pem()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let client_cfg = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let kp = key_path.clone();
    let dbp = db.clone();
    let pol = policy.clone();
    let server = bank_http::serve(
        bank_http::ServeConfig {
            workers,
            tls: Some(bank_http::Tls {
                cert: cert_path.clone(),
                key: key_pem_path.clone(),
            }),
            ..bank_http::ServeConfig::loopback("127.0.0.1:0")
        },
        move || {
            Ok(Bank::new(
                SqliteStore::open(&dbp, &MasterKey::load(&kp).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?,
                pol.clone(),
            ))
        },
        Arc::new(Utc::now),
    )
    .unwrap();
    let addr = server.addr();
    let per_client = max_requests / clients;
    let deadline = Instant::now() + Duration::from_secs(max_secs);
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let client_cfg = client_cfg.clone();
            std::thread::spawn(move || {
                let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                s.set_nodelay(true).unwrap();
                let tls =
                    rustls::ClientConnection::new(client_cfg, "localhost".try_into().unwrap())
                        .unwrap();
                let mut conn = BufReader::new(rustls::StreamOwned::new(tls, s));
                let mine: Vec<u64> = (0..users).filter(|u| u % clients == c).collect();
                let mut counters = vec![1u64; mine.len()];
                let mut lat = Vec::new();
                let mut failed = 0u64;
                for k in 0..per_client as usize {
                    if Instant::now() > deadline {
                        break;
                    }
                    let j = k % mine.len();
                    let body = format!(
                        r#"{{"login":"u{}","code":"{}"}}"#,
                        mine[j],
                        code(mine[j], counters[j])
                    );
                    counters[j] += 1;
                    let t = Instant::now();
                    if post(&mut conn, &body) != 200 {
                        failed += 1;
                    }
                    lat.push(t.elapsed());
                }
                (lat, failed)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut failed = 0;
    for h in handles {
        let (l, f) = h.join().unwrap();
        lat.extend(l);
        failed += f;
    }
    let secs = start.elapsed().as_secs_f64();
    server.stop();
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    let note = format!("{} requests over TLS 1.3, {clients} keep-alive clients, {workers} runtime threads, {users} HOTP users, {failed} refused; SQLite WAL synchronous=FULL, group commit (goal 20,000/s, p99 < 10 ms)", lat.len());
    println!(
        "| bank validate via HTTPS | {:.0} | validations/s | {note} |",
        lat.len() as f64 / secs
    );
    println!("| bank validate via HTTPS p50 | {:.2} | ms | |", pct(0.50));
    println!("| bank validate via HTTPS p99 | {:.2} | ms | |", pct(0.99));
}
