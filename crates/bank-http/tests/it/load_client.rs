//! The benchmarks' load client (`bank_http::load`, feature `load-client`: the workspace's test
//! run has it through `tokenline`'s dev-dependency) against a real server over TLS: the
//! figures `scripts/bench bank` reports are counted by it, so it must count what the server
//! answered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{self_signed_tls, TestBank};
use bank_http::load::{populate, run, Load, Target};
use std::time::Duration;

/// Users `u0…u7` with their next HOTP codes over 3 connections: every code is answered 200
/// and counted once; the same codes sent again (a second run starts from counter 1 again)
/// are answered as replays, each counted as refused, none as failed.
#[test]
fn the_load_client_counts_accepted_codes_and_refused_replays() {
    let b = TestBank::new(|p| p.validation.hotp_look_ahead = 3);
    let key = populate(&b.bank(), 8, b.now());
    let dir = tempfile::tempdir().unwrap();
    let (tls_files, client) = self_signed_tls(dir.path());
    let server = b.serve(bank_http::ServeConfig {
        tls: Some(tls_files),
        ..bank_http::ServeConfig::loopback("127.0.0.1:0")
    });
    let target = Target {
        addr: server.addr(),
        tls: Some((client, "localhost".try_into().unwrap())),
    };
    let load = Load {
        users: 8,
        connections: 3,
        max_requests: 24,
        max_duration: Duration::from_secs(60),
        key,
    };
    // 24 / 3 = 8 requests per connection, each connection cycling through its own users.
    let first = run(&load, std::slice::from_ref(&target));
    assert_eq!(
        (first.latencies.len(), first.refused, first.failed),
        (24, 0, 0)
    );
    let again = run(&load, &[target]);
    assert_eq!(
        (again.latencies.len(), again.refused, again.failed),
        (24, 24, 0),
        "every code was used by the first run"
    );
    server.stop();
}
