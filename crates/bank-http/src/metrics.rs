//! Prometheus metrics of one node (issue #16), served as text on their own listener
//! (`bank serve --metrics-listen ADDR`, `GET /metrics`), never on the API's.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `tokenline_http_requests_total` | counter | `route` (the template, e.g. `/v1/tokens/{serial}`), `method`, `status` |
//! | `tokenline_http_request_duration_seconds` | histogram | `route` |
//! | `tokenline_validations_total` | counter | `result`: `accepted`, `registration_required`, `not_required`, or the refusal's code (`wrong_code`, `replayed_code`, `locked`, …) |
//! | `tokenline_refusals_total` | counter | `route`, `reason` (the error code of every 4xx/5xx answer) |
//! | `tokenline_lockouts_total` | counter | `route`: failures that locked a login or a token (the refusal that used the last attempt) |
//! | `tokenline_db_connections` | gauge | `state`: `open`, `idle`, `in_use` (idle and in use only where the store can tell) |
//! | `tokenline_db_connections_max` | gauge | |
//! | `tokenline_db_file_bytes` | gauge | `file`: `db`, `wal` (SQLite only) |
//! | `tokenline_db_up` | gauge | 1 when the readiness query succeeds, 0 when it fails (the result of `/v1/ready` when under a second old, else run at the scrape) |
//!
//! Labels take values from bounded sets only (route templates, error codes, statuses): no
//! login, serial, code or key ever becomes a label.
//!
//! Library: `prometheus` (TiKV's client). Each server has its own `Registry`, so several
//! servers in one process (the tests) keep their own counts, which a global recorder
//! (`metrics` + `metrics-exporter-prometheus`) would merge; its text encoder is all we need,
//! served by the same hyper stack as the API rather than the exporter's own HTTP server.

use crate::ops::{PoolState, Probe};
use crate::routes::Reply;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::Arc;
use std::time::Duration;

/// Latency buckets (seconds): 0.5 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// The counters and gauges of one server.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    validations: IntCounterVec,
    refusals: IntCounterVec,
    lockouts: IntCounterVec,
    db_connections: IntGaugeVec,
    db_connections_max: IntGauge,
    db_file_bytes: IntGaugeVec,
    db_up: IntGauge,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    r.register(Box::new(c.clone()))
        .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    c
}

fn gauges(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    r.register(Box::new(g.clone()))
        .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    g
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    r.register(Box::new(g.clone()))
        .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    g
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let r = Registry::new();
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "tokenline_http_request_duration_seconds",
                "Time from the request's headers to its answer, by route.",
            )
            .buckets(BUCKETS.to_vec()),
            &["route"],
        )
        .unwrap_or_else(|e| unreachable!("latency histogram: {e}"));
        r.register(Box::new(latency.clone()))
            .unwrap_or_else(|e| unreachable!("latency histogram: {e}"));
        Metrics {
            requests: counter(
                &r,
                "tokenline_http_requests_total",
                "Requests answered, by route template, method and status.",
                &["route", "method", "status"],
            ),
            latency,
            validations: counter(
                &r,
                "tokenline_validations_total",
                "Login code validations (POST /v1/validate), by result: accepted, or the refusal's code.",
                &["result"],
            ),
            refusals: counter(
                &r,
                "tokenline_refusals_total",
                "Refused requests (4xx and 5xx), by route and error code.",
                &["route", "reason"],
            ),
            lockouts: counter(
                &r,
                "tokenline_lockouts_total",
                "Failures that used the last attempt and locked a login or a token, by route.",
                &["route"],
            ),
            db_connections: gauges(
                &r,
                "tokenline_db_connections",
                "Database connections of this node: open, idle, in_use.",
                &["state"],
            ),
            db_connections_max: gauge(
                &r,
                "tokenline_db_connections_max",
                "The most database connections this node opens.",
            ),
            db_file_bytes: gauges(
                &r,
                "tokenline_db_file_bytes",
                "Size of the SQLite database files (db, wal).",
                &["file"],
            ),
            db_up: gauge(
                &r,
                "tokenline_db_up",
                "1 when the readiness query of the database succeeds (the same as /v1/ready), else 0.",
            ),
            registry: r,
        }
    }

    /// Counts one answered request. `route` is the route's template (`other` for none).
    pub fn observe(&self, route: &str, method: &str, reply: &Reply, elapsed: Duration) {
        let status = reply.status.to_string();
        self.requests
            .with_label_values(&[route, method, status.as_str()])
            .inc();
        self.latency
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
        let reason = (reply.status >= 400)
            .then(|| reply.body["code"].as_str())
            .flatten();
        if let Some(reason) = reason {
            self.refusals.with_label_values(&[route, reason]).inc();
            if reply.body["attempts_remaining"].as_u64() == Some(0) {
                self.lockouts.with_label_values(&[route]).inc();
            }
        }
        if route == "/v1/validate" && method == "POST" {
            let result = match reason {
                Some(r) => Some(r),
                None if reply.status == 200 => reply.body["result"].as_str(),
                None => None,
            };
            if let Some(result) = result {
                self.validations.with_label_values(&[result]).inc();
            }
        }
    }

    /// The text exposition format, with the database gauges read now.
    pub fn render(&self, probe: Option<&dyn Probe>, up: Option<bool>) -> String {
        if let Some(p) = probe {
            let PoolState { open, idle, max } = p.pool();
            self.db_connections
                .with_label_values(&["open"])
                .set(i64::from(open));
            if let Some(idle) = idle {
                self.db_connections
                    .with_label_values(&["idle"])
                    .set(i64::from(idle));
                self.db_connections
                    .with_label_values(&["in_use"])
                    .set(i64::from(open.saturating_sub(idle)));
            }
            self.db_connections_max.set(i64::from(max));
            for (file, bytes) in p.file_bytes() {
                self.db_file_bytes
                    .with_label_values(&[file])
                    .set(i64::try_from(bytes).unwrap_or(i64::MAX));
            }
        }
        if let Some(up) = up {
            self.db_up.set(i64::from(up));
        }
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# encoding failed: {e}\n"))
    }
}

/// Binds the metrics listener: loopback only unless `public` (the metrics show the bank's
/// traffic, by route and refusal, to whoever can reach them).
pub(crate) fn bind(listen: &str, public: bool) -> Result<std::net::TcpListener, crate::StartError> {
    use crate::StartError;
    let l = std::net::TcpListener::bind(listen)
        .map_err(|e| StartError(format!("cannot listen for metrics on {listen}: {e}")))?;
    let addr = l
        .local_addr()
        .map_err(|e| StartError(format!("cannot listen for metrics on {listen}: {e}")))?;
    if !addr.ip().to_canonical().is_loopback() && !public {
        return Err(StartError(format!(
            "refusing metrics on {addr}: they show the bank's traffic to anyone who reaches them. \
             Listen on 127.0.0.1 (and scrape through a local agent), or give --metrics-public \
             with a firewall that lets only the Prometheus server in"
        )));
    }
    l.set_nonblocking(true)
        .map_err(|e| StartError(format!("metrics listener: {e}")))?;
    Ok(l)
}

/// Serves `GET /metrics` on `listener` (plain HTTP, a few connections, short timeouts) until
/// `stopped` changes. `scrape` renders the text.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    scrape: Arc<dyn Fn() -> String + Send + Sync>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    let router = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let scrape = scrape.clone();
                async move {
                    let text = tokio::task::spawn_blocking(move || scrape())
                        .await
                        .unwrap_or_default();
                    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
                }
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "only GET /metrics here\n").into_response() });
    let slots = Arc::new(tokio::sync::Semaphore::new(16));
    loop {
        let tcp = tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped.changed() => return,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let svc = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(5));
            let conn = http.serve_connection(hyper_util::rt::TokioIo::new(tcp), svc);
            let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
        });
    }
}
