//! The accept loop: TLS, the connection bounds (all connections, per peer), timeouts, and the
//! service every connection runs (the API, the pages beside it, panics, body deadlines).

use super::checks::page_host;
use super::dispatch::dispatch;
use super::peers::PeerCounts;
use super::{App, Limits};
use axum::Router;
use lifecycle::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

pub(super) async fn accept_loop<S: Store + Send + Sync + 'static>(
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
            .merge(
                p.layer(axum::middleware::from_fn_with_state(app, page_host::<S>))
                    // Outside the Host check: a refused page is logged too.
                    .layer(axum::middleware::from_fn(crate::access::pages)),
            ),
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
        // Over the bound (of the peer's prefix: `peers`): close at once (the client retries),
        // never queue.
        let Some(peer_slot) = peers.take(peer.ip(), limits.max_connections_per_peer.max(1)) else {
            drop(tcp);
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        // The peer's address on every request of the connection, as axum's `ConnectInfo`
        // (axum's own extension layer): the pages' back-office allowlist and the access log
        // read it.
        let service = tower::Layer::layer(
            &axum::Extension(axum::extract::ConnectInfo(peer)),
            service.clone(),
        );
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
