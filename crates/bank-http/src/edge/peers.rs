//! The per-peer bound on connections (`Limits::max_connections_per_peer`), counted per
//! network prefix (issue #10 review M4): an IPv6 client is its /64, an IPv4 client its
//! address (/32), an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as a dual-stack listener sees
//! IPv4 clients) its IPv4 address. Counted per single IPv6 address, one host with a /64 — the
//! smallest block a network hands out, 2^64 addresses — took every global slot from
//! distinct addresses (55 % of new connections' validations failed in the review's run).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The prefix whose connections count together: the /64 of an IPv6 address, the /32 of an
/// IPv4 one (an IPv4-mapped IPv6 address counts as its IPv4 address).
pub(super) fn peer_key(ip: IpAddr) -> IpNet {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpNet::V4(Ipv4Net::from(v4)),
        IpAddr::V6(v6) => Ipv6Net::new(v6, 64)
            .map(|n| IpNet::V6(n.trunc()))
            .unwrap_or_else(|_| IpNet::V6(Ipv6Net::from(v6))),
    }
}

/// Open connections per peer prefix ([`peer_key`]).
#[derive(Default)]
pub(super) struct PeerCounts(Mutex<HashMap<IpNet, usize>>);

/// One connection of a peer, given back when the connection ends (dropped).
pub(super) struct PeerSlot {
    peers: Arc<PeerCounts>,
    key: IpNet,
}

impl PeerCounts {
    /// A slot for one more connection from `ip`, or `None` when its prefix holds `max`
    /// already.
    pub(super) fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<PeerSlot> {
        let key = peer_key(ip);
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(key).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            peers: self.clone(),
            key,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut m = self.peers.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_peer_is_its_ipv6_64_its_ipv4_address_and_a_mapped_ipv4_is_its_ipv4() {
        assert_eq!(
            peer_key(ip("2001:db8:1:2:aaaa::1")).to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            peer_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            peer_key(ip("2001:db8:1:2::"))
        );
        assert_ne!(
            peer_key(ip("2001:db8:1:2::1")),
            peer_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(peer_key(ip("192.0.2.7")).to_string(), "192.0.2.7/32");
        assert_ne!(peer_key(ip("192.0.2.7")), peer_key(ip("192.0.2.8")));
        assert_eq!(peer_key(ip("::ffff:192.0.2.7")), peer_key(ip("192.0.2.7")));
    }

    #[test]
    fn many_addresses_of_one_64_share_one_bound_and_two_64s_do_not() {
        let peers = Arc::new(PeerCounts::default());
        let base = u128::from("2001:db8:1:2::".parse::<Ipv6Addr>().unwrap());
        let addr = |host: u128| IpAddr::V6(Ipv6Addr::from(base | host));
        // Four slots of the /64 taken from four different addresses: the fifth address waits.
        let mut held: Vec<PeerSlot> = (1..=4)
            .map(|h| peers.take(addr(h * 7919), 4).unwrap())
            .collect();
        assert!(
            peers.take(addr(0xdead_beef), 4).is_none(),
            "the /64 is full"
        );
        // Another /64 has its own bound.
        let other = IpAddr::V6(Ipv6Addr::from(base + (1u128 << 64) + 1));
        assert!(peers.take(other, 4).is_some());
        // A connection of the /64 ends: one more address of it gets in.
        drop(held.pop());
        let _again = peers.take(addr(42), 4).unwrap();
        assert!(
            peers.take(addr(43), 4).is_none(),
            "and the /64 is full again"
        );
    }

    #[test]
    fn a_mapped_ipv4_peer_and_its_ipv4_address_share_one_bound() {
        let peers = Arc::new(PeerCounts::default());
        let _a = peers.take(ip("192.0.2.7"), 2).unwrap();
        let _b = peers.take(ip("::ffff:192.0.2.7"), 2).unwrap();
        assert!(peers.take(ip("192.0.2.7"), 2).is_none());
        assert!(peers.take(ip("192.0.2.8"), 2).is_some());
    }
}
