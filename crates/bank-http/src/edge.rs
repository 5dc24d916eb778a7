//! The network edge: listening (TLS by rustls, or plain HTTP on loopback), connection
//! limits, timeouts, `Host` and `Content-Type` checks, credentials to identity, and the
//! dispatch of a request to [`crate::routes::handle`] (or the group committer for logins).

use crate::committer::Committer;
use crate::identity::Identities;
use crate::metrics::Metrics;
use crate::ops::{OpsConfig, ReadyCache};
use crate::routes::{self, Reply};
use crate::{Clock, Importer, MAX_BODY, MAX_CUSTOMER_FILE, MAX_IMPORT};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use import_lane::ImportLane;
use lifecycle::{Bank, Caller, CustomerId, Error, LoginId, Store, UserRef};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

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
    /// Concurrent connections from one peer IP address; more from it are closed at once, so
    /// that one client holding idle keep-alive connections cannot take every slot from the
    /// others (the bound must still fit the bank's own front end, which may come from one
    /// address through a pool). Many addresses together are the network's to stop.
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

/// The routes whose use case checks a password with Argon2 (a login password, an operator's
/// password, an acting user's confirmation password) or hashes a new one: anyone with a key
/// of their scope may ask for many, each tens of milliseconds of a core.
const HASHING_ROUTES: &[&str] = &[
    "/v1/customers",
    "/v1/users",
    "/v1/login",
    "/v1/operator/sessions",
    "/v1/revoke",
    "/v1/mode",
    "/v1/unregister",
    "/v1/register-for",
    "/v1/login-password",
    "/v1/customers/{id}/users/{login}/permissions",
    "/v1/customers/{id}/users/{login}/password",
    "/v1/customers/{id}/users/{login}/login-password",
];

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
    let listener = std::net::TcpListener::bind(&cfg.listen)
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", cfg.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", cfg.listen)))?;
    if cfg.tls.is_none() && !addr.ip().is_loopback() && !cfg.insecure_http {
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
        .worker_threads(cfg.workers.max(1))
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
                    Ok(l) => accept_loop(l, app, pages, acceptor, limits, stopped).await,
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

async fn accept_loop<S: Store + Send + Sync + 'static>(
    listener: tokio::net::TcpListener,
    app: Arc<App<S>>,
    pages: Option<Router>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    use tower::ServiceBuilder;
    use tower_http::timeout::RequestBodyDeadlineLayer;
    let api = Router::new()
        .fallback(dispatch::<S>)
        .with_state(app.clone());
    // The API under /v1/, the pages everything else (a path neither serves answers the
    // pages' 404 page, in the visitor's language); the pages get the same Host check as the
    // API (DNS rebinding).
    let router = match pages {
        Some(p) => Router::new()
            .route("/v1", axum::routing::any(dispatch::<S>))
            .route("/v1/{*rest}", axum::routing::any(dispatch::<S>))
            .with_state(app.clone())
            .merge(p.layer(axum::middleware::from_fn_with_state(app, page_host::<S>))),
        None => api,
    }
    .layer(axum::middleware::from_fn(crate::linger::layer));
    // No size refusal here: each route bounds what it reads and says what was too large in
    // its own words (the API: `MAX_BODY`, `MAX_IMPORT` in `dispatch_reply`, as JSON; the
    // pages: their forms and the seed upload, as pages). The deadline bounds every body in
    // time, and lingering reads the rest of a body answered early (within that deadline), so
    // the client gets the answer instead of a reset connection.
    // A handler that panics answers 500 and nothing else stops (crate::panics).
    let service = ServiceBuilder::new()
        .layer(crate::panics::layer())
        .layer(RequestBodyDeadlineLayer::new(limits.body_timeout))
        .service(router);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let peers = Arc::new(PeerCounts::default());
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("bank-http: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped.changed() => return,
        };
        // Over the bound: close at once (the client retries), never queue.
        let Some(peer_slot) = peers.take(peer.ip(), limits.max_connections_per_peer.max(1)) else {
            drop(tcp);
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let service = service.clone();
        let acceptor = acceptor.clone();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let _slot = (slot, peer_slot);
            let svc = hyper_util::service::TowerToHyperService::new(service);
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            let served = match acceptor {
                Some(a) => match tokio::time::timeout(header_timeout, a.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        http.serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                            .await
                    }
                    _ => return,
                },
                None => {
                    http.serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                        .await
                }
            };
            if let Err(e) = served {
                tracing::debug!("bank-http: connection ended: {e}");
            }
        });
    }
}

/// Open connections per peer IP address (the accept loop's per-peer bound).
#[derive(Default)]
struct PeerCounts(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// One connection of a peer, given back when the connection ends.
struct PeerSlot {
    peers: Arc<PeerCounts>,
    ip: std::net::IpAddr,
}

impl PeerCounts {
    /// A slot for one more connection from `ip`, or `None` when it holds `max` already.
    fn take(self: &Arc<Self>, ip: std::net::IpAddr, max: usize) -> Option<PeerSlot> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            peers: self.clone(),
            ip,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut m = self.peers.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

fn json_reply(r: Reply) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, r.body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

fn header_text<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

impl<S> App<S> {
    /// Whether the request names a host this server is for: its `Host` header and, when the
    /// request target is in absolute form (`GET http://host:port/v1/health`, which a server
    /// must accept, RFC 9112 §3.2.2, and whose authority then stands for the host), that
    /// authority too, each checked against `--allowed-host` the same way (DNS rebinding:
    /// issue #10). An authority with a user part (`user@host`) names no allowed host. A
    /// request with more than one `Host` field is refused whatever they say (RFC 9112 §3.2:
    /// "a server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request
    /// message that lacks a Host header field and to any request message that contains more
    /// than one Host header field"): a proxy and this server could each read another one.
    fn host_allowed(&self, h: &HeaderMap, uri: &axum::http::Uri) -> bool {
        if h.get_all(header::HOST).iter().nth(1).is_some() {
            return false;
        }
        let Some(host) = header_text(h, "host") else {
            return false;
        };
        self.names_allowed_host(host)
            && uri
                .authority()
                .is_none_or(|a| self.names_allowed_host(a.as_str()))
    }

    /// `host` (`name` or `name:port`, IPv6 in brackets) is one of the allowed hosts.
    fn names_allowed_host(&self, host: &str) -> bool {
        let name = match host.rsplit_once(':') {
            Some((n, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !n.ends_with(':') => n,
            _ => host,
        };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        self.hosts
            .iter()
            .any(|a| a.eq_ignore_ascii_case(host) || a.eq_ignore_ascii_case(name))
    }
}

fn media_type(h: &HeaderMap) -> Option<String> {
    header_text(h, "content-type").map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

/// Whether the request announces a body (`Content-Length` above 0, or chunked).
fn sends_body(h: &HeaderMap) -> bool {
    h.contains_key(header::TRANSFER_ENCODING)
        || header_text(h, "content-length").is_some_and(|l| l != "0")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateBody {
    customer: CustomerId,
    login: LoginId,
    code: String,
}

/// The `Host` check in front of the pages (the API checks it in [`dispatch_reply`]).
async fn page_host<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    if !app.host_allowed(req.headers(), req.uri()) {
        // Bilingual: the pages are Japanese first, and a page of a foreign name gets no
        // session or page chrome.
        return (
            StatusCode::BAD_REQUEST,
            [(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "このアドレス(ホスト名)では提供していません。銀行の案内するアドレスから開いてください。\n\
             This Host is not served here: open it at the bank's own address \
             (server option --allowed-host).\n",
        )
            .into_response();
    }
    next.run(req).await
}

async fn dispatch<S: Store + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    req: Request,
) -> Response {
    let started = std::time::Instant::now();
    let request_id = crate::access::next_request_id();
    let method = req.method().as_str().to_owned();
    let path = routes::percent_decode(req.uri().path());
    let route = routes::route_of(&method, &path);
    let mut authorized = None;
    let reply = dispatch_reply(
        app.clone(),
        req,
        &method,
        path.clone(),
        route,
        &mut authorized,
    )
    .await;
    let route = route.map_or("other", |r| r.path);
    let elapsed = started.elapsed();
    app.metrics.observe(route, &method, &reply, elapsed);
    let reason = (reply.status >= 400)
        .then(|| reply.body["code"].as_str())
        .flatten();
    crate::access::log(&request_id, &method, route, reply.status, reason, elapsed);
    let mut resp = json_reply(reply);
    // Tells the lingering layer the caller was authenticated and authorized (crate::linger).
    if let Some(caller) = authorized {
        resp.extensions_mut().insert(caller);
    }
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        if let Ok(v) = HeaderValue::from_str(&routes::methods_of(&path).join(", ")) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut()
            .insert(crate::access::REQUEST_ID_HEADER, v);
    }
    resp
}

/// The reply to `req`, whose method is `method`, decoded path `path` and route `route`
/// (`None`: no route has this method and path). `authorized` gets the caller once it is
/// authenticated and holds the route's scope.
async fn dispatch_reply<S: Store + Send + Sync + 'static>(
    app: Arc<App<S>>,
    req: Request,
    method: &str,
    path: String,
    route: Option<&'static routes::Route>,
    authorized: &mut Option<Caller>,
) -> Reply {
    let (parts, body) = req.into_parts();
    if !app.host_allowed(&parts.headers, &parts.uri) {
        return Reply::error(
            400,
            "host_not_allowed",
            "this Host is not served here: use the bank's name (server option --allowed-host)",
        );
    }
    let query = routes::query_pairs(parts.uri.query().unwrap_or(""));
    let method = method.to_owned();
    let now = (app.clock)();
    // A known path asked with another method: 405 (the route table is the public spec's).
    if route.is_none() && !routes::methods_of(&path).is_empty() {
        return routes::handle(
            &app.bank,
            None,
            &routes::Request::bare(&method, &path, &query),
            now,
        );
    }
    if method == "GET" && path == "/v1/health" {
        return routes::handle(
            &app.bank,
            None,
            &routes::Request::bare("GET", &path, &query),
            now,
        );
    }
    if method == "GET" && path == "/v1/ready" {
        let a = app.clone();
        return app.ready.reply(move || a.ping()).await;
    }
    let import = path == "/v1/imports";
    // The bank's customer file (issue #15) is CSV, not JSON.
    let customer_file = method == "POST" && path == "/v1/customer-imports";
    // The media type is asked of every request that carries a body (a form or text body is
    // never read as JSON: no cross-site form post); a request without one (a DELETE, an
    // approval) has nothing to mislabel.
    let has_body = matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
        && sends_body(&parts.headers);
    if has_body {
        let want = if import {
            "application/octet-stream"
        } else if customer_file {
            "text/csv"
        } else {
            "application/json"
        };
        if media_type(&parts.headers).as_deref() != Some(want) {
            return Reply::error(
                415,
                "unsupported_media_type",
                format!("send the body as Content-Type: {want}"),
            );
        }
    }
    // Credentials first: nothing is read for a caller without a valid key.
    let key = header_text(&parts.headers, "authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(|k| k.trim().to_owned());
    let session = header_text(&parts.headers, "x-operator-session").map(str::to_owned);
    let customer_session = header_text(&parts.headers, "x-customer-session").map(str::to_owned);
    // A key authenticated moments ago and no operator session: no database read, so no
    // blocking thread (the login front end's every request).
    let remembered = match (&key, &session) {
        (Some(k), None) => app.identities.cached(k),
        _ => None,
    };
    let caller = match remembered {
        Some(c) => c,
        None => {
            let a = app.clone();
            let presented = session.clone();
            let caller = tokio::task::spawn_blocking(move || -> Result<Caller, Error> {
                let key = key.ok_or(Error::Unauthenticated)?;
                let client = a.identities.client(&a.bank, &key)?;
                Ok(match presented {
                    Some(s) => a.bank.operator_session(&client, &s, now).unwrap_or(client),
                    None => client,
                })
            })
            .await;
            match caller {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => return routes::refusal(&e),
                Err(_) => return Reply::error(500, "internal", "the request could not be handled"),
            }
        }
    };
    if let Err(r) = routes::gate_route(&caller, route) {
        return r;
    }
    *authorized = Some(caller.clone());
    let limit = if import {
        MAX_IMPORT
    } else if customer_file {
        MAX_CUSTOMER_FILE
    } else {
        MAX_BODY
    };
    // Announced over the limit: refused before a byte is read (the rest is read and dropped
    // by the lingering layer, so the client gets this answer).
    if header_text(&parts.headers, "content-length")
        .and_then(|l| l.parse::<u64>().ok())
        .is_some_and(|l| l > limit as u64)
    {
        return too_large(limit, import);
    }
    let bytes = match axum::body::to_bytes(Body::new(body), limit).await {
        Ok(b) => b,
        Err(e) => return body_error(&e, limit, import),
    };
    if method == "POST" && path == "/v1/validate" {
        let b: ValidateBody = match serde_json::from_slice(&bytes) {
            Ok(b) => b,
            Err(e) => return Reply::error(400, "invalid_input", format!("bad JSON body: {e}")),
        };
        let user = UserRef::new(b.customer, b.login);
        return match app
            .committer
            .validate(caller.clone(), user.clone(), b.code)
            .await
        {
            Ok(o) => Reply::ok(routes::validate_answer(
                &app.bank,
                &caller,
                customer_session.as_deref(),
                &user,
                &o,
                now,
            )),
            Err(e) => routes::refusal(&e),
        };
    }
    // Password checks through their gate: a flood of them waits for its own turn, or is
    // answered busy, and never takes the pool and the cores from the other routes.
    let hashing = method == "POST" && route.is_some_and(|r| HASHING_ROUTES.contains(&r.path));
    let _password_turn = match hashing {
        true => match app.password_checks.enter().await {
            Some(turn) => Some(turn),
            None => {
                return Reply::error(
                    503,
                    "busy",
                    "too many sign-ins and confirmations are being checked at once: nothing \
                     was done; retry in a few seconds",
                )
            }
        },
        false => None,
    };
    // Imports over the network one at a time, with a rest after each (the `import-lane`
    // crate; the back office's upload page takes its turn in the same lane).
    let entered =
        match (import || customer_file) && method == "POST" {
            true => match app.imports.enter().await {
                Some(e) => Some(e),
                None => return Reply::error(
                    503,
                    "import_busy",
                    "other imports are running or waiting, and the database rests after each so \
                     that logins go first: nothing was imported; retry in a few seconds",
                ),
            },
            false => None,
        };
    let a = app.clone();
    let reply = tokio::task::spawn_blocking(move || {
        if import && method == "POST" {
            let skip_known = query.iter().any(|(k, v)| k == "skip_known" && v == "true");
            return import_file(&a, &caller, &bytes, skip_known, now);
        }
        if let ("DELETE", "/v1/operator/sessions/current", Some(s)) =
            (method.as_str(), path.as_str(), session.as_deref())
        {
            return routes::close_session(&a.bank, &caller, s, now);
        }
        let request = routes::Request {
            method: &method,
            path: &path,
            query: &query,
            body: &bytes,
            customer_session: customer_session.as_deref(),
        };
        routes::handle(&a.bank, Some(&caller), &request, now)
    })
    .await
    .unwrap_or_else(|_| Reply::error(500, "internal", "the request could not be handled"));
    if let Some(e) = entered {
        e.done();
    }
    reply
}

/// 413 `body_too_large`: the limit, and for a seed file what to do instead.
fn too_large(limit: usize, import: bool) -> Reply {
    let message = if import {
        format!(
            "the seed file is larger than POST /v1/imports accepts ({limit} bytes, {} MiB): \
             nothing was imported. Ask for the batch in files under that size, or import the \
             file on the bank's server with `tokenline bank import FILE --key KEY`",
            limit / (1024 * 1024)
        )
    } else {
        format!("request bodies are limited to {limit} bytes here")
    };
    Reply::error(413, "body_too_large", message)
}

fn body_error(e: &axum::Error, limit: usize, import: bool) -> Reply {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if s.is::<http_body_util::LengthLimitError>() {
            return too_large(limit, import);
        }
        src = s.source();
    }
    Reply::error(
        408,
        "body_timeout",
        "the request body did not arrive in time: send it whole, at once",
    )
}

fn import_file<S: Store>(
    app: &App<S>,
    caller: &Caller,
    bytes: &[u8],
    skip_known: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Reply {
    // Authorize before saying anything about the server's configuration.
    if let Err(e) = caller.authorize(lifecycle::Action::Import) {
        return routes::refusal(&e);
    }
    let Some(importer) = &app.importer else {
        return Reply::error(
            501,
            "import_not_configured",
            "this server was started without --import-key: imports are not accepted over HTTP",
        );
    };
    match app
        .bank
        .import_file_with(caller, bytes, &**importer, skip_known, now)
    {
        Ok((o, digest, label)) => Reply {
            status: 201,
            body: serde_json::json!({ "imported": o.imported, "skipped": o.skipped, "digest": digest, "label": label }),
        },
        Err(e) => routes::refusal(&e),
    }
}

#[cfg(test)]
mod tests {
    /// Every route that checks a password passes the password gate: the list names routes
    /// that exist (a renamed route would slip past the gate), and every route whose body
    /// carries a password or a confirmation secret (by the spec) is in it.
    #[test]
    fn the_password_gate_names_real_routes_and_every_one_that_takes_a_secret() {
        for p in super::HASHING_ROUTES {
            assert!(
                crate::ROUTES
                    .iter()
                    .any(|r| r.method == "POST" && r.path == *p),
                "{p}: no such POST route"
            );
        }
        let spec = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/bank-api.openapi.yaml"
        ))
        .unwrap_or_default();
        // The request body of `path`'s POST: the spec's lines from `requestBody:` to
        // `responses:` within the path's block.
        let body_of = |path: &str| -> String {
            let head = format!("\n  {path}:\n");
            let Some(start) = spec.find(&head) else {
                return String::new();
            };
            let block = &spec[start + head.len()..];
            let block = &block[..block.find("\n  /").unwrap_or(block.len())];
            let from = block.find("requestBody:").unwrap_or(block.len());
            let rest = &block[from..];
            rest[..rest.find("responses:").unwrap_or(rest.len())].to_owned()
        };
        assert!(
            body_of("/v1/login").contains("password"),
            "the spec is read"
        );
        for r in crate::ROUTES.iter().filter(|r| r.method == "POST") {
            let body = body_of(r.path).to_lowercase();
            if body.contains("password") || body.contains("secret") {
                assert!(
                    super::HASHING_ROUTES.contains(&r.path),
                    "{}: takes a secret but passes no password gate",
                    r.path
                );
            }
        }
    }
}
