//! What `bank serve` warns about as it starts, in its log (target `tokenline::serve`) before
//! `listening on`: a bank that nobody can use yet, or a listening address open in clear. Each warning
//! says what it means and the command that settles it; none stops the server (a bank may
//! start it first and add its clients after).

use super::common::Opened;
use std::net::SocketAddr;

/// The warnings for a server of `o`'s bank listening on `listen`, serving the web pages if
/// `pages`, in plain HTTP if `plain` (no `--tls-cert`): one sentence each.
pub fn warnings(o: &Opened, listen: &str, pages: bool, plain: bool) -> anyhow::Result<Vec<String>> {
    let now = o.now();
    let mut out = Vec::new();
    let clients = o.bank.list_clients(&o.caller, now)?;
    if !clients.iter().any(|c| c.revoked_at.is_none()) {
        out.push(
            "no API client holds a key: every /v1 route but /v1/health and /v1/ready answers \
             401 until one is added (`tokenline bank client add NAME --scope login`)"
                .to_owned(),
        );
    }
    if pages {
        let operators = o.bank.list_operators(&o.caller, now)?;
        if !operators.iter().any(|op| op.removed_at.is_none()) {
            out.push(
                "no operator: nobody can sign in to the back office (/backoffice/) until one is \
                 added (`tokenline bank operator add NAME --role supervisor --serial S --code C`)"
                    .to_owned(),
            );
        }
    }
    let public = listen
        .parse::<SocketAddr>()
        .is_ok_and(|a| !a.ip().is_loopback());
    if plain && public {
        out.push(format!(
            "plain HTTP on {listen} (--insecure-http): one-time passwords, login passwords and \
             API keys cross the network in clear; only a TLS-terminating proxy may reach this \
             address"
        ));
    }
    Ok(out)
}
