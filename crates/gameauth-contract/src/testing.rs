//! A provider for the kit's own tests: `sign = md5(query + body + key)`, like OMG, and a runner
//! that calls every outbound interaction once through the mocked upstream.

use bytes::Bytes;
use gameauth_core::HttpTransport;

use crate::fixture::{Direction, Fixture};
use crate::provider::{Provider, SignInput, Signature};
use crate::record::{Derived, RecordRules, Scrubbed, SecretVar};
use crate::upstream::MockUpstream;

/// The published example key of the test provider.
pub(crate) const KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";

/// The test provider.
pub(crate) struct Md5Provider;

/// `md5(query + body + key)` in lower-case hex.
pub(crate) fn md5_sign(query: &str, body: &[u8], key: &str) -> String {
    gameauth_core::sign::md5_hex(&[query.as_bytes(), body, key.as_bytes()])
}

#[async_trait::async_trait]
impl Provider for Md5Provider {
    fn name(&self) -> &'static str {
        "test"
    }

    /// Sends every outbound interaction's request as recorded, signed with `keys.sign_key`.
    async fn run(&self, fixture: &Fixture) -> Result<(), String> {
        let upstream = MockUpstream::start(fixture).await?;
        let key = fixture.key("sign_key")?;
        let transport = gameauth_core::ReqwestTransport::new().map_err(|e| e.to_string())?;
        for i in fixture.outbound() {
            let r = &i.request;
            let body = r.body_bytes()?;
            let mut uri = format!("{}{}", upstream.uri(&i.host)?, r.path);
            if let Some(q) = &r.query {
                uri = format!("{uri}?{q}");
            }
            let mut request = http::Request::builder().method(r.method.as_str()).uri(uri);
            for (k, v) in &r.headers {
                if k != "sign" {
                    request = request.header(k.as_str(), v.as_str());
                }
            }
            let sign = md5_sign(r.query.as_deref().unwrap_or(""), &body, &key);
            let request = request
                .header("sign", sign)
                .body(Bytes::from(body))
                .map_err(|e| e.to_string())?;
            transport.send(request).await.map_err(|e| e.to_string())?;
        }
        upstream.verify().await
    }

    fn sign(&self, request: &SignInput<'_>, key: &str) -> Option<Signature> {
        (request.direction == Direction::Outbound).then(|| {
            Signature::hex(
                "sign",
                md5_sign(request.query.unwrap_or(""), request.body, key),
            )
        })
    }

    fn published_keys(&self) -> &[&'static str] {
        &[KEY]
    }

    fn vector_readers(&self) -> &[&'static str] {
        &["src"]
    }

    fn recording(&self) -> Option<&dyn RecordRules> {
        Some(self)
    }
}

/// The environment variable of the test provider's real key.
pub(crate) const KEY_VAR: &str = "TEST_SIGN_KEY";

/// Records `POST /api/...` calls, one step per call.
impl RecordRules for Md5Provider {
    fn secrets(&self) -> &[SecretVar] {
        const SECRETS: &[SecretVar] = &[SecretVar::signing(KEY_VAR, KEY)];
        SECRETS
    }

    fn request_headers(&self) -> &[&'static str] {
        &["sign", "content-type"]
    }

    fn call(&self, method: &str, path: &str) -> Option<(&'static str, String)> {
        (method == "POST" && path.starts_with("/api/")).then(|| ("send", path.to_owned()))
    }

    fn derive(&self, scrubbed: &[Scrubbed], _clock: i64) -> Derived {
        let mut d = Derived::default();
        d.keys.insert("sign_key".into(), KEY.into());
        for (i, s) in scrubbed.iter().enumerate() {
            d.steps.push(serde_json::json!({"call": "send"}));
            d.summary.push(format!("send ({})", s.status));
            d.used.push(i);
        }
        d
    }
}

/// A fixture of the test provider with one outbound call; `api_key` lands in a step's input.
pub(crate) fn fixture_json(api_key: &str, sign: &str, tampered: bool) -> serde_json::Value {
    serde_json::json!({
        "schema": 1, "provider": "test", "scenario": "s", "source": "synthetic: test",
        "description": "d", "clock": 0, "keys": {"sign_key": KEY},
        "steps": [{"call": "x", "input": {"client_secret": api_key}}],
        "interactions": [{
            "name": "i", "direction": "outbound",
            "tampered": if tampered { serde_json::Value::from("negative case") } else { serde_json::Value::Null },
            "request": {"method": "POST", "path": "/p", "query": "trace_id=a",
                        "headers": {"sign": sign}, "body": "{}"},
            "response": {"status": 200, "body": "{}"}
        }]
    })
}

/// The signature the fixture of [`fixture_json`] must carry.
pub(crate) fn good_sign() -> String {
    md5_sign("trace_id=a", b"{}", KEY)
}

/// A directory tree of `files` in a fresh temporary directory.
pub(crate) fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}
