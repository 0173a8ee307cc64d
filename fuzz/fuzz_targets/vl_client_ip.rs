//! Vegas Lounge client-IP extraction and the IP allow-list.
//!
//! Input: `mode \0 peer \0 headers`. `mode` `forwarded` selects the RFC 7239 `Forwarded` header,
//! anything else `X-Forwarded-For`; `peer` is a socket address (when it does not parse, one of
//! a fixed set of trusted and untrusted peers is used); `headers` are lines of `name:value`.
//!
//! Properties, besides never panicking:
//! * an untrusted peer is the caller whatever the headers say;
//! * behind a trusted proxy: a missing or unparseable forwarded header fails closed, and an
//!   entry forged on the left neither repairs an unparseable header nor replaces the address the
//!   proxies saw; a further trusted proxy appended on the right changes nothing;
//! * the address is canonical (no IPv4-mapped IPv6), and `allows` is exactly "the address is in
//!   an allowed network" (checked with independently parsed networks).

#![no_main]

use std::net::{IpAddr, SocketAddr};

use gameauth_fuzz::{fields, headers, text};
use gameauth_vegaslounge::{ForwardedHeader, NetworkPolicy};
use http::{HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;

const ALLOW: [&str; 3] = [
    "13.232.208.217/32",
    "2001:db8:1::/48",
    "::ffff:198.51.100.0/120",
];
const TRUSTED: [&str; 2] = ["10.0.0.0/8", "fd00::/8"];
const PEERS: [&str; 5] = [
    "10.1.2.3:443",
    "[::ffff:10.1.2.3]:443",
    "[fd00::7]:443",
    "203.0.113.9:5000",
    "13.232.208.217:1",
];
const FORGED: &str = "13.232.208.217";
const PROXY: &str = "10.9.9.9";

fn nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().map(|n| n.parse().expect("a network")).collect()
}

/// Whether `ip` is inside one of `nets`, reading IPv4-mapped networks as IPv4.
fn inside(nets: &[IpNet], ip: IpAddr) -> bool {
    nets.iter().any(|net| {
        net.contains(&ip)
            || match (net, ip) {
                (IpNet::V6(v6), IpAddr::V4(v4)) => v6.contains(&v4.to_ipv6_mapped()),
                _ => false,
            }
    })
}

/// `headers` with the forwarded header's values replaced by `before`, the old values, `after`.
fn wrapped(
    headers: &HeaderMap,
    name: &HeaderName,
    before: Option<&str>,
    after: Option<&str>,
) -> HeaderMap {
    let mut out = headers.clone();
    out.remove(name);
    let mut values: Vec<HeaderValue> = headers.get_all(name).iter().cloned().collect();
    if let Some(b) = before {
        values.insert(0, HeaderValue::from_str(b).expect("a header value"));
    }
    if let Some(a) = after {
        values.push(HeaderValue::from_str(a).expect("a header value"));
    }
    for v in values {
        out.append(name.clone(), v);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let [mode, peer, header_block] = fields::<3>(data);
    let forwarded_mode = mode.is_some_and(|m| m.eq_ignore_ascii_case(b"forwarded"));
    let peer_text = text(peer.unwrap_or_default());
    let peer: SocketAddr = peer_text.parse().unwrap_or_else(|_| {
        PEERS[peer_text.len() % PEERS.len()]
            .parse()
            .expect("a socket address")
    });
    let headers = headers(header_block.unwrap_or_default());

    let allow = nets(&ALLOW);
    let trusted = nets(&TRUSTED);
    let (header_name, forged, proxy, garbage) = if forwarded_mode {
        (
            HeaderName::from_static("forwarded"),
            format!("for={FORGED}"),
            format!("for={PROXY}"),
            "for=garbage",
        )
    } else {
        (
            HeaderName::from_static("x-forwarded-for"),
            FORGED.to_owned(),
            PROXY.to_owned(),
            "garbage",
        )
    };
    let policy = NetworkPolicy::new(allow.clone())
        .with_trusted_proxies(trusted.clone())
        .with_forwarded_header(if forwarded_mode {
            ForwardedHeader::Forwarded
        } else {
            ForwardedHeader::XForwardedFor
        });

    let ip = policy.client_ip(peer, &headers);
    if let Some(ip) = ip {
        assert_eq!(ip, ip.to_canonical(), "a non-canonical address");
    }
    assert_eq!(
        policy.allows(peer, &headers),
        ip.is_some_and(|ip| inside(&allow, ip))
    );

    let peer_ip = peer.ip().to_canonical();
    if !inside(&trusted, peer_ip) {
        assert_eq!(
            ip,
            Some(peer_ip),
            "an untrusted peer's headers were believed"
        );
        return;
    }
    let without = {
        let mut h = headers.clone();
        h.remove(&header_name);
        h
    };
    assert_eq!(
        policy.client_ip(peer, &without),
        None,
        "no header must fail closed"
    );
    let broken = wrapped(&headers, &header_name, None, Some(garbage));
    assert_eq!(
        policy.client_ip(peer, &broken),
        None,
        "garbage must fail closed"
    );

    let spoofed = wrapped(&headers, &header_name, Some(&forged), None);
    let spoofed_ip = policy.client_ip(peer, &spoofed);
    match ip {
        None if headers.contains_key(&header_name) => {
            assert_eq!(spoofed_ip, None, "a forged entry repaired a broken chain");
        }
        None => {}
        Some(real) if !inside(&trusted, real) => {
            assert_eq!(
                spoofed_ip,
                Some(real),
                "a forged left entry replaced the caller"
            );
        }
        Some(_) => {}
    }
    let proxied = wrapped(&headers, &header_name, None, Some(&proxy));
    if ip.is_some() {
        assert_eq!(
            policy.client_ip(peer, &proxied),
            ip,
            "a further trusted proxy changed the caller"
        );
    }
});
