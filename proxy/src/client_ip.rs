//! The client's IP address, worked out in one place for rate limiting, plugins (and their
//! country) and the access log: the TCP peer, unless the peer is one of
//! `proxy.trusted_proxies`; then the right-most `X-Forwarded-For` address that is not itself
//! a trusted proxy. `X-Forwarded-For` from any other peer is ignored (anyone can send it).

use std::net::{IpAddr, SocketAddr};
use weir_bundle::Cidr;

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

/// One `X-Forwarded-For` entry: an address, or an address with a port (`ip:port`,
/// `[v6]:port`), as some proxies write it.
fn parse_entry(entry: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(entry).ok()?.trim();
    text.parse::<IpAddr>()
        .or_else(|_| text.parse::<SocketAddr>().map(|sa| sa.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

impl TrustedProxies {
    /// The validated `proxy.trusted_proxies` list (entries that do not parse are skipped:
    /// validation has already refused them).
    pub fn new(networks: &[String]) -> Self {
        TrustedProxies(networks.iter().filter_map(|n| n.parse().ok()).collect())
    }

    /// True when `ip` is in a trusted network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }

    /// The client address of a connection from `peer` carrying these `X-Forwarded-For`
    /// header values (in the order received). Walks the list from the right while the hop
    /// it came from is trusted; an entry that is not an address stops the walk at the last
    /// good hop.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a [u8]>,
    ) -> IpAddr {
        let mut client = peer.to_canonical();
        if self.0.is_empty() {
            return client;
        }
        let entries = forwarded_for
            .rev()
            .flat_map(|value| value.rsplit(|b| *b == b','));
        for entry in entries {
            if !self.contains(client) {
                break;
            }
            match parse_entry(entry) {
                Some(ip) => client = ip,
                None => break,
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn client(t: &TrustedProxies, peer: &str, xff: &[&str]) -> String {
        let peer: IpAddr = peer.parse().expect("peer");
        t.client_ip(peer, xff.iter().map(|v| v.as_bytes()))
            .to_string()
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_peers() {
        let t = trusted(&["10.0.0.0/8", "127.0.0.1"]);
        assert_eq!(client(&t, "192.0.2.1", &["203.0.113.5"]), "192.0.2.1");
        assert_eq!(client(&t, "127.0.0.1", &["203.0.113.5"]), "203.0.113.5");
        assert_eq!(client(&t, "127.0.0.1", &[]), "127.0.0.1");
        let none = trusted(&[]);
        assert_eq!(client(&none, "127.0.0.1", &["203.0.113.5"]), "127.0.0.1");
    }

    #[test]
    fn the_right_most_untrusted_address_wins() {
        let t = trusted(&["10.0.0.0/8", "127.0.0.1/32"]);
        // A client that forged an entry, then two of our proxies.
        assert_eq!(
            client(
                &t,
                "127.0.0.1",
                &["6.6.6.6, 203.0.113.5, 10.1.1.1", "10.2.2.2"]
            ),
            "203.0.113.5"
        );
        // Every hop trusted: the left-most one.
        assert_eq!(client(&t, "127.0.0.1", &["10.9.9.9, 10.1.1.1"]), "10.9.9.9");
        // Ports and spaces are tolerated; garbage stops the walk at the last good hop.
        assert_eq!(
            client(&t, "127.0.0.1", &[" 203.0.113.5:4711 "]),
            "203.0.113.5"
        );
        assert_eq!(
            client(&t, "127.0.0.1", &["[2001:db8::1]:80"]),
            "2001:db8::1"
        );
        assert_eq!(
            client(&t, "127.0.0.1", &["203.0.113.5, unknown"]),
            "127.0.0.1"
        );
        assert_eq!(client(&t, "127.0.0.1", &["unknown, 10.1.1.1"]), "10.1.1.1");
        assert_eq!(
            client(&t, "::ffff:127.0.0.1", &["198.51.100.7"]),
            "198.51.100.7"
        );
    }
}
