//! The checks of every request before a route runs: `Host` (DNS rebinding), the media type
//! and whether a body is announced.

use super::App;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lifecycle::Store;
use std::sync::Arc;

pub(super) fn header_text<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// A session header (`X-Customer-Session`, `X-Operator-Session`) as presented: `None` when
/// the request has none, and an empty text (a session no one has) when its value is not
/// visible ASCII. Issue #10 review: such a value was taken for no header, so a validation
/// with it spent the code without signing anyone in.
pub(super) fn session_header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .map(|_| header_text(h, name).unwrap_or_default().to_owned())
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
    pub(super) fn host_allowed(&self, h: &HeaderMap, uri: &axum::http::Uri) -> bool {
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

pub(super) fn media_type(h: &HeaderMap) -> Option<String> {
    header_text(h, "content-type").map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

/// Whether the request announces a body (`Content-Length` above 0, or chunked).
pub(super) fn sends_body(h: &HeaderMap) -> bool {
    h.contains_key(header::TRANSFER_ENCODING)
        || header_text(h, "content-length").is_some_and(|l| l != "0")
}

/// The `Host` check in front of the pages (the API checks it in `dispatch_reply`).
pub(super) async fn page_host<S: Store + Send + Sync + 'static>(
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
