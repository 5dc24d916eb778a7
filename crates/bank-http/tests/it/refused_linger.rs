//! Lingering close is bounded for callers who are not let in (issue #10, no slow-client
//! trick): a request refused for want of a key, with a bad key or with a key lacking the
//! route's scope has at most 64 KiB of its body read and dropped, then the connection is
//! closed (`Connection: close`); only an authenticated, authorized caller gets the long
//! linger that lets a too-large upload read its 413 (`hardening.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use lifecycle::Scope;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// What the server reads of a refused request's body at most.
const REFUSED_LINGER: usize = 64 * 1024;

#[test]
fn a_refused_request_announcing_64_mib_is_drained_64_kib_at_most_then_closed() {
    let b = TestBank::new(|_| {});
    // A body deadline far beyond the client's patience: an unbounded linger would wait for
    // the announced 64 MiB until it, and the read below would give up first.
    let mut cfg = bank_http::ServeConfig::loopback("127.0.0.1:0");
    cfg.limits.body_timeout = Duration::from_secs(600);
    let server = b.serve(cfg);
    let login_key = b.key(Scope::Login).to_owned();
    for (why, auth) in [
        ("no key", String::new()),
        (
            "a bad key",
            "Authorization: Bearer tlk_not-a-key\r\n".to_owned(),
        ),
        (
            "a key without the import scope",
            format!("Authorization: Bearer {login_key}\r\n"),
        ),
    ] {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(
            format!(
                "POST /v1/imports HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\
                 Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
                64 * 1024 * 1024
            )
            .as_bytes(),
        )
        .unwrap();
        // Exactly the bound, then nothing: the server stops reading there and answers.
        s.write_all(&vec![0u8; REFUSED_LINGER]).unwrap();
        let mut out = Vec::new();
        let read = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).to_lowercase();
        assert!(
            read.is_ok(),
            "{why}: the server must answer and close after 64 KiB, not wait for 64 MiB \
             ({read:?}, got {text:?})"
        );
        let status = text.split(' ').nth(1).unwrap_or("");
        assert!(
            status == "401" || status == "403",
            "{why}: refused, got {text}"
        );
        assert!(
            text.contains("\r\nconnection: close\r\n"),
            "{why}: the connection must be closed: {text}"
        );
    }
    server.stop();
}
