//! A `tokenline bank serve` whose log the test reads, and a plain HTTP/1.1 client over one
//! TCP connection per request (what a browser or a script sends, nothing in between).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

#[path = "../../../bank-web/tests/it/support/http1.rs"]
mod http1;
pub use http1::{send, Answer};

pub const BIN: &str = env!("CARGO_BIN_EXE_tokenline");

/// `tokenline bank serve` of `db` (a file or a PostgreSQL URL) on 127.0.0.1, port 0, at the
/// fixed time `at`, not reading `TOKENLINE_BANK_DB`.
pub fn serve_cmd(db: impl AsRef<std::ffi::OsStr>, at: chrono::DateTime<chrono::Utc>) -> Command {
    let mut cmd = Command::new(BIN);
    serve_args(&mut cmd, db.as_ref(), at);
    cmd
}

/// `tokenline --log-format json bank serve` of `db` on 127.0.0.1, port 0, at the fixed time
/// `at`, logging at INFO (the access lines).
pub fn json_serve(db: &std::path::Path, at: chrono::DateTime<chrono::Utc>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["--log-format", "json"])
        .env("TOKENLINE_LOG", "info");
    serve_args(&mut cmd, db.as_ref(), at);
    cmd
}

fn serve_args(cmd: &mut Command, db: &std::ffi::OsStr, at: chrono::DateTime<chrono::Utc>) {
    cmd.args(["bank", "serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .arg("--clock")
        .arg(format!("fixed:{}", at.to_rfc3339()))
        .env_remove("TOKENLINE_BANK_DB");
}

/// A started `bank serve`: the child (not killed on drop: the caller decides), the address
/// it listens on, the lines of its standard error before its `listening on` line (e.g.
/// `metrics on ADDR`), and a thread that returns every line of its standard error once it
/// exits.
pub struct Serving {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    pub head: Vec<String>,
    pub log: std::thread::JoinHandle<Vec<String>>,
}

/// Starts `cmd` (a `bank serve` on port 0) with its standard error piped and waits (30 s at
/// most) for its `listening on ADDR` line. Panics with what it wrote when it exits first.
/// The one way the tests start a server and learn its address (issue #10 review D7/D9/D10).
pub fn spawn_serve(mut cmd: Command) -> Serving {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut started = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(a) = listening_on(&line) {
                if let Some(tx) = started.take() {
                    let _ = tx.send(Ok((a, lines.clone())));
                }
            }
            lines.push(line);
        }
        if let Some(tx) = started {
            let _ = tx.send(Err(lines.clone()));
        }
        lines
    });
    match rx.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(Ok((addr, head))) => Serving {
            child,
            addr: addr.parse().unwrap(),
            head,
            log,
        },
        Ok(Err(lines)) => panic!("bank serve exited before listening: {}", lines.join("\n")),
        Err(_) => {
            let _ = child.kill();
            panic!("bank serve did not say `listening on` within 30 s")
        }
    }
}

/// The address of `bank serve`'s readiness line: `listening on ADDR`, or with
/// `--log-format json` the JSON line's `listening` field.
pub fn listening_on(line: &str) -> Option<String> {
    if let Some(a) = line.strip_prefix("listening on ") {
        return Some(a.trim().to_owned());
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(v["listening"].as_str()?.to_owned())
}

/// A form POST of `form` to `path` with the session `cookie`.
pub fn post_form(addr: SocketAddr, path: &str, cookie: &str, form: &str) -> Answer {
    send(
        addr,
        "POST",
        path,
        &[
            &format!("Cookie: {cookie}"),
            "Content-Type: application/x-www-form-urlencoded",
        ],
        form,
    )
}
