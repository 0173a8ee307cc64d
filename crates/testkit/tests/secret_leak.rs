//! Full flows of every outbound provider with sentinel secrets, under a TRACE-level subscriber
//! that also receives dependencies' `log` records: no sentinel may appear in the logs, in any
//! error's `Display` or `Debug`, or in the `Debug` of anything the SDK returns.

use std::sync::Arc;

use bytes::Bytes;
use gameauth_core::secrecy::SecretString;
use gameauth_core::{
    AuthError, KeyRing, ManualClock, PlayerToken, TokenVerifier, VerifiedPlayer, VerifyRequest,
    async_trait,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Every secret below contains this marker.
const SENTINEL: &str = "sentinel";

/// Collects everything a flow printed or returned.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn debug(&mut self, what: &str, value: &dyn std::fmt::Debug) {
        self.0.push(format!("{what}: {value:?} / {value:#?}"));
    }

    fn error<E: std::fmt::Debug + std::fmt::Display>(&mut self, what: &str, e: &E) {
        self.0.push(format!("{what}: {e} / {e:?}"));
    }

    fn assert_clean(&self, logs: &str) {
        assert!(
            !logs.is_empty(),
            "the subscriber captured nothing: the check would be vacuous"
        );
        assert!(
            !logs.to_ascii_lowercase().contains(SENTINEL),
            "a sentinel secret was logged:\n{logs}"
        );
        for line in &self.0 {
            assert!(
                !line.to_ascii_lowercase().contains(SENTINEL),
                "a sentinel secret leaked: {line}"
            );
        }
    }
}

fn json(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

/// The operator's sessions, holding a sentinel session token.
struct Sessions;

#[async_trait]
impl TokenVerifier for Sessions {
    fn provider(&self) -> &str {
        "operator"
    }
    async fn verify(&self, r: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
        if r.token.ct_eq("sentinel-session-token") {
            Ok(VerifiedPlayer::new("10003803")
                .with_display_name("bill")
                .with_balance("42766.25"))
        } else {
            Err(AuthError::rejected(10011, "unknown session"))
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn omg_flows_leak_no_secret() {
    let (guard, logs) = testkit::capture_logs();
    let mut seen = Seen::default();
    let omg = MockServer::start().await;
    Mock::given(path("/api/player/v1/authorize"))
        .respond_with(json(
            r#"{"code":0,"msg":"ok","data":{"token":"sentinel-player-token","balance":"1.00","app_id":"10013"}}"#,
        ))
        .mount(&omg)
        .await;
    Mock::given(path("/api/game/v1/entergame"))
        .respond_with(json(r#"{"code":10002,"msg":"sign invalid"}"#))
        .mount(&omg)
        .await;
    let key = SecretString::from("sentinel-omg-key");
    let client = gameauth_omg::Client::builder()
        .base_url(omg.uri())
        .app_id("10013")
        .key(key.clone())
        .build()
        .unwrap();
    seen.debug("client", &client);
    let player = client
        .authorize(&gameauth_omg::AuthorizeRequest::new("10032355", "Bill"))
        .await
        .unwrap();
    seen.debug("authorized player", &player);
    let launch = gameauth_omg::EnterGameRequest::new(
        player.token.clone(),
        "1",
        gameauth_omg::ScreenMode::VerticalFull,
    );
    seen.debug("launch request", &launch);
    let err = client.enter_game(&launch).await.unwrap_err();
    seen.error("enter_game error", &err);
    seen.error("as AuthError", &AuthError::from(err));

    // Inbound: verify_session with a good and a bad signature.
    let verifier = gameauth_omg::CallbackVerifier::builder()
        .key(key)
        .build()
        .unwrap();
    seen.debug("callback verifier", &verifier);
    let responder = gameauth_omg::VerifySessionResponder::new(verifier, Arc::new(Sessions));
    let now = chrono_free_now();
    let body = format!(
        r#"{{"app_id":"10013","timestamp":{now},"operator_player_session":"sentinel-session-token","ip":"127.0.0.1","custom_parameter":"","game_id":1}}"#
    );
    let sign =
        gameauth_core::sign::md5_hex(&[b"trace_id=abc", body.as_bytes(), b"sentinel-omg-key"]);
    let ok = responder
        .respond(Some("trace_id=abc"), body.as_bytes(), Some(&sign))
        .await;
    assert_eq!(ok.status(), 200);
    assert!(String::from_utf8_lossy(ok.body()).contains("\"code\":1"));
    let bad = responder
        .respond(Some("trace_id=abc"), body.as_bytes(), Some("00"))
        .await;
    seen.debug("bad-sign answer", &bad);
    drop(guard);
    seen.assert_clean(&logs.contents());
}

fn chrono_free_now() -> i64 {
    gameauth_core::clock::unix_millis(std::time::SystemTime::now()) / 1000
}

#[tokio::test(flavor = "current_thread")]
async fn creditpay_flows_leak_no_secret() {
    let (guard, logs) = testkit::capture_logs();
    let mut seen = Seen::default();
    let cp = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(
            r#"{"code":0,"msg":"success","data":{"ident_code":"sentinelcode","url":"https://cashier.example/dg/oauth?ident_code=sentinelcode"},"trace":"t"}"#,
        ))
        .up_to_n_times(1)
        .mount(&cp)
        .await;
    Mock::given(method("POST"))
        .respond_with(json(r#"{"code":500,"msg":"server error"}"#))
        .mount(&cp)
        .await;
    let client = gameauth_creditpay::Client::builder()
        .base_url(format!("{}/dg", cp.uri()))
        .plat_id("328cf95950f54f89a2dd4c3bf98ac5fb")
        .api_key("sentinel-api-key")
        .signature_keys(KeyRing::new("sentinel-signature-key".into()))
        .clock(Arc::new(ManualClock::at_unix_seconds(1_732_520_000)))
        .build()
        .unwrap();
    seen.debug("client", &client);
    let request = gameauth_creditpay::IdentifyAuthRequest::new(
        "473_32_86000698",
        PlayerToken::new("sentinel-customer-token"),
        "https://platform.example/payment/callback",
        1_732_521_424_191,
        "192.168.1.166",
    );
    seen.debug("request", &request);
    let issued = client.identify_auth(&request).await.unwrap();
    seen.debug("issued", &issued);
    let err = client.identify_auth(&request).await.unwrap_err();
    seen.error("rejected", &err);

    // Inbound: a webhook carrying the customer token, signed with the sentinel key.
    let verifier = gameauth_creditpay::InboundVerifier::new(
        "/api/v1/credit-pay/notify",
        KeyRing::new("sentinel-signature-key".into()),
    )
    .unwrap();
    seen.debug("inbound verifier", &verifier);
    let body = br#"{"type":"PAY_SUCCESS","platform_id":"p","retry":0,"event_id":"e-1","data":{"order_no":"o-1"}}"#;
    let signature = gameauth_core::sign::hmac_sha1_base64(
        b"sentinel-signature-key",
        &[b"/api/v1/credit-pay/notify", body],
    );
    let mut headers = http::HeaderMap::new();
    headers.insert("signature", signature.parse().unwrap());
    headers.insert("token", "sentinel-customer-token".parse().unwrap());
    let verified = verifier.verify(&headers, body).unwrap();
    seen.debug("inbound headers", &verified);
    headers.insert("signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".parse().unwrap());
    let err = verifier.verify(&headers, body).unwrap_err();
    seen.error("bad signature", &err);
    drop(guard);
    seen.assert_clean(&logs.contents());
}

#[tokio::test(flavor = "current_thread")]
async fn hive_flows_leak_no_secret() {
    let (guard, logs) = testkit::capture_logs();
    let mut seen = Seen::default();
    let hive = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(json(
            r#"{"result_code":0,"result_msg":"SUCCESS","data":{"access_token":"sentinel-server-token"}}"#,
        ))
        .mount(&hive)
        .await;
    Mock::given(path("/v2/game/token/get-token"))
        .respond_with(json(
            r#"{"result_code":7000,"result_msg":"invalid token","token_validation":{"result_code":0,"result_msg":"SUCCESS"}}"#,
        ))
        .mount(&hive)
        .await;
    Mock::given(path("/server/player/get-idpuserid"))
        .respond_with(json(
            r#"{"result_code":7000,"result_msg":"verification failed"}"#,
        ))
        .mount(&hive)
        .await;
    let builder = || {
        gameauth_hive::Client::builder()
            .primary_url(hive.uri())
            .appid("com.com2us.hivesdk.normal.freefull.apple.global.ios.universal")
            .client_credentials(
                "project_abc123",
                SecretString::from("sentinel-client-secret"),
            )
    };
    let client = builder().build().unwrap();
    let server_mode = builder()
        .verify_access_token(gameauth_hive::VerifyAccessToken::Server)
        .build()
        .unwrap();
    seen.debug("client", &client);
    let params = gameauth_hive::VerifyParams::new(
        PlayerToken::new("sentinel-player-token"),
        21,
        "255764404509548",
    );
    let with_access = params
        .clone()
        .with_access_token(PlayerToken::new("sentinel-player-access-token"));
    seen.debug("params", &with_access);
    let err = client.verify_token(&with_access).await.unwrap_err();
    seen.error("rejected", &err);
    let err = server_mode.verify_token(&params).await.unwrap_err();
    seen.error("rejected with the server token", &err);
    let idps = gameauth_hive::PlayerIdpsParams::new(
        PlayerToken::new("sentinel-player-token"),
        21,
        "255764404509548",
    );
    seen.debug("IdP list params", &idps);
    let err = client.player_idps(&idps).await.unwrap_err();
    seen.error("IdP list refused", &err);
    let through_trait = client
        .verify(
            &VerifyRequest::new(PlayerToken::new("sentinel-player-token"))
                .with_player_id("21")
                .with_device_id("255764404509548")
                .with_access_token(PlayerToken::new("sentinel-player-access-token")),
        )
        .await
        .unwrap_err();
    seen.error("rejected through the trait", &through_trait);
    drop(guard);
    seen.assert_clean(&logs.contents());
    // The flow really ran with the sentinel values on the wire.
    let received = hive.received_requests().await.unwrap();
    let bodies: Vec<Bytes> = received
        .iter()
        .map(|r| Bytes::from(r.body.clone()))
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| String::from_utf8_lossy(b).contains("sentinel-client-secret"))
    );
    assert!(received.iter().any(|r| {
        r.headers
            .get("x-access-token")
            .is_some_and(|v| v == "sentinel-player-access-token")
    }));
}

#[test]
#[should_panic(expected = "a sentinel secret was logged")]
fn the_check_catches_a_logged_secret() {
    let (guard, logs) = testkit::capture_logs();
    tracing::debug!(key = "sentinel-key", "signing");
    drop(guard);
    Seen::default().assert_clean(&logs.contents());
}
