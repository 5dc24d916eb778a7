//! `tokenline bank serve` for the end-to-end tests: a server on 127.0.0.1 with a staging
//! clock, API keys made with `bank client add`, and one request per connection.

use super::bank_ok;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// A running `tokenline bank serve` (killed on drop) and its address.
pub struct Server(pub std::process::Child, pub SocketAddr);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `db` at the fixed time `at`, with `--import-key` when given.
pub fn serve(db: &Path, at: DateTime<Utc>, import_key: Option<&Path>) -> Server {
    let mut cmd = super::serve_support::serve_cmd(db, at);
    if let Some(k) = import_key {
        cmd.arg("--import-key").arg(k);
    }
    let started = super::serve_support::spawn_serve(cmd);
    Server(started.child, started.addr)
}

/// One request with the API key `key` (`body`: content type and bytes); the status and the
/// JSON body (`Null` if none).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: &str,
    body: Option<(&str, &[u8])>,
) -> (u16, Value) {
    request_with(addr, method, path, key, &[], body)
}

/// [`request`] with extra header lines (`("X-Customer-Session", "…")`).
pub fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> (u16, Value) {
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let (ctype, bytes) = body.unwrap_or(("", b""));
    let ctype = if body.is_some() {
        format!(
            "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
            bytes.len()
        )
    } else {
        String::new()
    };
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n{extra}{ctype}Connection: close\r\n\r\n").unwrap();
    s.write_all(bytes).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let v = out
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, v)
}

/// A POST of `body` as `ctype`.
pub fn post(addr: SocketAddr, path: &str, key: &str, ctype: &str, body: &[u8]) -> (u16, Value) {
    request(addr, "POST", path, key, Some((ctype, body)))
}

/// A new API client `name` with `scope` (`bank client add`): its key.
pub fn client(db: &Path, name: &str, scope: &str) -> String {
    let v: Value = serde_json::from_str(
        bank_ok(db, &["client", "add", name, "--scope", scope, "--json"]).trim(),
    )
    .unwrap();
    v["key"].as_str().unwrap().to_owned()
}

/// Registers `serial` with its `code` for `login` of `customer` as an internet-banking front
/// end does (issue #10: registering needs the user's first factor): gives the user a login
/// password (`bank user set-login-password`), signs in with it through the `login` client
/// `key` (`POST /v1/login`, `next: registration`) and registers inside the session it
/// answers. The status and body of `POST /v1/register`.
pub fn register_in_session(
    db: &Path,
    addr: SocketAddr,
    key: &str,
    (customer, login): (&str, &str),
    serial: &str,
    code: &str,
) -> (u16, Value) {
    let env = "TOKENLINE_BANK_SECRET";
    bank_ok(
        db,
        &[
            "user",
            "set-login-password",
            customer,
            login,
            "--login-password-env",
            env,
        ],
    );
    let password = super::SECRET;
    let body = format!(r#"{{"customer":"{customer}","login":"{login}","password":"{password}"}}"#);
    let (st, v) = post(addr, "/v1/login", key, "application/json", body.as_bytes());
    assert_eq!((st, v["next"].as_str()), (200, Some("registration")), "{v}");
    let session = v["session"].as_str().unwrap();
    let body = format!(
        r#"{{"customer":"{customer}","login":"{login}","serial":"{serial}","code":"{code}"}}"#
    );
    request_with(
        addr,
        "POST",
        "/v1/register",
        key,
        &[("X-Customer-Session", session)],
        Some(("application/json", body.as_bytes())),
    )
}
