//! What the providers' recording tests share: a recording through the kit's proxy into a
//! temporary repository, stand-in upstreams, and the check that a recorded fixture replays,
//! passes `fixtures check` and holds no real value.

use std::path::PathBuf;
use std::sync::Arc;

use gameauth_contract::record::{Meta, Proxy, Recorder, Secrets};
use gameauth_contract::{Fixture, Layout, Provider, Registry, check_fixtures};
use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

/// A recording into `<tmp>/fixtures/<provider>/contract/recorded_<provider>.json`.
pub(crate) struct Recording {
    provider: &'static dyn Provider,
    tmp: tempfile::TempDir,
    pub(crate) file: PathBuf,
    proxy: Proxy,
    fallback: Option<Proxy>,
}

impl Recording {
    /// Records `provider` from `upstream` with the real secrets `env` and the personal fields
    /// `personal`.
    pub(crate) async fn start(
        provider: &'static dyn Provider,
        env: &[(&str, &str)],
        personal: &[&str],
        upstream: &str,
    ) -> Self {
        Self::start_with_fallback(provider, env, personal, upstream, None).await
    }

    /// The same, with a second proxy for the provider's fallback host.
    pub(crate) async fn start_with_fallback(
        provider: &'static dyn Provider,
        env: &[(&str, &str)],
        personal: &[&str],
        upstream: &str,
        fallback: Option<&str>,
    ) -> Self {
        let rules = provider.recording().expect("a recordable provider");
        let tmp = tempfile::tempdir().unwrap();
        let dir = Layout::new(tmp.path()).contract_dir(provider.name());
        std::fs::create_dir_all(&dir).unwrap();
        let scenario = format!("recorded_{}", provider.name());
        let file = dir.join(format!("{scenario}.json"));
        let secrets = Secrets::load(rules, |var| {
            env.iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let recorder = Arc::new(
            Recorder::new(
                provider,
                secrets,
                personal.iter().map(|p| (*p).to_owned()).collect(),
                Meta {
                    scenario,
                    source: "recorded: a local stand-in through cargo xtask record".into(),
                },
                file.clone(),
            )
            .unwrap(),
        );
        let loopback = ([127, 0, 0, 1], 0).into();
        let proxy = Proxy::start(loopback, upstream, rules.host(), recorder.clone())
            .await
            .unwrap();
        let fallback = match fallback {
            Some(url) => {
                let host = rules
                    .fallback_host()
                    .expect("a provider with a fallback host");
                Some(Proxy::start(loopback, url, host, recorder).await.unwrap())
            }
            None => None,
        };
        Self {
            provider,
            tmp,
            file,
            proxy,
            fallback,
        }
    }

    /// The proxy's base URL.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.proxy.addr())
    }

    /// The fallback proxy's base URL.
    pub(crate) fn fallback_url(&self) -> String {
        let proxy = self.fallback.as_ref().expect("a recording with a fallback");
        format!("http://{}", proxy.addr())
    }

    /// The fixture as written so far.
    pub(crate) fn fixture(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.file).unwrap()).unwrap()
    }

    /// Replays the fixture with the provider's runner, checks no real value is in it, and runs
    /// `fixtures check` on it.
    pub(crate) async fn assert_replays_clean(&self, real_values: &[&str]) {
        let text = std::fs::read_to_string(&self.file).unwrap();
        let lower = text.to_lowercase();
        for real in real_values {
            assert!(
                !lower.contains(&real.to_lowercase()),
                "a real value survived: {real}\n{text}"
            );
        }
        let fixture = Fixture::load(&self.file, self.provider.name()).unwrap();
        self.provider
            .run(&fixture)
            .await
            .unwrap_or_else(|e| panic!("replay failed: {e}\n{text}"));
        let registry = Registry::new(super::PROVIDERS).unwrap();
        let report = check_fixtures(&Layout::new(self.tmp.path()), &registry).unwrap();
        assert_eq!(report.files, 1);
        assert!(report.problems.is_empty(), "{:?}\n{text}", report.problems);
    }
}

/// The number of interactions of a fixture.
pub(crate) fn interactions(fixture: &Value) -> usize {
    fixture["interactions"].as_array().map_or(0, Vec::len)
}

/// A request header as text, empty when absent.
pub(crate) fn header<'a>(req: &'a wiremock::Request, name: &str) -> &'a str {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A 200 answer with a JSON body.
pub(crate) fn json_answer(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
}

/// A stand-in upstream answering every request with `responder`.
pub(crate) async fn stand_in(responder: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}
