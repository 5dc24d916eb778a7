//! Security headers on every page, in one place: a Content-Security-Policy that allows no
//! script and no inline style (the pages need none: plain forms), no framing (clickjacking),
//! no caching of pages that show customers' data, `nosniff`, and no `Referer` leaving the site (`same-origin`: with `no-referrer` the browser
//! would send `Origin: null` on our own form posts, and the CSRF check reads `Origin`).

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The Content-Security-Policy of every page.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The middleware adding the headers.
pub async fn layer(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: under `no-referrer` Chrome sends `Origin: null` with
    // every form post, which the CSRF origin check must refuse; `same-origin` still sends no
    // referrer to any other site.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
