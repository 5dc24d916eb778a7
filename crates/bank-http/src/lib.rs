//! The bank's JSON API (`spec/bank-api.openapi.yaml`) on axum over tokio/hyper, with TLS
//! by rustls (issue #10).
//!
//! The edge ([`serve`]) maps credentials to an identity and enforces what a hostile network
//! needs: TLS (plain HTTP only on loopback unless `insecure_http`), a `Host` allow-list (DNS
//! rebinding), `Content-Type: application/json` on JSON routes (no cross-site form posts), a
//! body limit, header/body read timeouts and an idle timeout (no slow-client trick holds a
//! connection), and a bound on concurrent connections. Authorization is the domain's
//! ([`lifecycle::auth`]); [`routes::handle`] maps a request to one use case and its errors to
//! statuses. Login validations go through a group committer ([`committer`]): many share one
//! transaction, hence one fsync, each still accepted exactly once.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod access;
pub mod committer;
mod edge;
mod identity;
mod linger;
#[cfg(feature = "load-client")]
pub mod load;
pub mod metrics;
pub mod ops;
mod panics;
pub mod routes;

pub use access::REQUEST_ID_HEADER;
pub use edge::{
    check_workers, default_workers, serve, serve_with, Limits, Running, ServeConfig, StartError,
    Tls, MAX_WORKERS,
};
pub use identity::KEY_CACHE;
pub use import_lane::ImportLane;
pub use ops::{OpsConfig, PoolState, Probe};
pub use routes::{handle, Reply, ROUTES};

use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The largest JSON request body accepted (bytes).
pub const MAX_BODY: usize = 64 * 1024;

/// The largest seed file accepted by `POST /v1/imports` (bytes).
pub const MAX_IMPORT: usize = 64 * 1024 * 1024;

/// The largest customer file accepted by `POST /v1/customer-imports` (bytes): the library's
/// bound, the same as `tokenline bank customers import`'s.
pub const MAX_CUSTOMER_FILE: usize = lifecycle::customer_import::file::MAX_FILE_BYTES;

/// Reads the current time (the real clock, or a staging clock).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Turns an uploaded seed file into tokens: `(digest, label, tokens)` or a message saying
/// what is wrong with the file. Given by the caller of [`serve`] (the CLI decrypts with the
/// key the server was started with); without one, `POST /v1/imports` answers 501.
pub type Importer = Arc<lifecycle::SeedFileOpener<'static>>;
