//! A `tokenline bank serve` whose log the test reads, and a plain HTTP/1.1 client over one
//! TCP connection per request (what a browser or a script sends, nothing in between).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_tokenline");

/// `tokenline --log-format json bank serve` of `db` on 127.0.0.1, port 0, at the fixed time
/// `at`, logging at INFO (the access lines).
pub fn json_serve(db: &std::path::Path, at: chrono::DateTime<chrono::Utc>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["--log-format", "json", "bank", "serve"])
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .arg("--clock")
        .arg(format!("fixed:{}", at.to_rfc3339()))
        .env("TOKENLINE_LOG", "info")
        .env_remove("TOKENLINE_BANK_DB");
    cmd
}

/// Starts `cmd` (a `bank serve` on port 0) with its standard error piped: the child, the
/// address it listens on (from its `listening on` line) and a thread that returns every line
/// of its standard error once it exits.
pub fn spawn_serve(
    mut cmd: Command,
) -> (
    std::process::Child,
    SocketAddr,
    std::thread::JoinHandle<Vec<String>>,
) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(a) = line.strip_prefix("listening on ") {
                let _ = tx.send(a.to_string());
            }
            lines.push(line);
        }
        lines
    });
    let addr: SocketAddr = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("server did not start")
        .parse()
        .unwrap();
    (child, addr, reader)
}

/// An answer: status, header lines (lower-case names), body.
pub struct Answer {
    pub status: u16,
    pub head: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `name=value` of the session cookie the answer sets, if it sets one.
    pub fn cookie(&self) -> Option<String> {
        self.header("set-cookie")
            .map(|c| c.split(';').next().unwrap_or("").to_owned())
    }

    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a form") + 19;
        self.body[at..at + 64].to_owned()
    }
}

/// Sends `method path` to `addr` with the header lines `headers` (each `Name: value`) and
/// `body` (its `Content-Length` added), `Host: 127.0.0.1`, on a new connection.
pub fn send(addr: SocketAddr, method: &str, path: &str, headers: &[&str], body: &str) -> Answer {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let head = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        head,
        body: body.to_owned(),
    }
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
