//! What `bank serve` warns about as it starts, in its log (target `tokenline::serve`) before
//! `listening on`: a bank that nobody can use yet, or a listening address open in clear. Each warning
//! says what it means and the command that settles it; none stops the server (a bank may
//! start it first and add its clients after).

use super::common::Opened;
use std::net::SocketAddr;

/// The warnings for a server of `o`'s bank serving the web pages if `pages`: the parts of
/// the bank nobody can use yet, one sentence each.
pub fn unused(o: &Opened, pages: bool) -> anyhow::Result<Vec<String>> {
    let now = o.now();
    let mut out = Vec::new();
    let clients = o.bank.list_clients(&o.caller, now)?;
    damaged_rows(&clients, &mut out);
    if !clients
        .rows
        .iter()
        .flatten()
        .any(|c| c.revoked_at.is_none())
    {
        out.push(
            "no API client holds a key: every /v1 route but /v1/health and /v1/ready answers \
             401 until one is added (`tokenline bank client add NAME --scope login`)"
                .to_owned(),
        );
    }
    if pages {
        let operators = o.bank.list_operators(&o.caller, now)?;
        damaged_rows(&operators, &mut out);
        if !operators
            .rows
            .iter()
            .flatten()
            .any(|op| op.removed_at.is_none())
        {
            out.push(
                "no operator: nobody can sign in to the back office (/backoffice/) until one is \
                 added (`tokenline bank operator add NAME --role supervisor --serial S --code C`)"
                    .to_owned(),
            );
        }
    }
    Ok(out)
}

/// A warning for each damaged row of `listing` (the server starts: the other rows serve).
fn damaged_rows<T>(listing: &lifecycle::store::Listing<T>, out: &mut Vec<String>) {
    out.extend(
        listing
            .rows
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| e.to_string()),
    );
}

/// The warning for a server bound to `addr` (the address it listens on, a host name
/// resolved and port 0 chosen), in plain HTTP if `plain`: none on a loopback address
/// (`::ffff:127.0.0.1` included).
pub fn plain_http(addr: SocketAddr, plain: bool) -> Option<String> {
    (plain && !addr.ip().to_canonical().is_loopback()).then(|| {
        format!(
            "plain HTTP on {addr} (--insecure-http): one-time passwords, login passwords and \
             API keys cross the network in clear; only a TLS-terminating proxy may reach this \
             address"
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::plain_http;

    #[test]
    fn plain_http_is_said_off_loopback_only() {
        let said = |a: &str| plain_http(a.parse().unwrap(), true);
        assert!(said("0.0.0.0:8080").is_some_and(|w| w.contains("0.0.0.0:8080")));
        assert!(said("[::]:8080").is_some());
        assert!(said("10.0.0.5:8080").is_some());
        assert!(said("127.0.0.1:8080").is_none());
        assert!(said("[::1]:8080").is_none());
        assert!(said("[::ffff:127.0.0.1]:8080").is_none());
        assert!(plain_http("0.0.0.0:8080".parse().unwrap(), false).is_none());
    }
}
