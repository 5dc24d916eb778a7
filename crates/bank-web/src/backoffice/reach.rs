//! Who reaches the back office (issue #10 review M2): only the bank staff's networks. The
//! operator login page was public, so anyone could lock an operator out with wrong sign-ins
//! (12 of them lock `sato` for 30 minutes). Now a request to `/backoffice` or
//! `/backoffice/…` from an address outside [`StaffNetworks`] gets the pages' ordinary 404
//! page ([`crate::page::not_found`]: nothing tells a back office is there) and no handler
//! runs, so no sign-in is tried and no operator's failure is counted.
//!
//! The address is the connection's peer (`axum::extract::ConnectInfo<SocketAddr>`, which the
//! server puts on every request: `bank_http::serve`); a request without one is outside.
//! Behind a reverse proxy every request comes from the proxy: name the staff's proxy only, or
//! none but loopback. The JSON API's operator routes (`/v1/operator/…`) are not gated here:
//! bearer keys guard them.

use crate::Web;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use lifecycle::Store;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// The networks the back office answers (CIDR blocks); by default loopback only
/// (`127.0.0.0/8` and `::1`): the bank widens it to its staff network
/// (`tokenline bank serve --backoffice-from CIDR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffNetworks(Vec<IpNet>);

impl Default for StaffNetworks {
    fn default() -> Self {
        Self::loopback()
    }
}

impl StaffNetworks {
    /// Loopback only: `127.0.0.0/8` and `::1/128`.
    pub fn loopback() -> Self {
        StaffNetworks(vec![
            IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
            IpNet::new_assert(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
        ])
    }

    /// Exactly `nets` (an empty list: loopback only, never nobody by mistake).
    pub fn new(nets: Vec<IpNet>) -> Self {
        if nets.is_empty() {
            return Self::loopback();
        }
        StaffNetworks(nets)
    }

    /// The networks.
    pub fn nets(&self) -> &[IpNet] {
        &self.0
    }

    /// Whether `ip` is in one of the networks (an IPv4-mapped IPv6 address, `::ffff:a.b.c.d`
    /// as a dual-stack listener sees IPv4 clients, counts as its IPv4 address).
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }
}

/// Parses one `--backoffice-from` value: a CIDR block (`10.20.0.0/16`, `fd00:1::/64`) or a
/// single address (`192.0.2.7`, taken as `/32` or `/128`). The error names the value and
/// what to give.
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Ok(n.trunc());
    }
    s.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
        format!(
            "{s:?} is no network: give a CIDR block such as 10.20.0.0/16 or fd00:1::/64, \
             or one address"
        )
    })
}

/// Whether `path` is the back office's (`/backoffice` or under `/backoffice/`).
fn back_office_path(path: &str) -> bool {
    path.strip_prefix("/backoffice")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The middleware: a back-office request from outside the staff networks answers the pages'
/// 404 page, as a path the pages do not serve would.
pub async fn layer<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    req: Request,
    next: Next,
) -> Response {
    if !back_office_path(&crate::page::full_path(req.extensions(), req.uri())) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let peer = ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, &())
        .await
        .ok()
        .map(|ConnectInfo(a)| a.ip());
    let req = Request::from_parts(parts, body);
    if peer.is_some_and(|ip| web.office.staff.allows(ip)) {
        return next.run(req).await;
    }
    crate::page::not_found(req).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// [`parse_net`], named apart: the catalogue test takes a call ending in t and a quote
    /// for a message key.
    fn parsed(s: &str) -> Result<IpNet, String> {
        parse_net(s)
    }

    #[test]
    fn the_back_office_answers_loopback_only_by_default() {
        let n = StaffNetworks::default();
        for ip in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert!(n.allows(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.0.0.1",
            "192.0.2.1",
            "::2",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!n.allows(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn a_staff_network_replaces_loopback_and_counts_mapped_ipv4_as_ipv4() {
        let n = StaffNetworks::new(vec![parsed("10.0.0.0/8").unwrap()]);
        assert!(n.allows("10.1.2.3".parse().unwrap()));
        assert!(n.allows("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!n.allows("127.0.0.1".parse().unwrap()));
        assert_eq!(StaffNetworks::new(Vec::new()), StaffNetworks::loopback());
    }

    #[test]
    fn a_network_is_a_cidr_block_or_one_address_and_anything_else_is_named() {
        assert_eq!(parsed("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parsed("192.0.2.7").unwrap().to_string(), "192.0.2.7/32");
        assert_eq!(parsed("fd00:1::/64").unwrap().to_string(), "fd00:1::/64");
        let e = parsed("10.0.0.0/33").unwrap_err();
        assert!(e.contains("10.0.0.0/33") && e.contains("CIDR"), "{e}");
        assert!(parsed("staff").is_err());
    }

    #[test]
    fn only_the_back_office_paths_are_gated() {
        for p in [
            "/backoffice",
            "/backoffice/",
            "/backoffice/login",
            "/backoffice/a/b",
        ] {
            assert!(back_office_path(p), "{p}");
        }
        for p in [
            "/",
            "/login",
            "/backofficex",
            "/v1/operator/sessions",
            "/static/style.css",
        ] {
            assert!(!back_office_path(p), "{p}");
        }
    }
}
