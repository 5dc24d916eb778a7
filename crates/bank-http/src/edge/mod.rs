//! The network edge: listening (TLS by rustls, or plain HTTP on loopback), connection
//! limits, timeouts, `Host` and `Content-Type` checks, credentials to identity, and the
//! dispatch of a request to [`crate::routes::handle`] (or the group committer for logins).
//!
//! The parts: this module (configuration, start, TLS), [`accept`] (the accept loop and the
//! connection bounds), [`peers`] (the per-peer bound), [`checks`] (`Host`, media type),
//! [`dispatch`] (an API request to its reply), [`import`] (`POST /v1/imports`).

mod accept;
mod checks;
mod dispatch;
mod import;
mod peers;

use crate::committer::Committer;
use crate::identity::Identities;
use crate::metrics::Metrics;
use crate::ops::{OpsConfig, ReadyCache};
use crate::{Clock, Importer};
use axum::Router;
use import_lane::ImportLane;
use lifecycle::{Bank, Store};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Starting the server failed.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for StartError {}

/// The certificate chain and private key (PEM files).
#[derive(Debug, Clone)]
pub struct Tls {
    /// Certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// What a client may hold, and for how long.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The TLS handshake and the request headers must arrive within this time; it is also the
    /// idle time after which a kept-alive connection is closed.
    pub header_timeout: Duration,
    /// The whole request body must arrive within this time (a deadline, not a per-read
    /// timeout: trickling bytes does not extend it).
    pub body_timeout: Duration,
    /// Concurrent connections; more are closed at once.
    pub max_connections: usize,
    /// Concurrent connections from one peer — an IPv4 address, or an IPv6 /64 (one host's
    /// usual allocation: its many addresses are one client; issue #10 review M4); more from
    /// it are closed at once, so that one client holding idle keep-alive connections cannot
    /// take every slot from the others (the bound must still fit the bank's own front end,
    /// which may come from one address through a pool). Many networks together are the
    /// network's to stop.
    pub max_connections_per_peer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_connections_per_peer: 128,
        }
    }
}

/// How to serve.
#[derive(Clone)]
pub struct ServeConfig {
    /// `ADDR:PORT` (port 0 picks a free port).
    pub listen: String,
    /// `Host` header values accepted (`name` or `name:port`); empty: the listening address
    /// and `localhost`.
    pub allowed_hosts: Vec<String>,
    /// TLS; `None` is plain HTTP, refused on a non-loopback address unless `insecure_http`.
    pub tls: Option<Tls>,
    /// Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    pub insecure_http: bool,
    /// Timeouts and bounds.
    pub limits: Limits,
    /// Decrypts `POST /v1/imports` bodies.
    pub importer: Option<Importer>,
    /// Threads of the async runtime (connections, TLS, HTTP); database work runs on the
    /// committer thread and a small blocking pool.
    pub workers: usize,
    /// The web pages (`bank_web::router`, issue #11), served beside the API behind the same
    /// TLS, `Host` check, limits and timeouts; every path outside them goes to the API.
    pub pages: Option<Router>,
    /// The server's one import lane ([`ImportLane`]): give the pages' back office a clone of
    /// the same, so that an upload there and an import here wait for each other.
    pub imports: ImportLane,
}

/// The most runtime threads a server runs (`--workers`). The runtime does no blocking work
/// (the database runs on the committer's threads and a blocking pool of 8), so threads past
/// the CPUs only take turns on them; 256 is 4 for each CPU of a 64-CPU server. Each thread
/// reserves a 2 MiB stack: 100,000 asked for 200 GB of address space and never started, and
/// 5,000 aborted the process under a container's memory limit.
pub const MAX_WORKERS: usize = 256;

/// `workers` if a server can run that many runtime threads (1 ..= [`MAX_WORKERS`]), or why
/// not: the range and the default ([`default_workers`]), to show after the option's name.
pub fn check_workers(workers: usize) -> Result<usize, String> {
    if (1..=MAX_WORKERS).contains(&workers) {
        return Ok(workers);
    }
    Err(format!(
        "the runtime threads are 1 to {MAX_WORKERS}; leave the option out for the default, \
         the CPUs less one and at least 1 (here {})",
        default_workers()
    ))
}

/// The runtime threads a server runs by default: the CPUs less one, at least one. The group
/// committer of validations and its log syncer run on threads of their own, each busy a good
/// part of a core under load. On an idle 2-core machine (`http_bench`, 6 interleaved pairs)
/// one runtime thread served more validations per second than two in 4 pairs and as many in
/// 2 (24,027 / 23,756 / 20,592 / 19,176 against 15,279 / 22,262 / 18,669 / 15,107), with
/// less CPU per validation in all 6 (49-76 µs against 51-88). Where another process competes
/// for the cores, two threads take a larger share of them and did better: a bank's server
/// runs on its own machine, and `--workers` sets the count.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_sub(1)
        .max(1)
}

impl ServeConfig {
    /// Plain HTTP on `listen` (loopback), default limits, no importer.
    pub fn loopback(listen: &str) -> Self {
        ServeConfig {
            listen: listen.to_owned(),
            allowed_hosts: Vec::new(),
            tls: None,
            insecure_http: false,
            limits: Limits::default(),
            importer: None,
            workers: 2,
            pages: None,
            imports: ImportLane::default(),
        }
    }
}

/// A running server.
pub struct Running {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

impl Running {
    /// The address it listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the metrics listener, when one was asked for.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Stops accepting and joins the server thread (connections in flight are dropped).
    pub fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.thread.join();
    }

    /// Blocks until the server stops.
    pub fn wait(self) {
        let _ = self.thread.join();
    }
}

struct App<S> {
    bank: Bank<S>,
    committer: Committer,
    identities: Identities,
    clock: Clock,
    hosts: Vec<String>,
    importer: Option<Importer>,
    probe: Option<Arc<dyn crate::ops::Probe>>,
    ready: ReadyCache,
    metrics: Arc<Metrics>,
    imports: ImportLane,
    /// The password checks (Argon2) the API runs: [`PASSWORD_CHECKS`] at once.
    password_checks: import_lane::Gate,
}

/// How many password checks of the API run at once (issue #10 review: a flood of
/// `POST /v1/login` with made-up names, unbounded, took the blocking pool and both cores from
/// every other route: validations fell 96 %). The pages have their own gate of one.
pub const PASSWORD_CHECKS: usize = 1;

/// How many more may wait for their turn; beyond, 503 `busy` at once (nothing done).
pub const PASSWORD_CHECKS_WAITING: usize = 64;

impl<S: Store + Send + Sync + 'static> App<S> {
    /// The readiness query: the probe's, or an empty transaction.
    fn ping(&self) -> Result<(), String> {
        match &self.probe {
            Some(p) => p.ping(),
            None => self
                .bank
                .store()
                .transaction(|_| Ok(()))
                .map_err(|e| e.to_string()),
        }
    }
}

/// Listens on `cfg.listen` and serves until [`Running::stop`]. `make_bank` is called twice:
/// one bank for the group committer of logins, one for every other request.
pub fn serve<S, F>(cfg: ServeConfig, make_bank: F, clock: Clock) -> Result<Running, StartError>
where
    S: Store + Send + Sync + 'static,
    F: Fn() -> Result<Bank<S>, String>,
{
    serve_with(cfg, OpsConfig::default(), make_bank, clock)
}

/// [`serve`] with the operations side (issue #16): the readiness probe's database query and
/// the Prometheus metrics listener ([`OpsConfig`]).
pub fn serve_with<S, F>(
    cfg: ServeConfig,
    ops: OpsConfig,
    make_bank: F,
    clock: Clock,
) -> Result<Running, StartError>
where
    S: Store + Send + Sync + 'static,
    F: Fn() -> Result<Bank<S>, String>,
{
    check_workers(cfg.workers).map_err(|e| StartError(format!("workers: {e}")))?;
    let listener = std::net::TcpListener::bind(&cfg.listen)
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", cfg.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", cfg.listen)))?;
    // `::ffff:127.0.0.1` (IPv4-mapped) is loopback too.
    if cfg.tls.is_none() && !addr.ip().to_canonical().is_loopback() && !cfg.insecure_http {
        return Err(StartError(format!(
            "refusing plain HTTP on {addr}: codes and passwords would cross the network in clear. \
             Give --tls-cert FILE --tls-key FILE, or --insecure-http only behind a TLS-terminating proxy"
        )));
    }
    let acceptor = cfg.tls.as_ref().map(tls_acceptor).transpose()?;
    let metrics_listener = ops
        .metrics_listen
        .as_deref()
        .map(|m| crate::metrics::bind(m, ops.metrics_public))
        .transpose()?;
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    listener
        .set_nonblocking(true)
        .map_err(|e| StartError(e.to_string()))?;
    let committer = Committer::start(make_bank().map_err(StartError)?, clock.clone())
        .map_err(|e| StartError(format!("cannot start the committer thread: {e}")))?;
    let hosts = if cfg.allowed_hosts.is_empty() {
        vec![addr.ip().to_string(), "localhost".into()]
    } else {
        cfg.allowed_hosts.clone()
    };
    let app = Arc::new(App {
        bank: make_bank().map_err(StartError)?,
        committer,
        identities: Identities::default(),
        clock,
        hosts,
        importer: cfg.importer.clone(),
        probe: ops.probe.clone(),
        ready: ReadyCache::default(),
        metrics: Arc::new(Metrics::new()),
        imports: cfg.imports.clone(),
        password_checks: import_lane::Gate::new(PASSWORD_CHECKS, PASSWORD_CHECKS_WAITING),
    });
    let scrape: Arc<dyn Fn() -> String + Send + Sync> = {
        let a = app.clone();
        Arc::new(move || {
            let up = a.ready.now_blocking(|| a.ping());
            a.metrics.render(a.probe.as_deref(), Some(up))
        })
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers)
        .max_blocking_threads(8)
        .enable_all()
        .build()
        .map_err(|e| StartError(format!("cannot start the runtime: {e}")))?;
    let (stop, stopped) = watch::channel(false);
    let limits = cfg.limits.clone();
    let pages = cfg.pages.clone();
    let thread = std::thread::Builder::new()
        .name("bank-http".into())
        .spawn(move || {
            rt.block_on(async move {
                if let Some(m) = metrics_listener {
                    match tokio::net::TcpListener::from_std(m) {
                        Ok(m) => {
                            tokio::spawn(crate::metrics::serve(m, scrape, stopped.clone()));
                        }
                        Err(e) => tracing::error!("bank-http: metrics: {e}"),
                    }
                }
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => accept::accept_loop(l, app, pages, acceptor, limits, stopped).await,
                    Err(e) => tracing::error!("bank-http: {e}"),
                }
            });
        })
        .map_err(|e| StartError(format!("cannot start the server thread: {e}")))?;
    Ok(Running {
        addr,
        metrics_addr,
        stop,
        thread,
    })
}

fn tls_acceptor(t: &Tls) -> Result<tokio_rustls::TlsAcceptor, StartError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&t.cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            StartError(format!(
                "--tls-cert {}: {e}: give the PEM certificate chain",
                t.cert.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(StartError(format!(
            "--tls-cert {}: no certificate in it",
            t.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&t.key).map_err(|e| {
        StartError(format!(
            "--tls-key {}: {e}: give the PEM private key",
            t.key.display()
        ))
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StartError(format!("TLS: {e}")))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| StartError(format!("--tls-cert/--tls-key do not make a pair: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    /// The default leaves a CPU to the committer and its syncer, and never runs without a
    /// runtime thread (one CPU: one thread).
    #[test]
    fn the_default_runtime_threads_are_the_cpus_less_one_and_at_least_one() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(super::default_workers(), cpus.saturating_sub(1).max(1));
        assert!(super::default_workers() >= 1);
    }

    /// No runtime without a thread, none past the bound: the answer names the range and the
    /// default instead of 0 meaning 1 or 100,000 never starting.
    #[test]
    fn workers_outside_one_to_the_bound_are_refused_with_the_range_and_the_default() {
        for n in [1, 2, super::MAX_WORKERS] {
            assert_eq!(super::check_workers(n), Ok(n));
        }
        let default = format!("(here {})", super::default_workers());
        for n in [0, super::MAX_WORKERS + 1, 100_000] {
            let e = super::check_workers(n).unwrap_err();
            assert!(e.contains("1 to 256") && e.contains(&default), "{n}: {e}");
        }
        let mut cfg = super::ServeConfig::loopback("127.0.0.1:0");
        cfg.workers = 0;
        let bank = || -> Result<lifecycle::Bank<lifecycle_sqlite::SqliteStore>, String> {
            Err("not reached".into())
        };
        let e = super::serve(cfg, bank, std::sync::Arc::new(chrono::Utc::now));
        assert!(e.is_err_and(|e| e.0.contains("1 to 256")));
    }
}
