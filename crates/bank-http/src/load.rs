//! The load client of the validation benchmarks (`http_bench` of this crate, `pg_nodes_bench`
//! of `tokenline`; feature `load-client`, never in the server): a bank populated with HOTP
//! users ([`populate`]) and C keep-alive connections ([`run`]), each logging in its own users
//! with their next code, in HTTP/1.1 written by hand and answers parsed by `httparse`
//! ([`run`]'s connections; the sign-in flood uses hyper's client), over one current-thread
//! tokio runtime (one thread, no per-connection threads: the client shares the machine with
//! the server, so it must cost little).
//!
//! Users are split among connections (`user % connections`), so one user's codes are sent in
//! order and each is accepted once. Bounded: stops after `max_requests` in total or
//! `max_duration`, whichever first.

use chrono::{DateTime, NaiveDate, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use lifecycle::{
    Bank, Caller, ClientName, CustomerId, LoginId, NewCustomer, NewToken, NewUser, Scope, Seed,
    SerialNumber, Store, UsageMode, UserClass,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};

/// Command-line argument `i` as a number, `default` when absent or not a number.
pub fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// The benchmark tokens' parameters: HOTP (RFC 4226), SHA-1, 6 digits.
pub fn hotp_params() -> otp_core::Params {
    otp_core::Params {
        hash: otp_core::Hash::Sha1,
        digits: 6,
        mode: otp_core::Mode::Hotp { counter: 0 },
    }
}

/// The seed of benchmark user `i` (a test value, never a real seed).
pub fn seed(i: u64) -> Vec<u8> {
    format!("bench-seed-{i:09}").into_bytes()
}

/// User `i`'s HOTP code at `counter` (RFC 4226 §5.3), six digits.
pub fn code(i: u64, counter: u64) -> String {
    let c = otp_core::hotp(otp_core::Hash::Sha1, &seed(i), counter, 6).unwrap_or(0);
    format!("{c:06}")
}

/// Fills an empty bank: `users` HOTP tokens (serials 2000000000…), customer `C`, users
/// `u0`…`u{users-1}` each registered with its token (counter 0 used, so the next code is
/// counter 1), and an API client `bench` with scope `login`. Returns the client's bearer key.
/// Panics on a store error (a benchmark's setup).
pub fn populate<S: Store>(bank: &Bank<S>, users: u64, now: DateTime<Utc>) -> String {
    let root = Caller::Local("bench".into());
    let exp = NaiveDate::from_ymd_opt(2031, 1, 31).expect("a date");
    let toks: Vec<NewToken> = (0..users)
        .map(|i| NewToken {
            serial: SerialNumber::parse(&format!("{:010}", 2_000_000_000 + i)).expect("serial"),
            seed: Seed::new(seed(i)),
            params: hotp_params(),
            expiry: exp,
            batch: "B".into(),
            drift: 0,
        })
        .collect();
    let (key, _) = bank
        .add_client(
            &root,
            &ClientName::parse("bench").expect("name"),
            &[Scope::Login],
            now,
        )
        .expect("API client");
    bank.import_tokens(&root, "sha256:bench", "bench", &toks, now)
        .expect("import");
    let customer = CustomerId::parse("C").expect("customer");
    bank.add_customer(
        &root,
        NewCustomer {
            id: customer.clone(),
            name: "C".into(),
            mode: UsageMode::Individual,
            secret: None,
        },
        now,
    )
    .expect("customer");
    for (i, tok) in toks.iter().enumerate() {
        let login = LoginId::parse(&format!("u{i}")).expect("login");
        bank.add_user(
            &root,
            NewUser {
                login: login.clone(),
                customer: customer.clone(),
                name: "u".into(),
                class: UserClass::General,
                needs_otp: true,
                secret: None,
            },
            now,
        )
        .expect("user");
        let user = lifecycle::UserRef::new(customer.clone(), login);
        bank.register(&root, &user, &tok.serial, &code(i as u64, 0), now)
            .expect("registration");
    }
    key.expose().to_owned()
}

/// Runs the import `spec` on `bank` and times it (the stall probe of `http_bench`):
/// `customers:N` imports a customer file of N users (customers of 5 users, OTP needed, no
/// token yet) through [`lifecycle::customer_import::import_customer_file`], `tokens:N` a seed
/// batch of N HOTP tokens into stock through [`Bank::import_tokens`], both as the CLI.
/// Returns what was imported and how long it took. Panics on a bad spec or a refusal (a
/// benchmark's setup).
pub fn timed_import<S: Store>(bank: &Bank<S>, spec: &str) -> (String, std::time::Duration) {
    let root = Caller::Local("bench".into());
    let (kind, n) = spec
        .split_once(':')
        .expect("HTTP_BENCH_IMPORT=customers:N or tokens:N");
    let n: u64 = n.parse().expect("a number of rows");
    let now = Utc::now();
    let start;
    match kind {
        "customers" => {
            let mut csv = String::from(
                "customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry\n",
            );
            for i in 0..n {
                let (c, class) = (i / 5, if i % 5 == 0 { "master" } else { "general" });
                csv.push_str(&format!(
                    "IMP{c:07},株式会社インポート{c},individual,imp{i}u,利用者{i},{class},true,,\n"
                ));
            }
            start = Instant::now();
            lifecycle::customer_import::import_customer_file(
                bank,
                &root,
                csv.as_bytes(),
                now,
                None,
            )
            .expect("customer import");
        }
        "tokens" => {
            let exp = NaiveDate::from_ymd_opt(2031, 1, 31).expect("a date");
            let toks: Vec<NewToken> = (0..n)
                .map(|i| NewToken {
                    serial: SerialNumber::parse(&format!("{:010}", 3_000_000_000 + i))
                        .expect("serial"),
                    seed: Seed::new(seed(i)),
                    params: hotp_params(),
                    expiry: exp,
                    batch: "I".into(),
                    drift: 0,
                })
                .collect();
            start = Instant::now();
            bank.import_tokens(&root, "sha256:stall-probe", "stall probe", &toks, now)
                .expect("token import");
        }
        other => panic!("HTTP_BENCH_IMPORT: {other} is neither customers nor tokens"),
    }
    let what = if kind == "customers" {
        "users of a customer file"
    } else {
        "tokens of a seed file"
    };
    (format!("{n} {what}"), start.elapsed())
}

/// Where the load goes: an address, with TLS (a client configuration trusting the server's
/// certificate, and the name to ask for) or plain HTTP.
#[derive(Clone)]
pub struct Target {
    /// The server's address.
    pub addr: SocketAddr,
    /// TLS client configuration and server name; `None` for plain HTTP.
    pub tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls_pki_types::ServerName<'static>,
    )>,
}

/// How much load.
#[derive(Clone)]
pub struct Load {
    /// Users `u0`… made by [`populate`].
    pub users: u64,
    /// Keep-alive connections, spread over the targets in turn.
    pub connections: u64,
    /// Requests in total (split evenly among connections).
    pub max_requests: u64,
    /// Time bound.
    pub max_duration: Duration,
    /// The API client's bearer key.
    pub key: String,
}

/// What the load measured.
pub struct Outcome {
    /// Latency of every request answered (request written to response read), sorted.
    pub latencies: Vec<Duration>,
    /// Requests answered with another status than 200.
    pub refused: u64,
    /// Requests that failed on the connection (no answer).
    pub failed: u64,
    /// Wall time of the load.
    pub elapsed: Duration,
    /// CPU time of this process (user + system: the client and an in-process server) during
    /// the load, where the system tells it (Linux `/proc/self/stat`).
    pub cpu: Option<Duration>,
    /// CPU time during the load by kind of thread (Linux `/proc/self/task/*/schedstat`,
    /// nanoseconds on a CPU): `client` (the thread the load ran on), `server` (the runtime's
    /// `tokio-rt-worker` threads), `committer` (`bank-commit`), others by their thread name.
    /// A thread that ended during the load is not counted.
    pub cpu_by_thread: Vec<(String, Duration)>,
}

impl Outcome {
    /// Answered requests per second.
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// CPU time per answered request in microseconds (a figure that holds on a busy
    /// machine, where requests per second depend on the other processes).
    pub fn cpu_us_per_request(&self) -> Option<f64> {
        let cpu = self.cpu?;
        (!self.latencies.is_empty()).then(|| cpu.as_secs_f64() * 1e6 / self.latencies.len() as f64)
    }

    /// CPU time per answered request by kind of thread ([`Outcome::cpu_by_thread`]), in
    /// microseconds, most first, those under 0.5 µs left out: `committer 31, server 30,
    /// client 17` (empty where the system does not tell).
    pub fn cpu_us_by_thread(&self) -> String {
        let n = self.latencies.len().max(1) as f64;
        let mut v: Vec<_> = self.cpu_by_thread.iter().collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.1));
        v.iter()
            .map(|(name, d)| (name, d.as_secs_f64() * 1e6 / n))
            .filter(|(_, us)| *us >= 0.5)
            .map(|(name, us)| format!("{name} {us:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Prints the benchmark's markdown rows (`| bench | figure | unit | note |`): requests
    /// per second named `what` with `note`, then p50 and p99 latency.
    pub fn print_rows(&self, what: &str, note: &str) {
        println!(
            "| {what} | {:.0} | validations/s | {note} |",
            self.per_second()
        );
        println!("| {what} p50 | {:.2} | ms | |", self.percentile_ms(0.50));
        println!("| {what} p99 | {:.2} | ms | |", self.percentile_ms(0.99));
    }

    /// The latency at quantile `q` (0.5 for p50), in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 * q) as usize).min(self.latencies.len() - 1);
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

/// Runs the load on the calling thread (a current-thread tokio runtime), connections to
/// `targets` in turn. Panics if a connection cannot be opened.
pub fn run(load: &Load, targets: &[Target]) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let per_connection = load.max_requests / load.connections.max(1);
        // Every request body (each with its user's next code) is made before the clock
        // starts: the HMACs and the formatting are the load generator's work, not the
        // server's, and they share the machine with it.
        let bodies: Vec<Vec<Bytes>> = (0..load.connections)
            .map(|c| {
                let mine: Vec<u64> = (0..load.users)
                    .filter(|u| u % load.connections == c)
                    .collect();
                bodies(&mine, per_connection)
            })
            .collect();
        let deadline = Instant::now() + load.max_duration;
        let start = Instant::now();
        let cpu_before = process_cpu();
        let threads_before = threads_cpu();
        // This thread, the client's (`/proc/thread-self` links to `PID/task/TID`).
        let client = std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|l| Some(l.file_name()?.to_string_lossy().into_owned()));
        let mut tasks = Vec::new();
        for (c, mine) in bodies.into_iter().enumerate() {
            let target = targets[c % targets.len()].clone();
            let key = load.key.clone();
            tasks.push(tokio::spawn(async move {
                let tcp = tokio::net::TcpStream::connect(target.addr)
                    .await
                    .expect("connect to the server");
                tcp.set_nodelay(true).expect("TCP_NODELAY");
                match target.tls {
                    Some((cfg, name)) => {
                        let tls = tokio_rustls::TlsConnector::from(cfg)
                            .connect(name, tcp)
                            .await
                            .expect("TLS handshake");
                        connection(tls, &key, mine, deadline).await
                    }
                    None => connection(tcp, &key, mine, deadline).await,
                }
            }));
        }
        let mut out = Outcome {
            latencies: Vec::new(),
            refused: 0,
            failed: 0,
            elapsed: Duration::ZERO,
            cpu: None,
            cpu_by_thread: Vec::new(),
        };
        for t in tasks {
            let (lat, refused, failed) = t.await.expect("a load connection");
            out.latencies.extend(lat);
            out.refused += refused;
            out.failed += failed;
        }
        out.elapsed = start.elapsed();
        out.cpu = cpu_before
            .zip(process_cpu())
            .map(|(a, b)| b.saturating_sub(a));
        out.cpu_by_thread = by_name(&threads_before, &threads_cpu(), client.as_deref());
        out.latencies.sort_unstable();
        out
    })
}

/// User + system CPU time of this process so far (fields 14 and 15 of `/proc/self/stat`,
/// in clock ticks of 1/100 s, the Linux `USER_HZ`).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace().skip(11);
    let user: u64 = f.next()?.parse().ok()?;
    let system: u64 = f.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

/// CPU time of each thread of this process so far: (thread id, name, time on a CPU), from
/// `/proc/self/task/*/comm` and the first field of `schedstat` (nanoseconds). Empty where
/// the system does not tell.
fn threads_cpu() -> Vec<(String, String, Duration)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| {
            let dir = t.path();
            let name = std::fs::read_to_string(dir.join("comm")).ok()?;
            let ns: u64 = std::fs::read_to_string(dir.join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some((
                t.file_name().to_string_lossy().into_owned(),
                name.trim().to_owned(),
                Duration::from_nanos(ns),
            ))
        })
        .collect()
}

/// The CPU time each kind of thread spent between two [`threads_cpu`] readings (a thread
/// started in between counts from zero): `client` (thread id `client`), `server` (the
/// runtime's `tokio-rt-worker` threads), `committer` (`bank-commit`), others by their name.
fn by_name(
    before: &[(String, String, Duration)],
    after: &[(String, String, Duration)],
    client: Option<&str>,
) -> Vec<(String, Duration)> {
    let mut out: Vec<(String, Duration)> = Vec::new();
    for (id, name, t) in after {
        let kind = match name.as_str() {
            _ if Some(id.as_str()) == client => "client",
            "tokio-rt-worker" => "server",
            "bank-commit" => "committer",
            other => other,
        };
        let was = before
            .iter()
            .find(|(i, n, _)| i == id && n == name)
            .map_or(Duration::ZERO, |b| b.2);
        let spent = t.saturating_sub(was);
        match out.iter_mut().find(|(n, _)| n == kind) {
            Some(e) => e.1 += spent,
            None => out.push((kind.to_owned(), spent)),
        }
    }
    out
}

/// The request bodies of a connection whose users are `mine`: `requests` of them, logging
/// in `mine` in turn, each with the user's next HOTP code (counter 1 first).
fn bodies(mine: &[u64], requests: u64) -> Vec<Bytes> {
    if mine.is_empty() {
        return Vec::new();
    }
    let mut counters = vec![1u64; mine.len()];
    (0..requests as usize)
        .map(|k| {
            let j = k % mine.len();
            let body = format!(
                r#"{{"customer":"C","login":"u{}","code":"{}"}}"#,
                mine[j],
                code(mine[j], counters[j])
            );
            counters[j] += 1;
            Bytes::from(body)
        })
        .collect()
}

/// One keep-alive connection sending `bodies` in turn: (latencies, refused, failed).
///
/// HTTP/1.1 by hand on the stream (one write per request, the answer's head read with
/// `httparse`, its body by `Content-Length`), not hyper's client: the load generator shares
/// the two cores with the server it measures, and hyper's client (a connection task beside
/// the sending one, header maps, an encoder) took a fifth of the CPU of each validation. As
/// `wrk` does, it sends a request only after the last answer (no pipelining).
async fn connection<IO>(
    mut io: IO,
    key: &str,
    bodies: Vec<Bytes>,
    deadline: Instant,
) -> (Vec<Duration>, u64, u64)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = format!(
        "POST /v1/validate HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: "
    );
    let mut request = Vec::with_capacity(head.len() + 128);
    let mut buf = vec![0u8; 16 * 1024];
    let mut filled = 0;
    let mut lat = Vec::with_capacity(bodies.len());
    let (mut refused, mut failed) = (0, 0);
    'requests: for body in bodies {
        if Instant::now() > deadline {
            break;
        }
        request.clear();
        request.extend_from_slice(head.as_bytes());
        request.extend_from_slice(format!("{}\r\n\r\n", body.len()).as_bytes());
        request.extend_from_slice(&body);
        let t = Instant::now();
        if io.write_all(&request).await.is_err() || io.flush().await.is_err() {
            failed += 1;
            break;
        }
        // The answer: its head, then `Content-Length` bytes of body.
        let (status, end) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&buf[..filled]) {
                Ok(httparse::Status::Complete(n)) => {
                    let length = resp
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok());
                    match (resp.code, length) {
                        (Some(code), Some(len)) => break (code, n + len),
                        // No length (chunked, or no status): not an answer this client reads.
                        _ => {
                            failed += 1;
                            break 'requests;
                        }
                    }
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => {
                    failed += 1;
                    break 'requests;
                }
            }
            if filled == buf.len() {
                buf.resize(buf.len() * 2, 0);
            }
            match io.read(&mut buf[filled..]).await {
                Ok(0) | Err(_) => {
                    failed += 1;
                    break 'requests;
                }
                Ok(n) => filled += n,
            }
        };
        while filled < end {
            if end > buf.len() {
                buf.resize(end, 0);
            }
            match io.read(&mut buf[filled..]).await {
                Ok(0) | Err(_) => {
                    failed += 1;
                    break 'requests;
                }
                Ok(n) => filled += n,
            }
        }
        lat.push(t.elapsed());
        if status != 200 {
            refused += 1;
        }
        // Whatever followed this answer (nothing, without pipelining) is kept for the next.
        buf.copy_within(end..filled, 0);
        filled -= end;
    }
    (lat, refused, failed)
}

/// What a sign-in flood sent ([`sign_in_flood`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct Flood {
    /// Sign-ins answered.
    pub answered: u64,
    /// Of them, refused as a wrong sign-in (401/403, the answer expected).
    pub refused: u64,
    /// Of them, answered "busy" (503: a gate or the import lane full).
    pub busy: u64,
}

/// Where a flooding connection signs in (by connection number, in turn).
#[derive(Clone, Copy)]
enum SignIn {
    /// `POST /v1/login` (JSON, the `login` key).
    Api,
    /// `POST /login`, the customer login page (form, session cookie, CSRF token).
    Page,
    /// `POST /backoffice/login`, the operator login page.
    Office,
}

/// The sign-in flood probe of `http_bench` (issue #10): `connections` keep-alive connections
/// on a thread of their own (one current-thread runtime), each sending sign-ins with made-up
/// names and passwords back to back until `stop`, in turn by connection: the API's
/// `POST /v1/login` with `key`, the customer login page `POST /login` and the operator login
/// page `POST /backoffice/login` (those two with the session cookie and CSRF token of a first
/// `GET`, as a browser would). Every answer is a refusal. Panics if a connection cannot be
/// opened.
pub fn sign_in_flood(
    target: Target,
    key: String,
    connections: u64,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Flood> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        rt.block_on(async move {
            let mut tasks = Vec::new();
            for c in 0..connections {
                let kind = [SignIn::Api, SignIn::Page, SignIn::Office][c as usize % 3];
                let (target, key, stop) = (target.clone(), key.clone(), stop.clone());
                tasks.push(tokio::spawn(async move {
                    flood_connection(&target, kind, &key, c, &stop).await
                }));
            }
            let mut total = Flood::default();
            for t in tasks {
                let f = t.await.expect("a flood connection");
                total.answered += f.answered;
                total.refused += f.refused;
                total.busy += f.busy;
            }
            total
        })
    })
}

/// An HTTP/1.1 connection to `target` (TLS when it has it).
async fn open(target: &Target) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let tcp = tokio::net::TcpStream::connect(target.addr)
        .await
        .expect("connect to the server");
    tcp.set_nodelay(true).expect("TCP_NODELAY");
    match &target.tls {
        Some((cfg, name)) => {
            let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                .connect(name.clone(), tcp)
                .await
                .expect("TLS handshake");
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .expect("HTTP/1.1 handshake");
            tokio::spawn(conn);
            sender
        }
        None => {
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .expect("HTTP/1.1 handshake");
            tokio::spawn(conn);
            sender
        }
    }
}

/// `value` for an `application/x-www-form-urlencoded` body.
fn form_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One flooding connection: (answered, refused, busy).
async fn flood_connection(
    target: &Target,
    kind: SignIn,
    key: &str,
    c: u64,
    stop: &std::sync::atomic::AtomicBool,
) -> Flood {
    use std::sync::atomic::Ordering;
    let mut sender = open(target).await;
    let path = match kind {
        SignIn::Api => "/v1/login",
        SignIn::Page => "/login",
        SignIn::Office => "/backoffice/login",
    };
    let (mut cookie, mut csrf) = (String::new(), String::new());
    let mut out = Flood::default();
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let get = !matches!(kind, SignIn::Api) && csrf.is_empty();
        let (content_type, body) = match kind {
            _ if get => ("", String::new()),
            SignIn::Api => (
                "application/json",
                format!(r#"{{"customer":"C","login":"madeup{c}x{n}","password":"guess-{n}"}}"#),
            ),
            SignIn::Page => (
                "application/x-www-form-urlencoded",
                format!(
                    "csrf={}&customer=C&login=madeup{c}x{n}&password=guess-{n}",
                    form_value(&csrf)
                ),
            ),
            SignIn::Office => (
                "application/x-www-form-urlencoded",
                format!(
                    "csrf={}&name=nobody{c}x{n}&password=guess-{n}&code=123456",
                    form_value(&csrf)
                ),
            ),
        };
        let mut req = hyper::Request::builder()
            .method(if get { "GET" } else { "POST" })
            .uri(path)
            .header("host", "127.0.0.1");
        if matches!(kind, SignIn::Api) {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        if !cookie.is_empty() {
            req = req.header("cookie", cookie.as_str());
        }
        let req = req.body(Full::new(Bytes::from(body))).expect("a request");
        if sender.ready().await.is_err() {
            break;
        }
        let Ok(resp) = sender.send_request(req).await else {
            break;
        };
        let status = resp.status().as_u16();
        if let Some(set) = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
        {
            cookie = set.split(';').next().unwrap_or_default().to_owned();
        }
        let Ok(body) = resp.into_body().collect().await else {
            break;
        };
        let html = String::from_utf8_lossy(&body.to_bytes()).into_owned();
        if let Some(at) = html.find(r#"name="csrf" value=""#) {
            let rest = &html[at + r#"name="csrf" value=""#.len()..];
            csrf = rest.split('"').next().unwrap_or_default().to_owned();
        }
        if get {
            continue;
        }
        n += 1;
        out.answered += 1;
        match status {
            401 | 403 => out.refused += 1,
            503 => out.busy += 1,
            _ => {}
        }
    }
    out
}
