//! Validation benchmark on PostgreSQL through real `tokenline bank serve` processes (issue #16):
//! N nodes (1 or 2) on one database in its own schema of the server named by
//! `TOKENLINE_TEST_PG_URL`, C loopback clients with keep-alive connections spread over the
//! nodes, each logging in its own HOTP users with their next code (replay state committed on
//! every request). Bounded: stops after R requests in total or D seconds, whichever first.
//!
//! `pg_nodes_bench TOKENLINE_BINARY [nodes] [users] [clients] [requests] [seconds]`
//! (`scripts/bench bank` runs it). Prints markdown rows `| bench | figure | unit | note |`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bank_http::load::{arg, populate, run, Load, Target};
use chrono::Utc;
use lifecycle::*;
use lifecycle_postgres::testing::TestSchema;
use lifecycle_postgres::{Environment, MasterKey, PgStore};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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
    let api_key = populate(
        &Bank::new(
            PgStore::create(schema.url(), &key, Environment::Staging).unwrap(),
            Policy::default(),
        ),
        users,
        Utc::now(),
    );
    let running: Vec<Node> = (0..nodes)
        .map(|_| start_node(&bin, schema.url(), &key_path))
        .collect();
    let targets: Vec<Target> = running
        .iter()
        .map(|n| Target {
            addr: n.1,
            tls: None,
        })
        .collect();
    let out = run(
        &Load {
            users,
            connections: clients,
            max_requests,
            max_duration: Duration::from_secs(max_secs),
            key: api_key,
        },
        &targets,
    );
    drop(running);
    let what = format!(
        "bank validate via HTTP, PostgreSQL, {nodes} node{}",
        if nodes == 1 { "" } else { "s" }
    );
    let note = format!(
        "{} requests, {clients} keep-alive connections (one client thread, requests pre-built), 4 workers per node, {users} HOTP users, {} refused, {} failed, one writer lock, 127.0.0.1",
        out.latencies.len(),
        out.refused,
        out.failed
    );
    out.print_rows(&what, &note);
}
