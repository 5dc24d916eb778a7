//! What a bank's operations team asks of a node on several (issue #16): the readiness probe
//! `GET /v1/ready` (the database answers a cheap query), the database pool's state for the
//! metrics, and where the metrics listen ([`OpsConfig`]).
//!
//! `/v1/ready` is open (no credential), as load balancers probe: it answers only
//! `{"status":"ready"}` (200) or `{"status":"not_ready"}` (503) — never why (host, SQLSTATE,
//! pool), which goes to the server's log. One probe result is shared by all probes within
//! [`READY_CACHE`], so an unauthenticated flood of probes costs the database at most one
//! query a second. `/v1/health` stays the liveness probe: it never touches the database (a
//! node whose database is away is alive and must not be restarted for it).

use crate::routes::Reply;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one readiness result answers every probe.
pub const READY_CACHE: Duration = Duration::from_secs(1);

/// How long a readiness query may take before the node is reported not ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// A node's connections to its database, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolState {
    /// Connections open now.
    pub open: u32,
    /// Of those, idle in the pool (`None` when the store cannot tell, e.g. SQLite's one
    /// connection per store behind a mutex).
    pub idle: Option<u32>,
    /// The most the node opens.
    pub max: u32,
}

/// The database as the operations endpoints see it: given by the caller of
/// [`crate::serve_with`] (the CLI knows whether it is SQLite or PostgreSQL).
pub trait Probe: Send + Sync {
    /// A cheap query (`SELECT 1`): `Err` with the detail, for the server's log only.
    fn ping(&self) -> Result<(), String>;
    /// The pool's state now (no query).
    fn pool(&self) -> PoolState;
    /// Sizes in bytes of the database's files, by name (`db`, `wal`), where the database is
    /// a local file (SQLite); empty otherwise.
    fn file_bytes(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// The operations side of [`crate::serve_with`].
#[derive(Clone, Default)]
pub struct OpsConfig {
    /// Readiness query and pool state; without one, `/v1/ready` runs an empty transaction.
    pub probe: Option<Arc<dyn Probe>>,
    /// `ADDR:PORT` of the Prometheus metrics (`GET /metrics`, plain HTTP); `None`: no
    /// metrics listener. Never the API's listener.
    pub metrics_listen: Option<String>,
    /// Allow the metrics on a non-loopback address (they show the bank's traffic: put them
    /// behind a firewall).
    pub metrics_public: bool,
}

/// The last readiness result, shared by the probes of one second.
#[derive(Default)]
pub(crate) struct ReadyCache {
    last: Mutex<Option<(Instant, bool)>>,
}

impl ReadyCache {
    /// The last result, when fresh.
    fn fresh(&self) -> Option<bool> {
        let last = self.last.lock().ok()?;
        last.filter(|(at, _)| at.elapsed() < READY_CACHE)
            .map(|(_, ok)| ok)
    }

    fn store(&self, ok: bool) {
        if let Ok(mut l) = self.last.lock() {
            *l = Some((Instant::now(), ok));
        }
    }

    /// The readiness now, for a scrape (already on a blocking thread): the last result when
    /// fresh, else `ping` is run.
    pub(crate) fn now_blocking(&self, ping: impl FnOnce() -> Result<(), String>) -> bool {
        if let Some(ok) = self.fresh() {
            return ok;
        }
        let ok = match ping() {
            Ok(()) => true,
            Err(detail) => {
                tracing::error!("bank-http: not ready: {detail}");
                false
            }
        };
        self.store(ok);
        ok
    }

    /// Runs `ping` on the blocking pool (unless a fresh result exists) and answers the probe.
    pub(crate) async fn reply<F>(&self, ping: F) -> Reply
    where
        F: FnOnce() -> Result<(), String> + Send + 'static,
    {
        let ok = match self.fresh() {
            Some(ok) => ok,
            None => {
                let ok =
                    match tokio::time::timeout(READY_TIMEOUT, tokio::task::spawn_blocking(ping))
                        .await
                    {
                        Ok(Ok(Ok(()))) => true,
                        Ok(Ok(Err(detail))) => {
                            tracing::error!("bank-http: not ready: {detail}");
                            false
                        }
                        Ok(Err(_)) => {
                            tracing::error!("bank-http: not ready: the readiness query panicked");
                            false
                        }
                        Err(_) => {
                            tracing::error!(
                                "bank-http: not ready: the database did not answer within {} s",
                                READY_TIMEOUT.as_secs()
                            );
                            false
                        }
                    };
                self.store(ok);
                ok
            }
        };
        if ok {
            Reply {
                status: 200,
                body: json!({ "status": "ready" }),
            }
        } else {
            Reply {
                status: 503,
                body: json!({ "status": "not_ready" }),
            }
        }
    }
}
