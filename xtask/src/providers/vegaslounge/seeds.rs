//! Vegas Lounge's fuzz seeds: the recorded requests for `vl_endpoint`, `vl_token_request`,
//! `vl_redirect_uri` and, from each request's peer, `vl_client_ip`.

use std::collections::BTreeMap;

use gameauth_contract::{SeedInput, Seeds};
use serde_json::Value;

use crate::fuzz::{framed, header_lines, seed_name};

/// A trusted proxy in front of the server in the client-IP seeds (the fixtures have none).
const VL_PROXY_PEER: &str = "10.1.2.3:443";

pub(super) fn add(input: &SeedInput, seeds: &mut Seeds) -> Result<(), String> {
    for (stem, fixture) in &input.fixtures {
        // The peer each interaction is sent from, as the fixture's `send` steps say.
        let peers: BTreeMap<&str, &str> = fixture
            .steps
            .iter()
            .filter_map(|step| {
                let name = step.get("interaction")?.as_str()?;
                Some((name, step.get("peer").and_then(Value::as_str)?))
            })
            .collect();
        for i in fixture.inbound() {
            let name = seed_name(stem, i);
            let query = i.request.query.as_deref().unwrap_or_default();
            let headers = header_lines(i.request.headers.iter());
            let body = i.request.body_bytes()?;
            let uri = match query {
                "" => i.request.path.clone(),
                q => format!("{}?{q}", i.request.path),
            };
            seeds.add(
                "vl_endpoint",
                name.clone(),
                framed(&[i.request.method.as_bytes(), uri.as_bytes(), &headers, &body]),
            );
            match i.request.path.as_str() {
                "/oauth2.0/token" | "/oauth2.0/refresh" => seeds.add(
                    "vl_token_request",
                    name.clone(),
                    framed(&[query.as_bytes(), &headers, &body]),
                ),
                "/oauth2.0/authorize" => {
                    seeds.add("vl_redirect_uri", name.clone(), query.as_bytes().to_vec());
                }
                _ => {}
            }
            let Some(peer) = peers.get(i.name.as_str()) else {
                continue;
            };
            seeds.add(
                "vl_client_ip",
                format!("{name}-direct"),
                framed(&[b"xff", peer.as_bytes(), &headers]),
            );
            // The same caller behind a trusted proxy, in both forwarded-header styles.
            let ip = peer.rsplit_once(':').map_or(*peer, |(ip, _)| ip);
            let xff = [
                headers.clone(),
                format!("x-forwarded-for:{ip}\n").into_bytes(),
            ]
            .concat();
            seeds.add(
                "vl_client_ip",
                format!("{name}-xff"),
                framed(&[b"xff", VL_PROXY_PEER.as_bytes(), &xff]),
            );
            let fwd = [headers, format!("forwarded:for=\"{peer}\"\n").into_bytes()].concat();
            seeds.add(
                "vl_client_ip",
                format!("{name}-forwarded"),
                framed(&[b"forwarded", VL_PROXY_PEER.as_bytes(), &fwd]),
            );
        }
    }
    Ok(())
}
