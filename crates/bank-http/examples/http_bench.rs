//! Validation benchmark through the HTTPS API (issue #10): an in-process server (TLS by
//! rustls, W runtime threads, logins group-committed to SQLite, the write-ahead log synced
//! by the committer's syncer thread: every answer is durable, fdatasynced, before it is
//! sent) and C loopback TLS keep-alive connections ([`bank_http::load`]: HTTP/1.1 written by
//! hand, answers parsed by httparse, one thread), each logging in its own HOTP users with their
//! next code. Bounded: stops after R requests in total or D seconds, whichever first.
//!
//! `cargo run --profile production -p bank-http --features load-client --example http_bench -- [users] [clients] [workers] [requests] [seconds]`
//! (workers: runtime threads, default [`bank_http::default_workers`], as `bank serve`)
//!
//! With `HTTP_BENCH_ACCESS_LOG=FILE` the server writes its access log (one line per request,
//! target `bank_http::access`) to FILE through the same `tracing_subscriber` fmt layer and
//! default filter as `tokenline bank serve` (which writes it to stderr), so the figure includes
//! what a production server pays for it.
//! With `HTTP_BENCH_IMPORT=customers:N` (or `tokens:N`) a thread imports, one second into
//! the load, a customer file of N users (or a seed batch of N tokens) through its own
//! connection, the use case `POST /v1/customer-imports` (`POST /v1/imports`) runs: the rows
//! then say how long the import took and the slowest validation meanwhile (issue #10: a
//! large import holds SQLite's only writer).
//! With `HTTP_BENCH_SIGNIN_FLOOD=N` the server serves the web pages too, and N keep-alive
//! connections on a client thread of their own send refused sign-ins with made-up names
//! back to back for the whole load, in turn `POST /v1/login` (API, the `login` key),
//! `POST /login` (customer page) and `POST /backoffice/login` (operator page)
//! ([`bank_http::load::sign_in_flood`]): the rows then give the validations' p50, p99 and
//! maximum beside the sign-ins answered (issue #10: each refused sign-in writes an audit
//! entry, and the validations' group committer must not wait behind them). The server's
//! policy then hashes at the production cost (Argon2id m = 19 MiB, t = 2).
//! Prints markdown rows `| bench | figure | unit | note |`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bank_http::load::{arg, populate, run, sign_in_flood, Load, Target};
use chrono::Utc;
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use std::sync::Arc;
use std::time::Duration;

/// The allocator `tokenline bank serve` runs with (the tokenline binary sets the same).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let users = arg(1, 2000);
    let clients = arg(2, 4);
    let workers = arg(3, bank_http::default_workers() as u64) as usize;
    let max_requests = arg(4, 20_000);
    let max_secs = arg(5, 20);
    let access_log = std::env::var_os("HTTP_BENCH_ACCESS_LOG").inspect(|path| {
        let file = std::fs::File::create(path).unwrap();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "warn,bank_http::access=info",
            ))
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init();
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let key_path = dir.path().join("bank.key");
    let key = MasterKey::create(&key_path).unwrap();
    let mut policy = Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    };
    policy.validation.hotp_look_ahead = 3;
    let api_key = populate(
        &Bank::new(
            SqliteStore::create(&db, &key, Environment::Staging).unwrap(),
            policy.clone(),
        ),
        users,
        Utc::now(),
    );
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
    let flood: Option<u64> = std::env::var("HTTP_BENCH_SIGNIN_FLOOD")
        .ok()
        .map(|n| n.parse().expect("HTTP_BENCH_SIGNIN_FLOOD=N connections"));
    if flood.is_some() {
        // Sign-ins hash at the production cost (Argon2id m = 19 MiB, t = 2), as a bank's do.
        policy.secrets = SecretPolicy::default();
    }
    let kp = key_path.clone();
    let dbp = db.clone();
    let pol = policy.clone();
    let pages = flood.map(|_| {
        bank_web::router(
            Bank::new(
                SqliteStore::open(&db, &MasterKey::load(&key_path).unwrap()).unwrap(),
                policy.clone(),
            ),
            Arc::new(Utc::now),
        )
    });
    let server = bank_http::serve(
        bank_http::ServeConfig {
            workers,
            tls: Some(bank_http::Tls {
                cert: cert_path.clone(),
                key: key_pem_path.clone(),
            }),
            pages,
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
    let import = std::env::var("HTTP_BENCH_IMPORT").ok().map(|spec| {
        let (db, kp, pol) = (db.clone(), key_path.clone(), policy.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(1));
            let bank = Bank::new(
                SqliteStore::open(&db, &MasterKey::load(&kp).unwrap()).unwrap(),
                pol,
            );
            bank_http::load::timed_import(&bank, &spec)
        })
    });
    let target = Target {
        addr: server.addr(),
        tls: Some((client_cfg, "localhost".try_into().unwrap())),
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooding = flood.map(|n| sign_in_flood(target.clone(), api_key.clone(), n, stop.clone()));
    let out = run(
        &Load {
            users,
            connections: clients,
            max_requests,
            max_duration: Duration::from_secs(max_secs),
            key: api_key,
        },
        &[target],
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let flooded = flooding.map(|t| t.join().unwrap());
    server.stop();
    if let (Some(n), Some(f)) = (flood, flooded) {
        // The sign-ins that reached the use case (each refusal is audited), not only the edge.
        let audited = |action: &str| {
            Bank::new(
                SqliteStore::open(&db, &MasterKey::load(&key_path).unwrap()).unwrap(),
                policy.clone(),
            )
            .audit(
                &Caller::Local("bench".into()),
                &AuditQuery {
                    action: Some(action.into()),
                    ..AuditQuery::default()
                },
                Utc::now(),
            )
            .unwrap()
            .len()
        };
        let audited = audited("login_password") + audited("operator_session");
        let what = format!("bank validate via HTTPS, {n} connections flooding sign-ins");
        let secs = out.elapsed.as_secs_f64().max(1e-9);
        println!("| {what} | {:.0} | validations/s | {} validations; meanwhile {} refused sign-ins ({:.0}/s; {} answered busy; {audited} audited) with made-up names, in turn POST /v1/login, /login, /backoffice/login |", out.per_second(), out.latencies.len(), f.refused, f.answered as f64 / secs, f.busy);
        println!("| {what} p50 | {:.2} | ms | |", out.percentile_ms(0.50));
        println!("| {what} p99 | {:.2} | ms | |", out.percentile_ms(0.99));
        println!(
            "| {what} max | {:.2} | ms | the slowest validation |",
            out.percentile_ms(1.0)
        );
        return;
    }
    if let Some(t) = import {
        let (what, took) = t.join().unwrap();
        println!("| bank import during the load: {what} | {:.0} | ms | one transaction, SQLite's only writer held meanwhile |", took.as_secs_f64() * 1000.0);
        println!("| bank validate via HTTPS max, import running | {:.2} | ms | the slowest validation of the load |", out.percentile_ms(1.0));
    }
    let note = format!("{} requests over TLS 1.3, {clients} keep-alive connections (one client thread, requests pre-built), {workers} runtime threads, {users} HOTP users, {} refused, {} failed, {} µs CPU (client and server) per validation (by thread: {}); SQLite WAL, group commit, each answer after its group's fdatasync; access log {} (goal 20,000/s, p99 < 10 ms)", out.latencies.len(), out.refused, out.failed, out.cpu_us_per_request().map_or("?".into(), |c| format!("{c:.0}")), out.cpu_us_by_thread(), if access_log.is_some() { "written to a file as `bank serve` writes it to stderr" } else { "off" });
    out.print_rows("bank validate via HTTPS", &note);
}
