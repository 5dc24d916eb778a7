//! The bank's JSON API over HTTP/1.1 (`spec/bank-api.openapi.yaml`): parse the request,
//! call one [`lifecycle::Bank`] use case, map the result. Errors are
//! `{"code": "<stable code>", "message": "<what to do>"}` with an HTTP status.
//!
//! The server is synchronous (tiny_http): a fixed number of worker threads, each with its own
//! [`Bank`] (so its own database connection), all receiving from one listening socket. The
//! clock is read here, at the edge, through the caller's [`Clock`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod routes;

pub use routes::{handle, Reply};

use chrono::{DateTime, Utc};
use lifecycle::{Bank, Store};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// Reads the current time (the real clock, or a staging clock).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Starting the server failed.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for StartError {}

/// A running server.
pub struct Running {
    server: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
    addr: SocketAddr,
}

impl Running {
    /// The address it listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets the workers finish their request, and joins them.
    pub fn stop(self) {
        for _ in &self.workers {
            self.server.unblock();
        }
        for w in self.workers {
            let _ = w.join();
        }
    }

    /// Blocks until every worker has stopped (they stop only on [`Running::stop`] or a
    /// socket error).
    pub fn wait(self) {
        for w in self.workers {
            let _ = w.join();
        }
    }
}

/// Listens on `addr` and serves with `workers` threads; `make_bank` is called once per worker.
pub fn serve<S, F>(
    addr: &str,
    workers: usize,
    make_bank: F,
    clock: Clock,
) -> Result<Running, StartError>
where
    S: Store + Send + 'static,
    F: Fn() -> Result<Bank<S>, String>,
{
    let server = tiny_http::Server::http(addr)
        .map_err(|e| StartError(format!("cannot listen on {addr}: {e}")))?;
    let local = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| StartError(format!("{addr} is not an IP address")))?;
    let server = Arc::new(server);
    let mut handles = Vec::new();
    for i in 0..workers.max(1) {
        let bank = make_bank().map_err(StartError)?;
        let server = server.clone();
        let clock = clock.clone();
        let h = std::thread::Builder::new()
            .name(format!("bank-http-{i}"))
            .spawn(move || worker(&server, &bank, &clock))
            .map_err(|e| StartError(format!("cannot start a worker thread: {e}")))?;
        handles.push(h);
    }
    Ok(Running {
        server,
        workers: handles,
        addr: local,
    })
}

fn worker<S: Store>(server: &tiny_http::Server, bank: &Bank<S>, clock: &Clock) {
    loop {
        let mut req = match server.recv() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("bank-http: accept failed: {e}");
                return;
            }
        };
        let now = clock();
        let caller = identify(bank, &req, now);
        let reply = read_body(&mut req).map_or_else(
            |r| r,
            |body| {
                let (path, query) = split_url(req.url());
                routes::handle(
                    bank,
                    caller.as_ref(),
                    req.method().as_str(),
                    &path,
                    &query,
                    &body,
                    now,
                )
            },
        );
        let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]);
        let mut resp =
            tiny_http::Response::from_string(reply.body.to_string()).with_status_code(reply.status);
        if let Ok(h) = header {
            resp = resp.with_header(h);
        }
        if let Err(e) = req.respond(resp) {
            tracing::debug!("bank-http: client went away: {e}");
        }
    }
}

/// The caller a request's credentials stand for: `Authorization: Bearer <API key>`, and on
/// top of it `X-Operator-Session: <session token>` for back-office calls. `None` when the key
/// is missing, unknown or revoked.
fn identify<S: Store>(
    bank: &Bank<S>,
    req: &tiny_http::Request,
    now: DateTime<Utc>,
) -> Option<lifecycle::Caller> {
    let header = |name: &'static str| {
        req.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().trim().to_owned())
    };
    let key = header("Authorization")?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .map(str::to_owned)?;
    let client = bank.authenticate(&key).ok()?;
    match header("X-Operator-Session") {
        Some(s) => bank
            .operator_session(&client, &s, now)
            .ok()
            .or(Some(client)),
        None => Some(client),
    }
}

fn read_body(req: &mut tiny_http::Request) -> Result<Vec<u8>, Reply> {
    use std::io::Read;
    if req.body_length().is_some_and(|n| n > MAX_BODY) {
        return Err(Reply::error(
            413,
            "body_too_large",
            format!("request bodies are limited to {MAX_BODY} bytes"),
        ));
    }
    let mut body = Vec::new();
    req.as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| Reply::error(400, "bad_request", format!("cannot read the body: {e}")))?;
    if body.len() > MAX_BODY {
        return Err(Reply::error(
            413,
            "body_too_large",
            format!("request bodies are limited to {MAX_BODY} bytes"),
        ));
    }
    Ok(body)
}

/// Splits `/path?a=1&b=2` into the path and decoded query pairs.
fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let (path, q) = url.split_once('?').unwrap_or((url, ""));
    let pairs = q
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (percent_decode(path), pairs)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_decoded() {
        let (p, q) = split_url("/v1/customers/C1/users?filter=%E8%8A%B1%E5%AD%90&page=2");
        assert_eq!(p, "/v1/customers/C1/users");
        assert_eq!(
            q,
            vec![
                ("filter".to_string(), "花子".to_string()),
                ("page".to_string(), "2".to_string())
            ]
        );
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
