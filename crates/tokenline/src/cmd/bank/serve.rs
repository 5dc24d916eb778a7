//! `bank serve --listen ADDR:PORT [--tls-cert F --tls-key F] [--allowed-host H]
//! [--backoffice-from CIDR]`.

use super::common::DbArgs;
use lifecycle::Bank;
use std::path::PathBuf;
use std::sync::Arc;

/// Serve the JSON API (spec/bank-api.openapi.yaml) and the web pages (customers at `/`, the
/// back office at `/backoffice/`, issue #11) until the process is stopped (Ctrl-C /
/// SIGTERM end it; every request is one database transaction, so nothing is half-written).
/// Prints `listening on ADDR` on stderr once ready (with `--log-format json`, a JSON line
/// whose `listening` field is ADDR), after a warning in the log (target `tokenline::serve`)
/// for each part of the bank nobody can use yet (no API client, no operator) and for plain
/// HTTP on a non-loopback address.
///
/// Every route but /v1/health (liveness) and /v1/ready (readiness: the database answers)
/// needs `Authorization: Bearer <key>` (`bank client add`). One access-log line per request,
/// API or page (request id, client address, method, route, status, latency; `--log-format
/// json` for JSON lines), never a code, password, key, session, query or seed.
/// `--metrics-listen` serves Prometheus metrics on another address.
/// TLS with --tls-cert/--tls-key; plain HTTP is refused on a non-loopback address unless
/// --insecure-http (only behind a TLS-terminating proxy).
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// TLS certificate chain (PEM).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Plain HTTP on a non-loopback address (behind a TLS-terminating proxy only).
    #[arg(long)]
    insecure_http: bool,
    /// Host names clients use to reach the bank (the Host header is checked: DNS
    /// rebinding); repeat or comma-separate [default: the listening address and localhost].
    #[arg(long, value_delimiter = ',')]
    allowed_host: Vec<String>,
    /// Seconds for a client to send its request headers (and the TLS handshake); also the
    /// idle time after which a kept-alive connection is closed.
    #[arg(long, default_value_t = 5)]
    header_timeout: u64,
    /// Seconds for a client to send a whole request body.
    #[arg(long, default_value_t = 10)]
    body_timeout: u64,
    /// Concurrent connections; more are closed at once.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Concurrent connections from one IPv4 address or one IPv6 /64 (a host's many IPv6
    /// addresses count as one); more from it are closed at once (one client cannot hold every
    /// slot). Raise it for a front end that pools more connections.
    #[arg(long, default_value_t = 128)]
    max_connections_per_peer: usize,
    /// Threads of the async runtime (connections, TLS, HTTP). Default: the CPUs less one, at
    /// least one (the validations' group committer and its log syncer run on threads of their
    /// own beside them; on an idle 2-core machine one runtime thread served as many
    /// validations per second as two or more, with less CPU each). 1 to 256.
    #[arg(long, value_name = "N", value_parser = workers)]
    workers: Option<usize>,
    /// The key that opens seed files posted to /v1/imports (the bank's private key or a
    /// pre-shared key); without it the route answers 501.
    #[arg(long)]
    import_key: Option<PathBuf>,
    /// Serve Prometheus metrics (GET /metrics, plain HTTP) on this address, apart from the
    /// API: validations and refusals by reason, latency, database pool, lockouts. Loopback
    /// only unless --metrics-public.
    #[arg(long, value_name = "ADDR:PORT")]
    metrics_listen: Option<String>,
    /// Allow --metrics-listen on a non-loopback address (firewall it: the metrics show the
    /// bank's traffic).
    #[arg(long, requires = "metrics_listen")]
    metrics_public: bool,
    /// Networks whose clients reach the back office pages (/backoffice/…), as CIDR blocks
    /// (10.20.0.0/16, fd00:1::/64) or single addresses; repeat or comma-separate. A request
    /// from elsewhere gets the pages' 404 page and counts no failed sign-in [default: loopback
    /// only, 127.0.0.0/8 and ::1]. Behind a reverse proxy every client has the proxy's
    /// address: name the staff's proxy only. The API's /v1/operator/… routes are not
    /// concerned (API keys guard them).
    #[arg(long, value_delimiter = ',', value_name = "CIDR", value_parser = bank_web::backoffice::reach::parse_net)]
    backoffice_from: Vec<bank_web::IpNet>,
    /// Serve only the JSON API, without the web pages (customers at /, back office at
    /// /backoffice/).
    #[arg(long)]
    no_pages: bool,
    /// Seconds between checks of the audit log's head (entry count and last link), logged
    /// (target `tokenline::audit_head`) at start, when it moved, and at Ctrl-C / SIGTERM: keep
    /// those lines outside the database to check with `bank audit verify --expect-head`.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    audit_head_every: u64,
}

/// `--workers N`: a whole number in `bank_http::check_workers`'s range; anything else (`3x`,
/// `-1`) is answered with that range too (clap's error names the option and the value).
fn workers(s: &str) -> Result<usize, String> {
    bank_http::check_workers(s.parse().unwrap_or(0))
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        // Open once up front: a wrong key, a missing database or a refused clock fails here.
        let first = self.db.open()?;
        let plain = self.tls_cert.is_none();
        let mut warnings = super::serve_warnings::unused(&first, !self.no_pages)?;
        let policy = first.bank.policy().clone();
        let clock_spec = first.clock;
        drop(first);
        let clock: bank_http::Clock =
            Arc::new(move || clock_spec.map_or_else(chrono::Utc::now, |c| c.now()));
        let db = self.db.clone();
        let note = clock_spec.map(|c| c.note());
        // Customer API sessions are signed with a key derived from the master key, so every
        // node of the bank takes the sessions of the others.
        let session_key =
            lifecycle_sqlite::MasterKey::load(&db.key_path()?)?.derive(lifecycle::SESSION_KEY_INFO);
        let importer = match &self.import_key {
            Some(k) => Some(super::import::http_importer(k)?),
            None => None,
        };
        // One import lane for the API's imports and the back office's uploads (issue #10).
        let imports = bank_http::ImportLane::default();
        let pages = if self.no_pages {
            None
        } else {
            let store = db.store()?;
            let bank = Bank::new(store, policy.clone()).with_clock_note(note.clone());
            let clock = clock.clone();
            // The back office's extras: the same seed file opener as POST /v1/imports, and
            // the mailing room's campaigns in the same database.
            let office = bank_web::backoffice::Office {
                importer: importer.clone(),
                campaigns: Some(Arc::new(mailroom::Mailroom::new(
                    crate::cmd::bank_db::MailDb::open(&db.db)?,
                ))),
                imports: imports.clone(),
                staff: bank_web::backoffice::StaffNetworks::new(self.backoffice_from.clone()),
            };
            Some(bank_web::router_with(
                bank,
                Arc::new(move || clock()),
                office,
            ))
        };
        let cfg = bank_http::ServeConfig {
            listen: self.listen.clone(),
            allowed_hosts: self.allowed_host.clone(),
            tls: match (self.tls_cert, self.tls_key) {
                (Some(cert), Some(key)) => Some(bank_http::Tls { cert, key }),
                _ => None,
            },
            insecure_http: self.insecure_http,
            limits: bank_http::Limits {
                header_timeout: std::time::Duration::from_secs(self.header_timeout.max(1)),
                body_timeout: std::time::Duration::from_secs(self.body_timeout.max(1)),
                max_connections: self.max_connections,
                max_connections_per_peer: self.max_connections_per_peer,
            },
            importer,
            workers: self.workers.unwrap_or_else(bank_http::default_workers),
            pages,
            imports,
        };
        let probe = Arc::new(super::serve_probe::NodeProbe::default());
        let ops = bank_http::OpsConfig {
            probe: Some(probe.clone()),
            metrics_listen: self.metrics_listen.clone(),
            metrics_public: self.metrics_public,
        };
        let running = bank_http::serve_with(
            cfg,
            ops,
            move || {
                let store = db.store().map_err(|e| format!("{e:#}"))?;
                probe.track(&store, &db.db);
                Ok(Bank::new(store, policy.clone())
                    .with_clock_note(note.clone())
                    .with_session_key(lifecycle::SessionKey::new(session_key.clone())))
            },
            clock,
        )?;
        if let Some(m) = running.metrics_addr() {
            announce("metrics", m);
        }
        super::serve_audit_head::start(
            &self.db,
            std::time::Duration::from_secs(self.audit_head_every.max(1)),
        )?;
        warnings.extend(super::serve_warnings::plain_http(running.addr(), plain));
        for w in warnings {
            tracing::warn!(target: "tokenline::serve", "{w}");
        }
        announce("listening", running.addr());
        running.wait();
        Ok(())
    }
}

/// Prints that the server is ready on stderr, the line scripts wait for: `listening on ADDR`
/// (`what` = `listening`) or `metrics on ADDR`. With `--log-format json` the line is one JSON
/// object like the log's (`timestamp`, `level` INFO, `target` `tokenline`, `message` the
/// text line) with the address in a field named `what`, so a JSON log stays JSON. Printed
/// whatever the log filter, as the text line is.
fn announce(what: &str, addr: std::net::SocketAddr) {
    let text = format!("{what} on {addr}");
    crate::cmd::stderr_line("INFO", &text, &text, &[(what, addr.to_string())]);
}
