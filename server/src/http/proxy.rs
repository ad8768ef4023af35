//! What trusted proxies say about a request: the client's address (`X-Forwarded-For`) and
//! whether the client used HTTPS (`X-Forwarded-Proto`).
//!
//! Promises: nothing a client writes is believed unless `TRUST_PROXY_HEADERS` is set; then the
//! client is the `X-Forwarded-For` entry that the outermost of `TRUSTED_PROXY_HOPS` proxies
//! wrote, and an entry that is not an address means the peer, never an entry further left.
use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// Which proxies in front of the app are trusted to say who the client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyTrust {
    /// None: the client is the connection's peer, `X-Forwarded-For` is ignored.
    None,
    /// This many proxies each append the address they saw to `X-Forwarded-For`
    /// (`TRUST_PROXY_HEADERS=true`, `TRUSTED_PROXY_HOPS`).
    Hops(u32),
}

impl ProxyTrust {
    pub fn from_config(config: &crate::config::Config) -> Self {
        if config.trust_proxy_headers {
            Self::Hops(config.trusted_proxy_hops)
        } else {
            Self::None
        }
    }
}

/// The client's address: the connection's peer, or, behind trusted proxies, the
/// `X-Forwarded-For` entry that the outermost trusted proxy wrote: `hops` entries from the
/// right (every header joined in order). Entries to its left come from the client and could be
/// forged, so they are never used; when that entry is not an address (`unknown`, garbage), the
/// peer is used rather than any other entry. Entries may be `ip`, `ip:port` or `[v6]:port`.
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trust: ProxyTrust) -> Option<IpAddr> {
    let ProxyTrust::Hops(hops) = trust else {
        return peer;
    };
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if entries.is_empty() {
        return peer;
    }
    // Fewer entries than proxies: the furthest one there is.
    let index = entries.len().saturating_sub(hops.max(1) as usize);
    parse_forwarded_ip(entries[index]).or(peer)
}

/// `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`, `[2001:db8::1]:4711` → the address.
fn parse_forwarded_ip(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    // `[v6]` without a port.
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse::<std::net::Ipv6Addr>().ok())
        .map(IpAddr::V6)
}

/// Whether the client's request came over HTTPS: only a trusted proxy can say so (the app
/// itself serves plain HTTP).
pub fn is_https(headers: &HeaderMap, trust: ProxyTrust) -> bool {
    trust != ProxyTrust::None
        && headers
            .get("x-forwarded-proto")
            .and_then(|p| p.to_str().ok())
            .and_then(|p| p.split(',').next_back())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_client_ip_comes_from_a_trusted_proxy_only() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let h = forwarded(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(client_ip(&h, Some(peer), ProxyTrust::None), Some(peer));
        assert_eq!(
            client_ip(&h, Some(peer), ProxyTrust::Hops(1)),
            ip("203.0.113.7"),
            "the proxy's own entry, not the client's"
        );
        assert_eq!(
            client_ip(&h, Some(peer), ProxyTrust::Hops(2)),
            ip("6.6.6.6")
        );
        assert_eq!(
            client_ip(&HeaderMap::new(), Some(peer), ProxyTrust::Hops(1)),
            Some(peer)
        );
    }

    #[test]
    fn forwarded_entries_with_ports_and_garbage() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let one = ProxyTrust::Hops(1);
        for (header, client) in [
            ("6.6.6.6, 203.0.113.7:4711", ip("203.0.113.7")),
            ("6.6.6.6, [2001:db8::7]:4711", ip("2001:db8::7")),
            ("6.6.6.6, [2001:db8::7]", ip("2001:db8::7")),
            ("6.6.6.6, 2001:db8::7", ip("2001:db8::7")),
            // Not an address: the peer, never the client-supplied entry before it.
            ("6.6.6.6, unknown", Some(peer)),
            ("6.6.6.6, 203.0.113.7:port", Some(peer)),
            ("6.6.6.6,", ip("6.6.6.6")),
        ] {
            assert_eq!(
                client_ip(&forwarded(&[header]), Some(peer), one),
                client,
                "{header}"
            );
        }
        // Several headers are one list, in order.
        let h = forwarded(&["6.6.6.6", "198.51.100.1, 203.0.113.9"]);
        assert_eq!(client_ip(&h, Some(peer), one), ip("203.0.113.9"));
        assert_eq!(
            client_ip(&h, Some(peer), ProxyTrust::Hops(2)),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_ip(&h, Some(peer), ProxyTrust::Hops(3)),
            ip("6.6.6.6")
        );
        // More hops than entries: the furthest entry there is.
        assert_eq!(
            client_ip(&h, Some(peer), ProxyTrust::Hops(5)),
            ip("6.6.6.6")
        );
    }

    #[test]
    fn https_only_from_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(is_https(&h, ProxyTrust::Hops(1)));
        assert!(!is_https(&h, ProxyTrust::None));
        assert!(!is_https(&HeaderMap::new(), ProxyTrust::Hops(1)));
    }
}
