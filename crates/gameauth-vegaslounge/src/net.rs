//! Which callers may reach the server-to-server endpoints (token, refresh, account).
//!
//! The decision uses the socket peer address. A forwarded-for header is read only when the peer
//! is a configured trusted proxy, and then right to left, skipping further trusted proxies: the
//! first untrusted address is the caller. Anything unparseable fails closed. IPv4-mapped IPv6
//! addresses (`::ffff:a.b.c.d`) are treated as the IPv4 address.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// Which header a trusted proxy writes the caller's address into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1` (the default).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`.
    Forwarded,
}

/// The IP allow-list and the trusted proxies in front of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPolicy {
    allow: Vec<IpNet>,
    trusted_proxies: Vec<IpNet>,
    forwarded_header: ForwardedHeader,
}

impl Default for NetworkPolicy {
    /// Loopback only (`127.0.0.1/32`, `::1/128`), no trusted proxies: safe until the operator
    /// adds Vegas Lounge's published egress addresses.
    fn default() -> Self {
        Self::new([
            IpNet::from(IpAddr::from([127, 0, 0, 1])),
            IpNet::from(IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1])),
        ])
    }
}

impl NetworkPolicy {
    /// Allows callers inside any of `allow` (CIDR networks), trusting no proxy.
    pub fn new(allow: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            allow: allow.into_iter().map(canonical_net).collect(),
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::default(),
        }
    }

    /// Peers inside these networks are proxies whose forwarded header is believed.
    pub fn with_trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_proxies = proxies.into_iter().map(canonical_net).collect();
        self
    }

    /// Which forwarded header the trusted proxies write.
    pub fn with_forwarded_header(mut self, header: ForwardedHeader) -> Self {
        self.forwarded_header = header;
        self
    }

    /// The caller's address: the peer itself, or (behind trusted proxies) the first untrusted
    /// address of the forwarded header read right to left. `None` when a trusted proxy sent a
    /// missing or unparseable header.
    pub fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer.ip().to_canonical();
        if !self.is_trusted_proxy(peer) {
            return Some(peer);
        }
        let chain = match self.forwarded_header {
            ForwardedHeader::XForwardedFor => x_forwarded_for(headers)?,
            ForwardedHeader::Forwarded => forwarded(headers)?,
        };
        let mut leftmost = None;
        for ip in chain.iter().rev() {
            if !self.is_trusted_proxy(*ip) {
                return Some(*ip);
            }
            leftmost = Some(*ip);
        }
        leftmost
    }

    /// Whether the request from `peer` with `headers` may reach the restricted endpoints.
    pub fn allows(&self, peer: SocketAddr, headers: &HeaderMap) -> bool {
        self.client_ip(peer, headers)
            .is_some_and(|ip| self.allow.iter().any(|net| net.contains(&ip)))
    }

    fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }
}

fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).unwrap_or(net),
            None => net,
        },
        other => other,
    }
}

fn header_values<'h>(headers: &'h HeaderMap, name: &str) -> Option<Vec<&'h str>> {
    let mut out = Vec::new();
    for v in headers.get_all(name) {
        out.push(v.to_str().ok()?);
    }
    if out.is_empty() { None } else { Some(out) }
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    let ip = t
        .parse::<IpAddr>()
        .ok()
        .or_else(|| t.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            t.strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|r| r.parse().ok())
        })?;
    Some(ip.to_canonical())
}

fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    header_values(headers, "x-forwarded-for")?
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(parse_ip)
        .collect()
}

fn forwarded(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    header_values(headers, "forwarded")?
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                if !k.trim().eq_ignore_ascii_case("for") {
                    return None;
                }
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|x| x.strip_suffix('"'))
                    .unwrap_or(v);
                parse_ip(v)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn policy() -> NetworkPolicy {
        NetworkPolicy::new(["13.232.208.217/32".parse().unwrap()])
            .with_trusted_proxies(["10.0.0.0/8".parse().unwrap()])
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let h = headers(&[("x-forwarded-for", "13.232.208.217")]);
        assert!(!policy().allows("203.0.113.9:5000".parse().unwrap(), &h));
    }

    #[test]
    fn forwarded_for_is_read_right_to_left_from_trusted_proxies() {
        let p = policy();
        let proxy: SocketAddr = "10.1.2.3:443".parse().unwrap();
        // The caller forged the left entry; the proxy appended the real address.
        let h = headers(&[("x-forwarded-for", "13.232.208.217, 203.0.113.9")]);
        assert!(!p.allows(proxy, &h));
        let h = headers(&[("x-forwarded-for", "203.0.113.9, 13.232.208.217, 10.9.9.9")]);
        assert!(p.allows(proxy, &h));
        let h = headers(&[("x-forwarded-for", "garbage")]);
        assert!(!p.allows(proxy, &h));
        assert!(!p.allows(proxy, &HeaderMap::new()));
    }

    #[test]
    fn rfc7239_forwarded_is_parsed() {
        let p = policy().with_forwarded_header(ForwardedHeader::Forwarded);
        let proxy: SocketAddr = "10.1.2.3:443".parse().unwrap();
        let h = headers(&[(
            "forwarded",
            "for=198.51.100.1, for=\"13.232.208.217:4711\";proto=https",
        )]);
        assert!(p.allows(proxy, &h));
        let h = headers(&[("forwarded", "for=\"[2001:db8::1]:4711\"")]);
        assert_eq!(p.client_ip(proxy, &h), Some("2001:db8::1".parse().unwrap()));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert!(!p.allows(proxy, &h));
    }

    #[test]
    fn ipv4_mapped_ipv6_peers_are_normalised() {
        let p = NetworkPolicy::default();
        assert!(p.allows("[::ffff:127.0.0.1]:9".parse().unwrap(), &HeaderMap::new()));
        let p = NetworkPolicy::new(["::ffff:13.232.208.217/128".parse().unwrap()]);
        assert!(p.allows("13.232.208.217:9".parse().unwrap(), &HeaderMap::new()));
    }
}
