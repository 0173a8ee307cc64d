//! The recorder end to end with the kit's test provider: a stand-in upstream that checks the
//! signature with the real key, the proxy in-process, then the written fixture replayed and
//! checked.

use std::sync::Arc;

use bytes::Bytes;
use gameauth_core::{HttpTransport, ReqwestTransport};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use super::*;
use crate::testing::{KEY, KEY_VAR, Md5Provider, md5_sign};
use crate::{Fixture, Layout, Registry, check_fixtures};

const REAL_KEY: &str = "Rk7pQ2xW9mZ4vL8nT3bY6cH1jF5dS0aG";
const REAL_TOKEN: &str = "tok-real-77aa88bb99";

/// Answers a signed call with a token, after checking `sign` with the real key.
struct StandIn;

impl Respond for StandIn {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let sign = md5_sign(req.url.query().unwrap_or(""), &req.body, REAL_KEY);
        let presented = req.headers.get("sign").and_then(|v| v.to_str().ok());
        if presented != Some(sign.as_str()) {
            return ResponseTemplate::new(401).set_body_string("bad sign");
        }
        ResponseTemplate::new(200).set_body_raw(
            json!({"code": 0, "data": {"token": REAL_TOKEN, "nick": "Alicia"}}).to_string(),
            "application/json",
        )
    }
}

async fn stand_in(responder: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

/// A recording into `<tmp>/fixtures/test/contract/recorded.json`.
struct Recording {
    tmp: tempfile::TempDir,
    file: PathBuf,
    proxy: Proxy,
}

impl Recording {
    async fn start(key: Option<&str>, personal: &[&str], upstream: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("fixtures/test/contract");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("recorded.json");
        let secrets = Secrets::load(&Md5Provider, |var| {
            (var == KEY_VAR).then(|| key.unwrap_or_default().to_owned())
        })
        .unwrap();
        let recorder = Recorder::new(
            &Md5Provider,
            secrets,
            personal.iter().map(|p| (*p).to_owned()).collect(),
            Meta {
                scenario: "recorded".into(),
                source: "recorded: a local stand-in".into(),
            },
            file.clone(),
        )
        .unwrap();
        let proxy = Proxy::start(
            ([127, 0, 0, 1], 0).into(),
            upstream,
            "default",
            Arc::new(recorder),
        )
        .await
        .unwrap();
        Self { tmp, file, proxy }
    }

    fn url(&self) -> String {
        format!("http://{}", self.proxy.addr())
    }

    fn fixture(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.file).unwrap()).unwrap()
    }
}

async fn send(url: &str, query: &str, body: &str, key: &str) -> http::Response<Bytes> {
    let request = http::Request::post(format!("{url}/api/login?{query}"))
        .header("content-type", "application/json")
        .header("sign", md5_sign(query, body.as_bytes(), key))
        .body(Bytes::from(body.to_owned()))
        .unwrap();
    ReqwestTransport::new()
        .unwrap()
        .send(request)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_recording_is_scrubbed_re_signed_and_replays() {
    let upstream = stand_in(StandIn).await;
    let rec = Recording::start(Some(REAL_KEY), &["nick"], &upstream.uri()).await;
    let answer = send(&rec.url(), "trace_id=t1", r#"{"player":"p1"}"#, REAL_KEY).await;
    assert_eq!(answer.status(), 200);
    assert!(String::from_utf8_lossy(answer.body()).contains(REAL_TOKEN));

    let fixture = rec.fixture();
    let request = &fixture["interactions"][0]["request"];
    assert_eq!(
        request["headers"]["sign"],
        md5_sign("trace_id=t1", br#"{"player":"p1"}"#, KEY),
        "re-signed with the dummy key"
    );
    let text = std::fs::read_to_string(&rec.file).unwrap();
    for real in [REAL_KEY, REAL_TOKEN, "Alicia"] {
        assert!(!text.contains(real), "{real} survived:\n{text}");
    }
    assert!(text.contains("dummy-token-1"), "{text}");

    let loaded = Fixture::load(&rec.file, "test").unwrap();
    Md5Provider
        .run(&loaded)
        .await
        .unwrap_or_else(|e| panic!("replay failed: {e}\n{text}"));
    let registry = Registry::new(&[&Md5Provider]).unwrap();
    let report = check_fixtures(&Layout::new(rec.tmp.path()), &registry).unwrap();
    assert_eq!(report.files, 1);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test]
async fn a_request_signed_with_another_key_is_forwarded_but_not_recorded() {
    let upstream = stand_in(StandIn).await;
    let rec = Recording::start(Some(REAL_KEY), &[], &upstream.uri()).await;
    let answer = send(&rec.url(), "trace_id=t1", "{}", "some-other-key").await;
    assert_eq!(answer.status(), 401);
    assert!(!rec.file.exists());
}

#[tokio::test]
async fn calls_the_runner_cannot_replay_are_forwarded_but_not_recorded() {
    let upstream = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(204).insert_header("x-upstream", "yes"))
        .mount(&upstream)
        .await;
    let rec = Recording::start(Some(REAL_KEY), &[], &upstream.uri()).await;
    let answer = ReqwestTransport::new()
        .unwrap()
        .send(
            http::Request::get(format!("{}/health?x=1", rec.url()))
                .body(Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    assert_eq!(answer.headers()["x-upstream"], "yes");
    let seen = upstream.received_requests().await.unwrap();
    assert_eq!(seen[0].url.path(), "/health");
    assert_eq!(seen[0].url.query(), Some("x=1"));
    assert!(!rec.file.exists());
}

#[tokio::test]
async fn request_bodies_over_the_cap_are_refused_and_not_forwarded() {
    let upstream = MockServer::start().await;
    let rec = Recording::start(Some(REAL_KEY), &[], &upstream.uri()).await;
    let big = Bytes::from(vec![b'x'; MAX_BODY_BYTES + 1]);
    let answer = ReqwestTransport::new()
        .unwrap()
        .send(
            http::Request::post(format!("{}/api/login", rec.url()))
                .body(big)
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), 413);
    assert!(upstream.received_requests().await.unwrap().is_empty());
}

#[test]
fn a_real_value_that_survives_scrubbing_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("leak.json");
    let secrets = Secrets::load(&Md5Provider, |_| Some(REAL_KEY.to_owned())).unwrap();
    let recorder = Recorder::new(
        &Md5Provider,
        secrets,
        Vec::new(),
        Meta {
            scenario: "leak".into(),
            source: "synthetic: leak test".into(),
        },
        file.clone(),
    )
    .unwrap();
    let body = r#"{"player":"p1"}"#;
    let query = "trace_id=k3n9x0q2m7ab";
    let exchange = |note: &str| Exchange {
        host: "default",
        method: "POST".into(),
        path: "/api/login".into(),
        query: Some(query.into()),
        request_headers: vec![
            ("sign".into(), md5_sign(query, body.as_bytes(), REAL_KEY)),
            ("content-type".into(), "application/json".into()),
        ],
        request_body: body.into(),
        status: 200,
        response_headers: vec![("content-type".into(), "application/json".into())],
        // An upstream echoing the key in another case is not matched by the replacement, but
        // the final check compares case-insensitively.
        response_body: json!({"code": 0, "msg": note}).to_string(),
        at: 1_711_954_264,
    };
    let outcome = recorder.record("POST /api/login", Ok(exchange(&REAL_KEY.to_uppercase())));
    assert_eq!(
        outcome,
        Outcome::Refused(format!("the fixture would contain {KEY_VAR}"))
    );
    assert!(!file.exists());
    // The refused exchange is dropped, so the next clean one is written.
    assert_eq!(
        recorder.record("POST /api/login", Ok(exchange("ok"))),
        Outcome::Written(1)
    );
}

#[test]
fn secrets_come_from_the_environment_and_their_debug_is_redacted() {
    let err = Secrets::load(&Md5Provider, |_| None).unwrap_err();
    assert!(err.contains(KEY_VAR), "{err}");
    let s = Secrets::load(&Md5Provider, |_| Some("sentinel-key".into())).unwrap();
    assert_eq!(
        format!("{s:?}"),
        format!("{{\"{KEY_VAR}\": \"[redacted]\"}}")
    );
}

#[test]
fn the_fixture_file_is_replaced_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("f.json");
    write_atomically(&file, "one").unwrap();
    write_atomically(&file, "two").unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "two");
    let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file is left behind");
}
