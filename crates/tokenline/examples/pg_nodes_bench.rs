//! Validation benchmark on PostgreSQL through real `tokenline bank serve` processes (issue #16):
//! N nodes (1 or 2) on one database in its own schema of the server named by
//! `TOKENLINE_TEST_PG_URL`, C loopback clients with keep-alive connections spread over the
//! nodes, each logging in its own HOTP users with their next code (replay state committed on
//! every request). Bounded: stops after R requests in total or D seconds, whichever first.
//!
//! `pg_nodes_bench TOKENLINE_BINARY [nodes] [users] [clients] [requests] [seconds]`
//! (`scripts/bench bank` runs it). Prints markdown rows `| bench | figure | unit | note |`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, Utc};
use lifecycle::*;
use lifecycle_postgres::testing::TestSchema;
use lifecycle_postgres::{Environment, MasterKey, PgStore};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
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

/// One keep-alive request with the API client's bearer key; the status code.
fn post(conn: &mut BufReader<TcpStream>, key: &str, body: &str) -> u16 {
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

struct Node(Child, SocketAddr);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_node(bin: &str, url: &str, key: &std::path::Path) -> Node {
    let child = Command::new(bin)
        .args([
            "bank",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "4",
            "--db",
            url,
        ])
        .arg("--key-file")
        .arg(key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Owned by a Node from here on: killed and waited for even if the start fails.
    let mut node = Node(child, SocketAddr::from(([127, 0, 0, 1], 0)));
    let mut err = BufReader::new(node.0.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "node did not start");
        if let Some(a) = line.trim().strip_prefix("listening on ") {
            node.1 = a.parse().unwrap();
            std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
            return node;
        }
    }
}

fn main() {
    let bin = std::env::args().nth(1).expect(
        "usage: pg_nodes_bench TOKENLINE_BINARY [nodes] [users] [clients] [requests] [seconds]",
    );
    let nodes = arg(2, 1).max(1) as usize;
    let users = arg(3, 1000);
    let clients = arg(4, 4);
    let max_requests = arg(5, 20_000);
    let max_secs = arg(6, 20);
    let schema = TestSchema::new().expect("TOKENLINE_TEST_PG_URL names the server");
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("bank.key");
    let key = MasterKey::create(&key_path).unwrap();
    let root = Caller::Local("bench".into());
    let api_key = {
        let bank = Bank::new(
            PgStore::create(schema.url(), &key, Environment::Staging).unwrap(),
            Policy::default(),
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
        bank.import_tokens(&root, "sha256:bench", "bench", &toks, now)
            .unwrap();
        let (api_key, _) = bank
            .add_client(
                &root,
                &ClientName::parse("bench").unwrap(),
                &[Scope::Login],
                now,
            )
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
        api_key.expose().to_owned()
    };
    let running: Vec<Node> = (0..nodes)
        .map(|_| start_node(&bin, schema.url(), &key_path))
        .collect();
    let addrs: Vec<SocketAddr> = running.iter().map(|n| n.1).collect();
    let per_client = max_requests / clients;
    let deadline = Instant::now() + Duration::from_secs(max_secs);
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let addr = addrs[c as usize % addrs.len()];
            let api_key = api_key.clone();
            std::thread::spawn(move || {
                let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                s.set_nodelay(true).unwrap();
                let mut conn = BufReader::new(s);
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
                    if post(&mut conn, &api_key, &body) != 200 {
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
    drop(running);
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    let what = format!(
        "bank validate via HTTP, PostgreSQL, {nodes} node{}",
        if nodes == 1 { "" } else { "s" }
    );
    let note = format!(
        "{} requests, {clients} clients, 4 workers per node, {users} HOTP users, {failed} refused, one writer lock, 127.0.0.1",
        lat.len()
    );
    println!(
        "| {what} | {:.0} | validations/s | {note} |",
        lat.len() as f64 / secs
    );
    println!("| {what} p50 | {:.2} | ms | |", pct(0.50));
    println!("| {what} p99 | {:.2} | ms | |", pct(0.99));
}
