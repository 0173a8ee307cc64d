//! End-to-end tests: a stand-in upstream that checks the real signature with the real key, the
//! recording proxy in-process, the real provider client driven through it, then the written
//! fixture replayed by the contract runner and checked by `fixtures check`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use gameauth_core::secrecy::SecretString;
use gameauth_core::{HttpTransport, KeyRing, PlayerToken, ReqwestTransport};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use super::*;

/// A self-cleaning temporary directory.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!(
            "xtask-record-{}",
            gameauth_core::ids::random_string(12, gameauth_core::ids::TRACE_ALPHABET)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A recording into `<tmp>/fixtures/<provider>/contract/<scenario>.json`.
struct Recording {
    tmp: TempDir,
    file: PathBuf,
    proxy: Proxy,
    fallback: Option<Proxy>,
}

impl Recording {
    async fn start(
        provider: Provider,
        env: &[(&str, &str)],
        personal: &[&str],
        upstream: &str,
    ) -> Self {
        Self::start_with_fallback(provider, env, personal, upstream, None).await
    }

    async fn start_with_fallback(
        provider: Provider,
        env: &[(&str, &str)],
        personal: &[&str],
        upstream: &str,
        fallback: Option<&str>,
    ) -> Self {
        let tmp = TempDir::new();
        let dir = tmp
            .0
            .join("fixtures")
            .join(provider.name())
            .join("contract");
        std::fs::create_dir_all(&dir).unwrap();
        let scenario = format!("recorded_{}", provider.name());
        let file = dir.join(format!("{scenario}.json"));
        let secrets = Secrets::load(provider, |var| {
            env.iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let recorder = Arc::new(Recorder::new(
            provider,
            secrets,
            personal.iter().map(|p| (*p).to_owned()).collect(),
            Meta {
                scenario,
                source: "recorded: a local stand-in through cargo xtask record".into(),
            },
            file.clone(),
        ));
        let proxy = Proxy::start(
            ([127, 0, 0, 1], 0).into(),
            upstream,
            provider.host(),
            recorder.clone(),
        )
        .await
        .unwrap();
        let fallback = match fallback {
            Some(url) => Some(
                Proxy::start(([127, 0, 0, 1], 0).into(), url, FALLBACK_HOST, recorder)
                    .await
                    .unwrap(),
            ),
            None => None,
        };
        Self {
            tmp,
            file,
            proxy,
            fallback,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.proxy.addr())
    }

    fn fallback_url(&self) -> String {
        let proxy = self.fallback.as_ref().expect("a recording with a fallback");
        format!("http://{}", proxy.addr())
    }

    fn fixture(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.file).unwrap()).unwrap()
    }

    /// Replays the fixture with the contract runner, checks no real value is in it, and runs
    /// `fixtures check` on it.
    async fn assert_replays_clean(&self, provider: &str, real_values: &[&str]) {
        let text = std::fs::read_to_string(&self.file).unwrap();
        let lower = text.to_lowercase();
        for real in real_values {
            assert!(
                !lower.contains(&real.to_lowercase()),
                "a real value survived: {real}\n{text}"
            );
        }
        let fixture = crate::contract::Fixture::load(&self.file, provider).unwrap();
        crate::contract::dispatch(&fixture)
            .await
            .unwrap_or_else(|e| panic!("replay failed: {e}\n{text}"));
        let (files, problems) = crate::fixtures::check_tree(&self.tmp.0).unwrap();
        assert_eq!(files, 1);
        assert!(problems.is_empty(), "{problems:?}\n{text}");
    }
}

fn interactions(fixture: &Value) -> usize {
    fixture["interactions"].as_array().map_or(0, Vec::len)
}

fn header<'a>(req: &'a wiremock::Request, name: &str) -> &'a str {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn json_answer(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
}

async fn stand_in(responder: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

// ---------------------------------------------------------------------------------------------
// OMG

const OMG_REAL_KEY: &str = "Rk7pQ2xW9mZ4vL8nT3bY6cH1jF5dS0aG";

/// Answers like OMG's docs, after checking `sign` with the real key; with `launch_502s`, the
/// first launches fail with a 502 first, as a flaky gateway would.
#[derive(Default)]
struct OmgStandIn {
    issued: Mutex<Vec<String>>,
    launch_502s: AtomicUsize,
}

impl Respond for OmgStandIn {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let query = req.url.query().unwrap_or("");
        let expected =
            gameauth_core::sign::md5_hex(&[query.as_bytes(), &req.body, OMG_REAL_KEY.as_bytes()]);
        if header(req, "sign") != expected {
            return json_answer(json!({"code": 10002, "msg": "sign invalid"}));
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let mut issued = self.issued.lock().unwrap();
        match req.url.path() {
            "/api/player/v1/authorize" => {
                let token = format!("omgtok{}x7Hq2Vb9", issued.len() + 1);
                issued.push(token.clone());
                json_answer(json!({"code": 0, "msg": "ok",
                    "data": {"token": token, "balance": 42766.25, "app_id": 10013}}))
            }
            "/api/game/v1/entergame" | "/api/usr/ingame"
                if self
                    .launch_502s
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok() =>
            {
                ResponseTemplate::new(502).set_body_string("<html>502 Bad Gateway</html>")
            }
            "/api/game/v1/entergame" | "/api/usr/ingame" => {
                let token = body["token"].as_str().unwrap_or_default();
                let own = req.url.path() == "/api/usr/ingame";
                if !own && !issued.iter().any(|t| t == token) {
                    return json_answer(
                        json!({"code": 10011, "msg": "player login token verification failed"}),
                    );
                }
                let url = format!(
                    "https://games.omg.example/{}/index.html?token={token}&lang=en",
                    body["gameid"].as_str().unwrap_or_default()
                );
                json_answer(json!({"code": 0, "msg": "ok", "data": {"gameurl": url}}))
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

fn omg_client(url: &str, key: &str) -> gameauth_omg::Client {
    gameauth_omg::Client::builder()
        .base_url(url)
        .app_id("10013")
        .key(SecretString::from(key.to_owned()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn omg_recording_replays_and_holds_no_real_value() {
    use gameauth_omg::{AuthorizeRequest, EnterGameRequest, InGameRequest, ScreenMode};
    let upstream = stand_in(OmgStandIn::default()).await;
    let rec = Recording::start(
        Provider::Omg,
        &[("OMG_SIGN_KEY", OMG_REAL_KEY)],
        &["uname", "nickname", "nick"],
        &upstream.uri(),
    )
    .await;
    let client = omg_client(&rec.url(), OMG_REAL_KEY);

    let player = client
        .authorize(&AuthorizeRequest::new("player-8812345", "Alicia").with_cid(0))
        .await
        .unwrap();
    assert_eq!(
        interactions(&rec.fixture()),
        1,
        "written after the first exchange"
    );
    let real_token = player.token.expose_secret().to_owned();
    let url = client
        .enter_game(
            &EnterGameRequest::new(player.token, "49", ScreenMode::HorizontalFull).with_lang("en"),
        )
        .await
        .unwrap();
    assert!(url.expose_secret().contains(&real_token));
    let refused = client
        .enter_game(&EnterGameRequest::new(
            "unknownTok77x".into(),
            "49",
            ScreenMode::Half,
        ))
        .await;
    assert!(matches!(refused, Err(gameauth_omg::Error::Rejected { .. })));
    client
        .ingame(&InGameRequest::new(
            PlayerToken::new("opsess-5b8e1c2d9f"),
            "49",
            "Alicia",
            ScreenMode::VerticalFull,
        ))
        .await
        .unwrap();

    let fixture = rec.fixture();
    assert_eq!(interactions(&fixture), 4);
    assert_eq!(fixture["keys"]["sign_key"], omg::DUMMY_KEY);
    assert_eq!(
        fixture["steps"][0]["expect"]["ok"]["token"],
        "dummy-token-1"
    );
    assert_eq!(fixture["steps"][1]["input"]["token"], "dummy-token-1");
    assert_eq!(
        fixture["steps"][1]["expect"]["ok"]["gameurl"],
        "https://games.omg.example/49/index.html?token=dummy-token-1&lang=en"
    );
    assert_eq!(
        fixture["steps"][2]["expect"],
        json!({"error": {"kind": "rejected", "code": 10011, "known": true,
            "message": "player login token verification failed"}})
    );
    rec.assert_replays_clean(
        "omg",
        &[
            OMG_REAL_KEY,
            &real_token,
            "unknownTok77x",
            "opsess-5b8e1c2d9f",
            "player-8812345",
            "Alicia",
        ],
    )
    .await;
}

#[tokio::test]
async fn omg_fixture_fails_to_replay_when_its_signature_is_not_the_dummy_keys() {
    let upstream = stand_in(OmgStandIn::default()).await;
    let rec = Recording::start(
        Provider::Omg,
        &[("OMG_SIGN_KEY", OMG_REAL_KEY)],
        &[],
        &upstream.uri(),
    )
    .await;
    omg_client(&rec.url(), OMG_REAL_KEY)
        .authorize(&gameauth_omg::AuthorizeRequest::new("u1", "n1"))
        .await
        .unwrap();
    let mut fixture = rec.fixture();
    let req = &fixture["interactions"][0]["request"];
    let query = req["query"].as_str().unwrap().to_owned();
    let body = req["body"].as_str().unwrap().to_owned();
    let with_real_key =
        gameauth_core::sign::md5_hex(&[query.as_bytes(), body.as_bytes(), OMG_REAL_KEY.as_bytes()]);
    fixture["interactions"][0]["request"]["headers"]["sign"] = with_real_key.into();
    std::fs::write(&rec.file, fixture.to_string()).unwrap();
    let loaded = crate::contract::Fixture::load(&rec.file, "omg").unwrap();
    let err = crate::contract::dispatch(&loaded).await.unwrap_err();
    assert!(err.contains("header `sign`"), "{err}");
}

#[tokio::test]
async fn an_omg_launch_repeated_after_a_502_is_the_same_step() {
    use gameauth_omg::{InGameRequest, ScreenMode};
    let upstream = stand_in(OmgStandIn {
        launch_502s: AtomicUsize::new(1),
        ..OmgStandIn::default()
    })
    .await;
    let rec = Recording::start(
        Provider::Omg,
        &[("OMG_SIGN_KEY", OMG_REAL_KEY)],
        &[],
        &upstream.uri(),
    )
    .await;
    omg_client(&rec.url(), OMG_REAL_KEY)
        .ingame(&InGameRequest::new(
            PlayerToken::new("opsess-77aa88bb99"),
            "12",
            "Nick",
            ScreenMode::Half,
        ))
        .await
        .unwrap();
    let fixture = rec.fixture();
    assert_eq!(interactions(&fixture), 2);
    assert_eq!(fixture["steps"].as_array().unwrap().len(), 1);
    assert_eq!(fixture["ids"].as_array().unwrap().len(), 1);
    assert_eq!(fixture["interactions"][0]["response"]["status"], 502);
    rec.assert_replays_clean("omg", &[OMG_REAL_KEY, "opsess-77aa88bb99"])
        .await;
}

#[tokio::test]
async fn a_request_signed_with_another_key_is_forwarded_but_not_recorded() {
    let upstream = stand_in(OmgStandIn::default()).await;
    let rec = Recording::start(
        Provider::Omg,
        &[("OMG_SIGN_KEY", OMG_REAL_KEY)],
        &[],
        &upstream.uri(),
    )
    .await;
    let result = omg_client(&rec.url(), "some-other-key")
        .authorize(&gameauth_omg::AuthorizeRequest::new("u1", "n1"))
        .await;
    assert!(matches!(result, Err(gameauth_omg::Error::Rejected { .. })));
    assert!(!rec.file.exists());
}

#[tokio::test]
async fn calls_the_runner_cannot_replay_are_forwarded_but_not_recorded() {
    let upstream = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(204).insert_header("x-upstream", "yes"))
        .mount(&upstream)
        .await;
    let rec = Recording::start(
        Provider::Omg,
        &[("OMG_SIGN_KEY", OMG_REAL_KEY)],
        &[],
        &upstream.uri(),
    )
    .await;
    let transport = ReqwestTransport::new().unwrap();
    let answer = transport
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
    let rec = Recording::start(
        Provider::Omg,
        &[("OMG_SIGN_KEY", OMG_REAL_KEY)],
        &[],
        &upstream.uri(),
    )
    .await;
    let transport = ReqwestTransport::new().unwrap();
    let big = Bytes::from(vec![b'x'; proxy::MAX_BODY_BYTES + 1]);
    let answer = transport
        .send(
            http::Request::post(format!("{}/api/player/v1/authorize", rec.url()))
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
    let tmp = TempDir::new();
    let file = tmp.0.join("leak.json");
    let secrets = Secrets::load(Provider::Omg, |_| Some(OMG_REAL_KEY.to_owned())).unwrap();
    let recorder = Recorder::new(
        Provider::Omg,
        secrets,
        Vec::new(),
        Meta {
            scenario: "leak".into(),
            source: "synthetic: leak test".into(),
        },
        file.clone(),
    );
    let body = r#"{"app_id":"10013","uname":"u1","nickname":"n1","timestamp":1711954264}"#;
    let query = "trace_id=k3n9x0q2m7ab";
    let sign =
        gameauth_core::sign::md5_hex(&[query.as_bytes(), body.as_bytes(), OMG_REAL_KEY.as_bytes()]);
    let exchange = |note: &str| Exchange {
        host: "default",
        method: "POST".into(),
        path: "/api/player/v1/authorize".into(),
        query: Some(query.into()),
        request_headers: vec![
            ("sign".into(), sign.clone()),
            (
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            ),
        ],
        request_body: body.into(),
        status: 200,
        response_headers: vec![("content-type".into(), "application/json".into())],
        // An upstream echoing the key in another case is not matched by the replacement, but
        // the final check compares case-insensitively.
        response_body: json!({"code": 0, "msg": note,
            "data": {"token": "t0k3n-abc", "balance": "1", "app_id": "10013"}})
        .to_string(),
        at: 1_711_954_264,
    };
    let outcome = recorder.record(
        "POST /api/player/v1/authorize",
        Ok(exchange(&OMG_REAL_KEY.to_uppercase())),
    );
    assert_eq!(
        outcome,
        Outcome::Refused("the fixture would contain OMG_SIGN_KEY".into())
    );
    assert!(!file.exists());
    // The refused exchange is dropped, so the next clean one is written.
    assert_eq!(
        recorder.record("POST /api/player/v1/authorize", Ok(exchange("ok"))),
        Outcome::Written(1)
    );
}

// ---------------------------------------------------------------------------------------------
// Credit Pay

const CP_REAL_SIGNATURE_KEY: &str = "d1f0c9a8b7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0";
const CP_REAL_API_KEY: &str = "ak_live_7Yq3Zp9Lm2Wx";

/// Answers like Credit Pay's docs, after checking the API key and the signature.
#[derive(Default)]
struct CreditPayStandIn {
    issued: AtomicUsize,
}

impl Respond for CreditPayStandIn {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let path = req.url.path();
        let Some(signed) = path.strip_prefix("/dg") else {
            return ResponseTemplate::new(404);
        };
        let expected = gameauth_core::sign::hmac_sha1_base64(
            CP_REAL_SIGNATURE_KEY.as_bytes(),
            &[signed.as_bytes(), &req.body],
        );
        if header(req, "api-key") != CP_REAL_API_KEY || header(req, "signature") != expected {
            return json_answer(json!({"code": 500, "msg": "signature verification failed"}));
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        if body["customer_no"] == "busy-customer" {
            return json_answer(json!({"code": 500, "msg": "system busy", "trace": "cp-9"}));
        }
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let code = format!("identcode{n}f3e2d1c0b9a8");
        json_answer(
            json!({"code": 0, "msg": "success", "trace": format!("cp-trace-{n}"),
            "data": {"ident_code": code,
                     "url": format!("https://cashier.creditpay.example/dg/oauth?ident_code={code}")}}),
        )
    }
}

#[tokio::test]
async fn creditpay_recording_replays_and_holds_no_real_value() {
    use gameauth_creditpay::{Client, IdentifyAuthRequest};
    let upstream = stand_in(CreditPayStandIn::default()).await;
    let rec = Recording::start(
        Provider::CreditPay,
        &[
            ("CREDITPAY_SIGNATURE_KEY", CP_REAL_SIGNATURE_KEY),
            ("CREDITPAY_API_KEY", CP_REAL_API_KEY),
        ],
        &["customer_no", "client_ip"],
        &upstream.uri(),
    )
    .await;
    let client = Client::builder()
        .base_url(format!("{}/dg", rec.url()))
        .plat_id("plat-0001")
        .api_key(CP_REAL_API_KEY)
        .signature_keys(KeyRing::new(CP_REAL_SIGNATURE_KEY.into()))
        .build()
        .unwrap();
    let expire = gameauth_core::clock::unix_millis(SystemTime::now()) + 3_600_000;
    let request = |customer: &str| {
        IdentifyAuthRequest::new(
            customer,
            PlayerToken::new(format!("custtok-{customer}-aa11bb22")),
            "https://operator.example/payment/callback",
            expire,
            "203.0.113.77",
        )
    };
    let ok = client
        .identify_auth(&request("473_32_86000698"))
        .await
        .unwrap();
    let real_code = ok.ident_code.expose_secret().to_owned();
    let busy = client
        .identify_auth(&request("busy-customer").with_lang("zh-CN"))
        .await;
    assert!(matches!(
        busy,
        Err(gameauth_creditpay::Error::Rejected { .. })
    ));

    let fixture = rec.fixture();
    assert_eq!(interactions(&fixture), 2);
    assert_eq!(fixture["keys"]["api_key"], creditpay::DUMMY_API_KEY);
    assert_eq!(fixture["keys"]["signature_key"], creditpay::DUMMY_KEY);
    assert_eq!(fixture["steps"][0]["prefix"], "/dg");
    assert_eq!(
        fixture["steps"][0]["expect"]["ok"]["url"],
        "https://cashier.creditpay.example/dg/oauth?ident_code=dummy-ident-code-1"
    );
    assert_eq!(fixture["steps"][1]["input"]["lang"], "zh-CN");
    assert_eq!(
        fixture["steps"][1]["expect"],
        json!({"error": {"kind": "server_error", "message": "system busy"}})
    );
    rec.assert_replays_clean(
        "creditpay",
        &[
            CP_REAL_SIGNATURE_KEY,
            CP_REAL_API_KEY,
            &real_code,
            "custtok-473_32_86000698-aa11bb22",
            "473_32_86000698",
            "busy-customer",
            "203.0.113.77",
        ],
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Hive

const HIVE_REAL_CLIENT_ID: &str = "project_live_4471";
const HIVE_REAL_CLIENT_SECRET: &str = "cs_live_Qm8Zr2Lp5Xw1";
const HIVE_REAL_PLAYER_TOKEN: &str = "hivePlayerTok_9zY8xW7v";

fn real_server_token(n: usize) -> String {
    format!("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZWFsIn0.c2lnbmF0dXJl{n}")
}

/// Answers like Hive's docs; refuses the first server token once, as an expired one would be.
/// With `oauth_503s`, the first token requests fail with a 503 first.
#[derive(Default)]
struct HiveStandIn {
    issued: AtomicUsize,
    refused_once: AtomicUsize,
    oauth_503s: AtomicUsize,
}

impl Respond for HiveStandIn {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if req.url.path() == "/oauth/token" {
            if self
                .oauth_503s
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return ResponseTemplate::new(503);
            }
            if body["client_id"] != HIVE_REAL_CLIENT_ID
                || body["client_secret"] != HIVE_REAL_CLIENT_SECRET
            {
                return json_answer(
                    json!({"result_code": 4001, "result_msg": "client authentication failed"}),
                );
            }
            let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
            return json_answer(json!({"result_code": 0, "result_msg": "SUCCESS",
                "data": {"access_token": real_server_token(n)}}));
        }
        let current = real_server_token(self.issued.load(Ordering::SeqCst));
        let valid = header(req, "x-access-token") == current;
        if !valid || self.refused_once.fetch_add(1, Ordering::SeqCst) == 0 {
            let refused = json!({"result_code": 2499, "result_msg": "JWT verification failed"});
            return json_answer(
                json!({"result_code": 2499, "result_msg": "JWT verification failed",
                "token_validation": refused}),
            );
        }
        let ok = json!({"result_code": 0, "result_msg": "SUCCESS"});
        match req.url.path() {
            "/v2/game/token/get-token"
                if header(req, "authorization") == HIVE_REAL_PLAYER_TOKEN =>
            {
                json_answer(json!({"result_code": 0, "result_msg": "SUCCESS",
                    "token_validation": ok,
                    "data": {"is_blocked": false, "is_device_registered": 1,
                             "join_timestamp": "1711954000", "china_pi_no": null}}))
            }
            "/v2/game/token/get-token" => json_answer(json!({"result_code": 7000,
                "result_msg": "invalid token", "token_validation": ok})),
            "/v2/game/player/get-idp" => json_answer(json!({"result_code": 0,
            "result_msg": "SUCCESS", "token_validation": ok,
            "data": [
                {"seq": 10000000067_i64, "player_id": body["player_id"], "idp_user_id": "fb-77120934",
                 "idp_index": 2, "idp_id": "FACEBOOK"},
                {"seq": "10000000068", "player_id": body["player_id"], "idp_user_id": 10000000062_i64,
                 "idp_index": "1", "idp_id": "HIVE"}
            ]})),
            _ => ResponseTemplate::new(404),
        }
    }
}

/// The real Hive credentials, as the recorder reads them from the environment.
const HIVE_ENV: [(&str, &str); 2] = [
    ("HIVE_CLIENT_ID", HIVE_REAL_CLIENT_ID),
    ("HIVE_CLIENT_SECRET", HIVE_REAL_CLIENT_SECRET),
];

/// A v2 Hive client with the real credentials on `primary` and, when given, `fallback`.
fn hive_client(primary: String, fallback: Option<String>) -> gameauth_hive::HiveClient {
    let mut builder = gameauth_hive::HiveClient::builder()
        .primary_url(primary)
        .appid("com.example.game.android")
        .client_credentials(
            HIVE_REAL_CLIENT_ID,
            SecretString::from(HIVE_REAL_CLIENT_SECRET),
        );
    if let Some(url) = fallback {
        builder = builder.fallback_url(url);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn hive_recording_replays_and_holds_no_real_value() {
    use gameauth_hive::{IncludeField, VerifyParams};
    let upstream = stand_in(HiveStandIn::default()).await;
    let rec = Recording::start(
        Provider::Hive,
        &HIVE_ENV,
        &["did", "idp_user_id"],
        &upstream.uri(),
    )
    .await;
    let client = hive_client(rec.url(), None);
    let params = |token: &str| {
        VerifyParams::new(PlayerToken::new(token), 21, "255764404509548")
            .include(IncludeField::parse("is_blocked").unwrap())
            .include(IncludeField::parse("join_timestamp").unwrap())
    };
    // The stand-in refuses the first server token: the client refreshes it and retries.
    let verified = client
        .verify_token(&params(HIVE_REAL_PLAYER_TOKEN))
        .await
        .unwrap();
    assert_eq!(verified.player_id, 21);
    let rejected = client.verify_token(&params("hiveWrongTok_0000")).await;
    assert!(matches!(
        rejected,
        Err(gameauth_hive::HiveError::TokenRejected { .. })
    ));
    let list = client.idp_list(21).await.unwrap();
    assert_eq!(list.accounts.len(), 2);

    let fixture = rec.fixture();
    assert_eq!(interactions(&fixture), 6);
    let names: Vec<&str> = fixture["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "oauth_token",
            "verify",
            "oauth_token_2",
            "verify_2",
            "verify_3",
            "idp_list"
        ]
    );
    assert_eq!(fixture["steps"].as_array().unwrap().len(), 3);
    assert_eq!(
        fixture["keys"],
        json!({"client_id": "dummy-client-id", "client_secret": "dummy-client-secret"})
    );
    assert_eq!(
        fixture["interactions"][3]["request"]["headers"]["x-access-token"],
        "dummy-access-token-2"
    );
    assert_eq!(
        fixture["steps"][0]["expect"],
        json!({"ok": {"player_id": 21, "served_by": "primary",
            "fields": {"is_blocked": false, "is_device_registered": true,
                       "join_timestamp": 1711954000}}})
    );
    rec.assert_replays_clean(
        "hive",
        &[
            HIVE_REAL_CLIENT_ID,
            HIVE_REAL_CLIENT_SECRET,
            HIVE_REAL_PLAYER_TOKEN,
            "hiveWrongTok_0000",
            &real_server_token(1),
            &real_server_token(2),
            "255764404509548",
            "fb-77120934",
        ],
    )
    .await;
}

/// Hive's primary host with its calls broken (its token endpoint works): verification answers
/// 503 and the IdP list a 200 HTML page.
struct PrimaryBroken(Arc<HiveStandIn>);

impl Respond for PrimaryBroken {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        match req.url.path() {
            "/oauth/token" => self.0.respond(req),
            "/v2/game/player/get-idp" => ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html>maintenance</html>"),
            _ => ResponseTemplate::new(503),
        }
    }
}

/// Hive's fallback host, sharing the primary's server tokens; player 22's IdP list answers 504.
struct FallbackHost(Arc<HiveStandIn>);

impl Respond for FallbackHost {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if req.url.path() == "/v2/game/player/get-idp" && body["player_id"] == 22 {
            return ResponseTemplate::new(504);
        }
        self.0.respond(req)
    }
}

#[tokio::test]
async fn hive_fallback_calls_are_recorded_through_the_second_proxy_and_replay() {
    use gameauth_hive::{HiveError, ServedBy, VerifyParams};
    // No first refusal of the server token: this recording is about the hosts.
    let hive = Arc::new(HiveStandIn {
        refused_once: AtomicUsize::new(1),
        ..HiveStandIn::default()
    });
    let primary = stand_in(PrimaryBroken(hive.clone())).await;
    let fallback = stand_in(FallbackHost(hive)).await;
    let rec = Recording::start_with_fallback(
        Provider::Hive,
        &HIVE_ENV,
        &["did", "idp_user_id"],
        &primary.uri(),
        Some(&fallback.uri()),
    )
    .await;
    let client = hive_client(rec.url(), Some(rec.fallback_url()));
    let params = |token: &str| VerifyParams::new(PlayerToken::new(token), 21, "255764404509548");
    let verified = client
        .verify_token(&params(HIVE_REAL_PLAYER_TOKEN))
        .await
        .unwrap();
    assert_eq!(verified.served_by, ServedBy::Fallback);
    let rejected = client.verify_token(&params("hiveWrongTok_0000")).await;
    assert!(
        matches!(rejected, Err(HiveError::TokenRejected { .. })),
        "{rejected:?}"
    );
    let list = client.idp_list(21).await.unwrap();
    assert_eq!(list.served_by, ServedBy::Fallback);
    let down = client.idp_list(22).await;
    assert!(matches!(down, Err(HiveError::Unavailable(_))), "{down:?}");

    let fixture = rec.fixture();
    let hosts: Vec<(&str, &str)> = fixture["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["host"].as_str().unwrap()))
        .collect();
    assert_eq!(
        hosts,
        [
            ("oauth_token", "primary"),
            ("verify", "primary"),
            ("verify_2", "fallback"),
            ("verify_3", "primary"),
            ("verify_4", "fallback"),
            ("idp_list", "primary"),
            ("idp_list_2", "fallback"),
            ("idp_list_3", "primary"),
            ("idp_list_4", "fallback"),
        ]
    );
    let expects: Vec<&Value> = fixture["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["expect"])
        .collect();
    assert_eq!(expects[0]["ok"]["served_by"], "fallback");
    assert_eq!(expects[1]["error"]["served_by"], "fallback");
    assert_eq!(expects[1]["error"]["code"], 7000);
    assert_eq!(expects[2]["ok"]["served_by"], "fallback");
    assert_eq!(
        *expects[3],
        json!({"error": {"kind": "unavailable", "primary": "not_json", "fallback": "status 504"}})
    );
    assert!(
        fixture["source"]
            .as_str()
            .is_some_and(|s| s.contains("stand-in")),
        "{fixture}"
    );
    rec.assert_replays_clean(
        "hive",
        &[
            HIVE_REAL_CLIENT_ID,
            HIVE_REAL_CLIENT_SECRET,
            HIVE_REAL_PLAYER_TOKEN,
            "hiveWrongTok_0000",
            &real_server_token(1),
            "255764404509548",
            "fb-77120934",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_fallback_call_without_a_primary_attempt_is_left_out() {
    use gameauth_hive::VerifyParams;
    let hive = Arc::new(HiveStandIn {
        refused_once: AtomicUsize::new(1),
        ..HiveStandIn::default()
    });
    let primary = stand_in(HiveStandIn {
        refused_once: AtomicUsize::new(1),
        ..HiveStandIn::default()
    })
    .await;
    let fallback = stand_in(FallbackHost(hive)).await;
    let rec = Recording::start_with_fallback(
        Provider::Hive,
        &HIVE_ENV,
        &["did"],
        &primary.uri(),
        Some(&fallback.uri()),
    )
    .await;
    // A client that sends a call straight to the fallback proxy (as one whose breaker is open
    // would): nothing before it on the primary explains it, so it cannot replay.
    let client = hive_client(rec.fallback_url(), None);
    let params = VerifyParams::new(PlayerToken::new(HIVE_REAL_PLAYER_TOKEN), 21, "1");
    // The answer is forwarded all the same.
    assert!(client.verify_token(&params).await.is_ok());
    assert!(
        !rec.file.exists(),
        "nothing replayable was recorded, so no fixture is written"
    );
}

#[tokio::test]
async fn a_server_token_request_retried_after_a_503_replays_with_its_call() {
    use gameauth_hive::VerifyParams;
    let upstream = stand_in(HiveStandIn {
        oauth_503s: AtomicUsize::new(1),
        // The first verification answers normally.
        refused_once: AtomicUsize::new(1),
        ..HiveStandIn::default()
    })
    .await;
    let rec = Recording::start(Provider::Hive, &[], &[], &upstream.uri()).await;
    hive_client(rec.url(), None)
        .verify_token(&VerifyParams::new(
            PlayerToken::new(HIVE_REAL_PLAYER_TOKEN),
            42,
            "dev-1",
        ))
        .await
        .unwrap();
    let fixture = rec.fixture();
    let statuses: Vec<&Value> = fixture["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["response"]["status"])
        .collect();
    assert_eq!(statuses, [503, 200, 200]);
    // Found by name although not given in the environment.
    assert_eq!(fixture["keys"]["client_secret"], "dummy-client-secret-1");
    rec.assert_replays_clean(
        "hive",
        &[
            HIVE_REAL_CLIENT_ID,
            HIVE_REAL_CLIENT_SECRET,
            HIVE_REAL_PLAYER_TOKEN,
            &real_server_token(1),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_server_token_waits_for_the_call_it_serves() {
    let upstream = stand_in(HiveStandIn::default()).await;
    let rec = Recording::start(Provider::Hive, &[], &[], &upstream.uri()).await;
    let transport = ReqwestTransport::new().unwrap();
    let body = json!({"appid": "a", "grant_type": "client_credentials",
        "client_id": HIVE_REAL_CLIENT_ID, "client_secret": HIVE_REAL_CLIENT_SECRET});
    let answer = transport
        .send(
            http::Request::post(format!("{}/oauth/token", rec.url()))
                .header("content-type", "application/json")
                .body(Bytes::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        !rec.file.exists(),
        "no step can replay a lone token request"
    );
}

// ---------------------------------------------------------------------------------------------
// Command line and secrets

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn secrets_come_from_the_environment_and_their_debug_is_redacted() {
    let err = Secrets::load(Provider::CreditPay, |_| None).unwrap_err();
    assert!(
        err.contains("CREDITPAY_SIGNATURE_KEY and CREDITPAY_API_KEY"),
        "{err}"
    );
    assert!(Secrets::load(Provider::Hive, |_| None).is_ok());
    let s = Secrets::load(Provider::Omg, |_| Some("sentinel-key".into())).unwrap();
    assert_eq!(format!("{s:?}"), "{\"OMG_SIGN_KEY\": \"[redacted]\"}");
}

#[test]
fn the_command_line_refuses_unsafe_or_incomplete_settings() {
    let base = [
        "--provider",
        "omg",
        "--upstream",
        "https://sandbox.example",
        "--out",
        "d",
    ];
    assert!(parse_args(&args(&base)).is_ok());
    for (extra, why) in [
        (&["--listen", "0.0.0.0:8080"][..], "loopback"),
        (&["--scenario", "Bad Name"][..], "--scenario"),
        (&["--scrub-field", " "][..], "--scrub-field"),
        (&["--key", "x"][..], "unexpected argument"),
        (
            &["--fallback-upstream", "https://fallback.example"][..],
            "Hive only",
        ),
        (
            &["--fallback-listen", "127.0.0.1:9"][..],
            "needs --fallback-upstream",
        ),
    ] {
        let mut a = args(&base);
        a.extend(args(extra));
        let err = parse_args(&a).err().unwrap();
        assert!(err.contains(why), "{err}");
    }
    for upstream in [
        "https://user:pw@h.example",
        "http://h.example/?q=1",
        "ftp://h.example",
    ] {
        let mut a = args(&base);
        a[3] = upstream.to_owned();
        assert!(parse_args(&a).is_err(), "{upstream}");
    }
    let err = parse_args(&args(&["--provider", "vegaslounge"]))
        .err()
        .unwrap();
    assert!(err.contains("cannot record"), "{err}");
    assert!(parse_args(&args(&["--provider", "omg"])).is_err());

    let mut hive = args(&base);
    hive[1] = "hive".into();
    hive.extend(args(&["--fallback-upstream", "https://fallback.example"]));
    let opts = parse_args(&hive).unwrap();
    let (url, listen) = opts.fallback.expect("the fallback is kept");
    assert_eq!(url.as_str(), "https://fallback.example/");
    assert!(listen.ip().is_loopback());
    for (extra, why) in [
        (&["--fallback-listen", "0.0.0.0:9"][..], "loopback"),
        (&["--fallback-listen", "nine"][..], "--fallback-listen"),
    ] {
        let mut a = hive.clone();
        a.extend(args(extra));
        let err = parse_args(&a).err().unwrap();
        assert!(err.contains(why), "{err}");
    }
    let mut a = args(&base);
    a[1] = "hive".into();
    a.extend(args(&["--fallback-upstream", "ftp://fallback.example"]));
    let err = parse_args(&a).err().unwrap();
    assert!(err.contains("--fallback-upstream must be"), "{err}");
}

#[test]
fn dates_are_utc_calendar_days() {
    assert_eq!(date(0), "1970-01-01");
    assert_eq!(date(1_711_954_264), "2024-04-01");
    assert_eq!(date(951_782_400), "2000-02-29");
}

#[test]
fn the_fixture_file_is_replaced_atomically() {
    let tmp = TempDir::new();
    let file = tmp.0.join("f.json");
    write_atomically(&file, "one").unwrap();
    write_atomically(&file, "two").unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "two");
    let names: Vec<_> = std::fs::read_dir(&tmp.0).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file is left behind");
}
