//! Mocked provider hosts for outbound interactions.
//!
//! One wiremock server per host the fixture names, each on its own loopback listener; one named
//! mock per interaction that matches the recorded request exactly (method, path, raw query, the
//! listed headers and the body); and a catch-all per host that answers anything else with
//! status 599 and must see nothing. [`MockUpstream::verify`] checks the call counts and explains
//! the first stray request against every recorded interaction of its host.

use std::collections::BTreeMap;
use std::time::Duration;

use wiremock::matchers::any;
use wiremock::{Match, Mock, MockGuard, MockServer, Request, ResponseTemplate};

use crate::fixture::{Fixture, Interaction, RecordedRequest, decode_form};

/// Status the catch-all answers with: outside every provider's documented set, so a client that
/// reached it fails loudly.
const CATCH_ALL_STATUS: u16 = 599;

/// The mocked provider hosts of one fixture.
pub struct MockUpstream {
    servers: BTreeMap<String, MockServer>,
    mocks: Vec<(Interaction, MockGuard)>,
    catch_alls: Vec<(String, MockGuard)>,
}

impl std::fmt::Debug for MockUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockUpstream")
            .field("hosts", &self.servers.keys().collect::<Vec<_>>())
            .field(
                "interactions",
                &self.mocks.iter().map(|(i, _)| &i.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl MockUpstream {
    /// Starts one server per outbound host and mounts the fixture's interactions.
    ///
    /// # Errors
    ///
    /// A message when an outbound interaction's response gives more than one of `body` and
    /// `body_json`.
    pub async fn start(fixture: &Fixture) -> Result<Self, String> {
        let mut servers = BTreeMap::new();
        for i in fixture.outbound() {
            if !servers.contains_key(&i.host) {
                servers.insert(i.host.clone(), MockServer::start().await);
            }
        }
        let mut mocks = Vec::new();
        for (index, i) in fixture.outbound().enumerate() {
            let server = &servers[&i.host];
            let priority = u8::try_from(index + 1).unwrap_or(u8::MAX).min(200);
            let mock = Mock::given(Exact(i.request.clone()))
                .respond_with(template(i)?)
                .named(i.name.clone())
                .with_priority(priority);
            let mock = if i.times == 0 {
                mock
            } else {
                mock.up_to_n_times(i.times)
            };
            mocks.push((i.clone(), mock.mount_as_scoped(server).await));
        }
        let mut catch_alls = Vec::new();
        for (host, server) in &servers {
            let guard = Mock::given(any())
                .respond_with(
                    ResponseTemplate::new(CATCH_ALL_STATUS)
                        .set_body_string("no recorded interaction matches this request"),
                )
                .named(format!("catch-all ({host})"))
                .with_priority(u8::MAX)
                .mount_as_scoped(server)
                .await;
            catch_alls.push((host.clone(), guard));
        }
        Ok(Self {
            servers,
            mocks,
            catch_alls,
        })
    }

    /// Base URL (`http://127.0.0.1:PORT`) of the server for `host`.
    ///
    /// # Errors
    ///
    /// A message when the fixture has no outbound interaction on `host`.
    pub fn uri(&self, host: &str) -> Result<String, String> {
        self.servers
            .get(host)
            .map(MockServer::uri)
            .ok_or_else(|| format!("fixture has no outbound host `{host}`"))
    }

    /// Checks that every interaction was called exactly `times` times and that nothing reached
    /// a catch-all; explains the first unexpected request when something did.
    ///
    /// # Errors
    ///
    /// * A message when a request reached a host's catch-all: how many did, the first one's
    ///   method and path, and how it differs from each recorded interaction of that host;
    /// * otherwise, a message naming the first interaction (in file order) that was not called
    ///   exactly its `times` times.
    pub async fn verify(&self) -> Result<(), String> {
        for (host, guard) in &self.catch_alls {
            let stray = guard.received_requests().await;
            if let Some(req) = stray.first() {
                let candidates: Vec<&Interaction> = self
                    .mocks
                    .iter()
                    .map(|(i, _)| i)
                    .filter(|i| &i.host == host)
                    .collect();
                return Err(format!(
                    "{} unexpected request(s) on host `{host}`: {} {}; {}",
                    stray.len(),
                    req.method,
                    req.url.path(),
                    explain(req, &candidates)
                ));
            }
        }
        for (i, guard) in &self.mocks {
            let n = guard.received_requests().await.len() as u64;
            if n != i.times {
                return Err(format!(
                    "interaction `{}` expected {} call(s), got {n}",
                    i.name, i.times
                ));
            }
        }
        Ok(())
    }

    /// `failure` with the reason [`MockUpstream::verify`] gives, if any: a stray request
    /// explains a failed step best ("header `sign` is …, expected …").
    pub async fn annotate(&self, failure: String) -> String {
        match self.verify().await {
            Err(why) => format!("{failure}; {why}"),
            Ok(()) => failure,
        }
    }

    /// Whether the fixture has outbound interactions on `host`.
    pub fn has_host(&self, host: &str) -> bool {
        self.servers.contains_key(host)
    }
}

fn template(i: &Interaction) -> Result<ResponseTemplate, String> {
    let mut t = ResponseTemplate::new(i.response.status);
    for (k, v) in &i.response.headers {
        t = t.insert_header(k.as_str(), v.as_str());
    }
    t = t.set_body_bytes(i.response.body_bytes()?);
    if let Some(ms) = i.response.delay_ms {
        t = t.set_delay(Duration::from_millis(ms));
    }
    Ok(t)
}

/// Matches a request exactly as recorded.
struct Exact(RecordedRequest);

impl Match for Exact {
    fn matches(&self, request: &Request) -> bool {
        mismatch(&self.0, request).is_none()
    }
}

/// The first way `request` differs from `expected`, or `None` when it matches.
fn mismatch(expected: &RecordedRequest, request: &Request) -> Option<String> {
    if !request
        .method
        .as_str()
        .eq_ignore_ascii_case(&expected.method)
    {
        return Some(format!(
            "method {} is not {}",
            request.method, expected.method
        ));
    }
    if request.url.path() != expected.path {
        return Some(format!("path is not {}", expected.path));
    }
    if request.url.query() != expected.query.as_deref() {
        return Some(format!(
            "query {:?} is not {:?}",
            request.url.query(),
            expected.query
        ));
    }
    for (name, value) in &expected.headers {
        let got: Vec<_> = request.headers.get_all(name.as_str()).iter().collect();
        match got.as_slice() {
            [one] if one.as_bytes() == value.as_bytes() => {}
            [] => return Some(format!("header `{name}` is missing")),
            [one] => {
                return Some(format!(
                    "header `{name}` is {:?}, expected {value:?}",
                    String::from_utf8_lossy(one.as_bytes())
                ));
            }
            _ => return Some(format!("header `{name}` is repeated")),
        }
    }
    if let Some(text) = &expected.body {
        if request.body != text.as_bytes() {
            return Some(format!(
                "body differs: got {:?}",
                String::from_utf8_lossy(&request.body)
            ));
        }
    } else if let Some(json) = &expected.body_json {
        match serde_json::from_slice::<serde_json::Value>(&request.body) {
            Ok(got) if &got == json => {}
            Ok(got) => return Some(format!("JSON body differs: got {got}")),
            Err(_) => return Some("body is not JSON".into()),
        }
    } else if let Some(form) = &expected.body_form {
        let Some(pairs) = decode_form(&request.body) else {
            return Some("body is not a form".into());
        };
        let mut got = BTreeMap::new();
        for (k, v) in pairs {
            if got.insert(k.clone(), v).is_some() {
                return Some(format!("form field `{k}` is repeated"));
            }
        }
        if &got != form {
            return Some(format!("form body differs: got {got:?}"));
        }
    } else if !request.body.is_empty() {
        return Some("a body was sent where none was recorded".into());
    }
    None
}

fn explain(request: &Request, candidates: &[&Interaction]) -> String {
    let reasons: Vec<String> = candidates
        .iter()
        .filter_map(|i| mismatch(&i.request, request).map(|why| format!("vs `{}`: {why}", i.name)))
        .collect();
    if reasons.is_empty() {
        "it matched a recorded interaction that was already used up".into()
    } else {
        reasons.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use gameauth_core::HttpTransport;

    fn fixture() -> Fixture {
        Fixture::from_value(serde_json::json!({
            "schema": 1, "provider": "test", "scenario": "t", "source": "synthetic: runner self-test",
            "description": "d", "clock": 0,
            "interactions": [{
                "name": "call", "direction": "outbound",
                "request": {"method": "POST", "path": "/x", "query": "trace_id=a",
                            "headers": {"sign": "abc"}, "body": "{\"k\":1}"},
                "response": {"status": 200, "body": "ok"}
            }]
        }))
        .unwrap()
    }

    async fn send(uri: &str, sign: &str) -> (u16, Bytes) {
        let t = gameauth_core::ReqwestTransport::new().unwrap();
        let req = http::Request::post(format!("{uri}/x?trace_id=a"))
            .header("sign", sign)
            .body(Bytes::from_static(b"{\"k\":1}"))
            .unwrap();
        let resp = t.send(req).await.unwrap();
        (resp.status().as_u16(), resp.body().clone())
    }

    #[tokio::test]
    async fn exact_request_is_answered_and_verifies() {
        let up = MockUpstream::start(&fixture()).await.unwrap();
        let uri = up.uri("default").unwrap();
        assert_eq!(send(&uri, "abc").await, (200, Bytes::from_static(b"ok")));
        up.verify().await.unwrap();
    }

    #[tokio::test]
    async fn a_wrong_signature_reaches_the_catch_all_and_fails_verification() {
        let up = MockUpstream::start(&fixture()).await.unwrap();
        let uri = up.uri("default").unwrap();
        assert_eq!(send(&uri, "abd").await.0, CATCH_ALL_STATUS);
        let err = up.verify().await.unwrap_err();
        assert!(err.contains("header `sign`"), "{err}");
    }

    #[tokio::test]
    async fn a_missing_call_fails_verification_and_extra_calls_hit_the_catch_all() {
        let up = MockUpstream::start(&fixture()).await.unwrap();
        assert!(
            up.verify()
                .await
                .unwrap_err()
                .contains("expected 1 call(s), got 0")
        );
        let uri = up.uri("default").unwrap();
        send(&uri, "abc").await;
        assert_eq!(send(&uri, "abc").await.0, CATCH_ALL_STATUS);
        assert!(up.verify().await.unwrap_err().contains("already used up"));
    }
}
