//! The client against a wiremock OMG: exact bytes, sign header, answers and retry rules.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use gameauth_core::{AuthError, IssueRequest, TokenIssuer, TransportError, TransportErrorKind};
use gameauth_omg::{AuthorizeRequest, EnterGameRequest, Error, InGameRequest, OmgCode, ScreenMode};
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{NOW, TRACE, client, client_builder, sign};

const O4_BODY: &str =
    r#"{"app_id":"10013","uname":"10032355","nickname":"Bill","timestamp":1711954264,"cid":0}"#;
const O4_SIGN: &str = "7387fcf664c067bcbfffbde11ef96f51";
const AUTHORIZED: &str =
    r#"{"code":0,"msg":"ok","data":{"token":"1003803","balance":"42766.25","app_id":10013}}"#;

fn bill() -> AuthorizeRequest {
    AuthorizeRequest::new("10032355", "Bill").with_cid(0)
}

/// A mock that only matches the exact documented request.
fn exact(p: &str, body: &str, sign: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path(p))
        .and(query_param("trace_id", TRACE))
        .and(header("sign", sign))
        .and(header("content-type", "application/json; charset=utf-8"))
        .and(body_string(body))
}

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

#[tokio::test]
async fn authorize_sends_vector_o4_bytes_and_sign_header() {
    let server = MockServer::start().await;
    exact("/api/player/v1/authorize", O4_BODY, O4_SIGN)
        .respond_with(json(200, AUTHORIZED))
        .expect(1)
        .mount(&server)
        .await;
    let player = client(&server.uri()).authorize(&bill()).await.unwrap();
    assert_eq!(player.token.expose_secret(), "1003803");
    assert_eq!(player.balance, "42766.25");
    assert_eq!(player.app_id, "10013");
    let issued = UNIX_EPOCH + Duration::from_secs(NOW as u64);
    assert_eq!(player.issued_at, issued);
    assert_eq!(
        player.expires_at,
        issued + Duration::from_secs(7 * 24 * 3600)
    );
    // The raw query on the request line carries exactly one parameter.
    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].url.query(), Some("trace_id=k3n9x0q2m7ab"));
}

#[tokio::test]
async fn authorize_multi_currency_returns_the_sub_merchant_app_id() {
    let server = MockServer::start().await;
    let body =
        r#"{"app_id":"10013","uname":"10032355","nickname":"Bill","timestamp":1711954264,"cid":2}"#;
    exact(
        "/api/player/v1/authorize",
        body,
        &sign("trace_id=k3n9x0q2m7ab", body),
    )
    .respond_with(json(
        200,
        r#"{"code":0,"msg":"ok","data":{"token":"2004911","balance":"10.5","app_id":"10015"}}"#,
    ))
    .expect(1)
    .mount(&server)
    .await;
    let player = client(&server.uri())
        .authorize(&AuthorizeRequest::new("10032355", "Bill").with_cid(2))
        .await
        .unwrap();
    assert_eq!(player.app_id, "10015");
    assert_eq!(player.balance, "10.5");
}

#[tokio::test]
async fn authorize_refuses_a_nickname_over_40_bytes_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(200, AUTHORIZED))
        .expect(0)
        .mount(&server)
        .await;
    let long = AuthorizeRequest::new("u1", "玩".repeat(14));
    assert!(matches!(
        client(&server.uri()).authorize(&long).await,
        Err(Error::InvalidInput(_))
    ));
    let empty_uname = AuthorizeRequest::new("", "Bill");
    assert!(matches!(
        client(&server.uri()).authorize(&empty_uname).await,
        Err(Error::InvalidInput(_))
    ));
}

#[tokio::test]
async fn sign_invalid_is_a_typed_rejection() {
    let server = MockServer::start().await;
    exact("/api/player/v1/authorize", O4_BODY, O4_SIGN)
        .respond_with(json(200, r#"{"code":10002,"msg":"sign invalid"}"#))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server.uri()).authorize(&bill()).await.unwrap_err();
    assert!(
        matches!(err, Error::Rejected { code: OmgCode::SignInvalid, ref message } if message == "sign invalid")
    );
}

#[tokio::test]
async fn unknown_codes_are_kept_as_other() {
    let server = MockServer::start().await;
    exact("/api/player/v1/authorize", O4_BODY, O4_SIGN)
        .respond_with(json(200, r#"{"code":10099,"msg":"brand new"}"#))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server.uri()).authorize(&bill()).await.unwrap_err();
    assert_eq!(err.code(), Some(OmgCode::Other(10099)));
}

#[tokio::test]
async fn authorize_is_not_retried_on_a_5xx() {
    let server = MockServer::start().await;
    exact("/api/player/v1/authorize", O4_BODY, O4_SIGN)
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server.uri()).authorize(&bill()).await.unwrap_err();
    assert!(matches!(err, Error::HttpStatus { status: 502, .. }));
}

#[tokio::test]
async fn authorize_timeout_after_sending_is_outcome_unknown() {
    let server = MockServer::start().await;
    exact("/api/player/v1/authorize", O4_BODY, O4_SIGN)
        .respond_with(json(200, AUTHORIZED).set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&server)
        .await;
    let c = client_builder(&server.uri())
        .attempt_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    assert!(matches!(
        c.authorize(&bill()).await,
        Err(Error::OutcomeUnknown)
    ));
}

/// A transport that fails the first `failures` attempts with `error`, then answers `body`.
fn flaky(
    failures: usize,
    error: TransportError,
    body: &'static str,
) -> (Arc<AtomicUsize>, Arc<dyn gameauth_core::HttpTransport>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let transport = move |_req: http::Request<Bytes>| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let error = error.clone();
        async move {
            if n < failures {
                Err(error)
            } else {
                Ok(http::Response::new(Bytes::from_static(body.as_bytes())))
            }
        }
    };
    (calls, Arc::new(transport))
}

#[tokio::test(start_paused = true)]
async fn authorize_retries_only_a_connect_failure_before_sending() {
    let refused = TransportError::new(TransportErrorKind::Connect, false, "connection refused");
    let (calls, transport) = flaky(2, refused, AUTHORIZED);
    let c = client_builder("http://127.0.0.1:9")
        .transport(transport)
        .build()
        .unwrap();
    assert!(c.authorize(&bill()).await.is_ok());
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let reset = TransportError::new(TransportErrorKind::Io, true, "connection reset");
    let (calls, transport) = flaky(1, reset, AUTHORIZED);
    let c = client_builder("http://127.0.0.1:9")
        .transport(transport)
        .build()
        .unwrap();
    assert!(matches!(
        c.authorize(&bill()).await,
        Err(Error::OutcomeUnknown)
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn authorize_gives_up_after_three_connect_failures() {
    let refused = TransportError::new(TransportErrorKind::Connect, false, "connection refused");
    let (calls, transport) = flaky(usize::MAX, refused, AUTHORIZED);
    let c = client_builder("http://127.0.0.1:9")
        .transport(transport)
        .build()
        .unwrap();
    let err = c.authorize(&bill()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(ref t) if t.is_connect() && !t.request_sent()));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

const GAME_URL: &str =
    r#"{"code":0,"msg":"ok","data":{"gameurl":"https://game.example/49?token=1003803"}}"#;

#[tokio::test]
async fn enter_game_sends_the_documented_body_and_returns_the_game_url() {
    let server = MockServer::start().await;
    let body = r#"{"app_id":"10013","token":"1003803","gameid":"49","timestamp":1711954264,"lang":"en","screen_mode":"3"}"#;
    exact(
        "/api/game/v1/entergame",
        body,
        &sign("trace_id=k3n9x0q2m7ab", body),
    )
    .respond_with(json(200, GAME_URL))
    .expect(1)
    .mount(&server)
    .await;
    let request =
        EnterGameRequest::new("1003803".into(), "49", ScreenMode::HorizontalFull).with_lang("en");
    let url = client(&server.uri()).enter_game(&request).await.unwrap();
    assert_eq!(url.expose_secret(), "https://game.example/49?token=1003803");
}

#[tokio::test]
async fn ingame_sends_the_operator_session_and_returns_the_game_url() {
    let server = MockServer::start().await;
    let body = r#"{"app_id":"10013","gameid":"49","token":"dummy-session-7f3a","nick":"Bill","cid":0,"back_url":"https://operator.example/lobby","screen_mode":"1"}"#;
    exact(
        "/api/usr/ingame",
        body,
        &sign("trace_id=k3n9x0q2m7ab", body),
    )
    .respond_with(json(200, GAME_URL))
    .expect(1)
    .mount(&server)
    .await;
    let request = InGameRequest::new(
        "dummy-session-7f3a".into(),
        "49",
        "Bill",
        ScreenMode::VerticalFull,
    )
    .with_cid(0)
    .with_back_url("https://operator.example/lobby");
    let url = client(&server.uri()).ingame(&request).await.unwrap();
    assert_eq!(url.expose_secret(), "https://game.example/49?token=1003803");
}

fn launch() -> EnterGameRequest {
    EnterGameRequest::new("1003803".into(), "49", ScreenMode::Half)
}

#[tokio::test]
async fn idempotent_reads_retry_5xx_and_then_succeed() {
    let server = MockServer::start().await;
    Mock::given(path("/api/game/v1/entergame"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/api/game/v1/entergame"))
        .respond_with(json(200, GAME_URL))
        .expect(1)
        .mount(&server)
        .await;
    assert!(client(&server.uri()).enter_game(&launch()).await.is_ok());
}

#[tokio::test]
async fn unbounded_timeouts_are_accepted_and_calls_still_work() {
    let server = MockServer::start().await;
    exact("/api/player/v1/authorize", O4_BODY, O4_SIGN)
        .respond_with(json(200, AUTHORIZED))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/game/v1/entergame"))
        .respond_with(json(200, GAME_URL))
        .expect(1)
        .mount(&server)
        .await;
    let c = client_builder(&server.uri())
        .attempt_timeout(Duration::MAX)
        .deadline(Duration::MAX)
        .build()
        .unwrap();
    let player = c.authorize(&bill()).await.unwrap();
    assert_eq!(player.token.expose_secret(), "1003803");
    assert!(c.enter_game(&launch()).await.is_ok());
}

#[tokio::test]
async fn idempotent_reads_stop_after_three_attempts() {
    let server = MockServer::start().await;
    Mock::given(path("/api/game/v1/entergame"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;
    let err = client(&server.uri())
        .enter_game(&launch())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::HttpStatus { status: 502, .. }));
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for status in [400, 401, 403, 404] {
        let server = MockServer::start().await;
        Mock::given(path("/api/game/v1/entergame"))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let err = client(&server.uri())
            .enter_game(&launch())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::HttpStatus { status: s, .. } if s == status));
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let transport = move |_req: http::Request<Bytes>| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let mut r = http::Response::new(Bytes::from_static(GAME_URL.as_bytes()));
            if n == 0 {
                *r.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
                r.headers_mut()
                    .insert("retry-after", http::HeaderValue::from_static("4"));
            }
            Ok::<_, TransportError>(r)
        }
    };
    let c = client_builder("http://127.0.0.1:9")
        .transport(Arc::new(transport))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    assert!(c.enter_game(&launch()).await.is_ok());
    assert!(start.elapsed() >= Duration::from_secs(4));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn retry_after_above_ten_seconds_ends_the_retries() {
    let server = MockServer::start().await;
    Mock::given(path("/api/game/v1/entergame"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server.uri())
        .enter_game(&launch())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::HttpStatus { status: 429, retry_after: Some(d) } if d == Duration::from_secs(30)
    ));
}

#[tokio::test]
async fn html_page_with_status_200_is_a_decode_error_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/api/game/v1/entergame"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("<html><body>maintenance</body></html>", "text/html"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server.uri())
        .enter_game(&launch())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(ref d) if d.path == "$"));
}

#[tokio::test]
async fn truncated_json_and_wrong_types_are_decode_errors() {
    let cases = [
        (
            r#"{"code":0,"msg":"ok","data":{"gameurl":"https://ga"#,
            "data",
        ),
        (r#"{"code":0,"msg":"o"#, "msg"),
        (
            r#"{"code":0,"msg":"ok","data":{"gameurl":49}}"#,
            "data.gameurl",
        ),
        (r#"{"code":0,"msg":"ok"}"#, "data"),
        (r#"{"msg":"ok","data":{"gameurl":"u"}}"#, "$"),
    ];
    for (body, field) in cases {
        let server = MockServer::start().await;
        Mock::given(path("/api/game/v1/entergame"))
            .respond_with(json(200, body))
            .mount(&server)
            .await;
        let err = client(&server.uri())
            .enter_game(&launch())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Decode(ref d) if d.path == field),
            "{body}: {err:?}"
        );
    }
}

#[tokio::test]
async fn lenient_fields_accept_strings_and_numbers() {
    let server = MockServer::start().await;
    exact("/api/player/v1/authorize", O4_BODY, O4_SIGN)
        .respond_with(json(
            200,
            r#"{"code":"0","msg":"ok","data":{"token":1003803,"balance":12345678901234567.1234,"app_id":"10013"}}"#,
        ))
        .mount(&server)
        .await;
    let player = client(&server.uri()).authorize(&bill()).await.unwrap();
    assert_eq!(player.token.expose_secret(), "1003803");
    assert_eq!(player.balance, "12345678901234567.1234");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let server = MockServer::start().await;
    Mock::given(path("/api/game/v1/entergame"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "http://127.0.0.2:1/"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server.uri())
        .enter_game(&launch())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::HttpStatus { status: 302, .. }));
}

#[tokio::test]
async fn a_ten_mib_body_is_refused() {
    let server = MockServer::start().await;
    let huge = vec![b' '; 10 * 1024 * 1024];
    Mock::given(path("/api/game/v1/entergame"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge.clone(), "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/player/v1/authorize"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server.uri());
    let err = c.enter_game(&launch()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(ref t) if t.kind() == TransportErrorKind::BodyTooLarge));
    // The token may have been issued: the state-creating call reports an unknown outcome.
    assert!(matches!(
        c.authorize(&bill()).await,
        Err(Error::OutcomeUnknown)
    ));
}

#[tokio::test]
async fn token_issuer_adapter_maps_the_request_and_the_answer() {
    let server = MockServer::start().await;
    exact("/api/player/v1/authorize", O4_BODY, O4_SIGN)
        .respond_with(json(200, AUTHORIZED))
        .expect(1)
        .mount(&server)
        .await;
    let issuer: Arc<dyn TokenIssuer> = Arc::new(client(&server.uri()));
    assert_eq!(issuer.provider(), "omg");
    let request = IssueRequest::new("10032355")
        .with_display_name("Bill")
        .with_attribute("cid", "0");
    let token = issuer.issue(&request).await.unwrap();
    assert_eq!(token.token.expose_secret(), "1003803");
    assert_eq!(
        token.expires_at,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(NOW as u64 + 604_800))
    );
    assert_eq!(token.attributes["balance"], "42766.25");
    assert_eq!(token.attributes["app_id"], "10013");
}

#[tokio::test]
async fn token_issuer_adapter_converts_errors() {
    let server = MockServer::start().await;
    exact("/api/player/v1/authorize", O4_BODY, O4_SIGN)
        .respond_with(json(200, r#"{"code":10002,"msg":"sign invalid"}"#))
        .mount(&server)
        .await;
    let issuer: Arc<dyn TokenIssuer> = Arc::new(client(&server.uri()));
    let request = IssueRequest::new("10032355")
        .with_display_name("Bill")
        .with_attribute("cid", "0");
    let err = issuer.issue(&request).await.unwrap_err();
    assert!(matches!(err, AuthError::Rejected { code: 10002, .. }));
    let no_name = issuer
        .issue(&IssueRequest::new("10032355"))
        .await
        .unwrap_err();
    assert!(matches!(no_name, AuthError::InvalidInput(_)));
}

#[tokio::test]
async fn errors_do_not_carry_urls_keys_or_bodies() {
    let server = MockServer::start().await;
    exact("/api/player/v1/authorize", O4_BODY, O4_SIGN)
        .respond_with(json(200, r#"{"code":0,"msg":"ok","data":{"token":"sentinel-token","balance":"sentinel","app_id":1}}"#))
        .mount(&server)
        .await;
    let err = client(&server.uri()).authorize(&bill()).await.unwrap_err();
    let text = format!("{err} {err:?}");
    for leak in [
        "sentinel",
        "trace_id",
        "k3n9x0q2m7ab",
        "39a6581c",
        "127.0.0.1",
    ] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}
