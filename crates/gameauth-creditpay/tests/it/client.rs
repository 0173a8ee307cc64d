//! `identify/auth` against a mock Credit Pay: exact wire format and every documented answer.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use gameauth_core::{AuthError, IssueRequest, PlayerToken, TokenIssuer};
use gameauth_creditpay::{Error, PlatIdParam, ResponseCode};
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

async fn mock_answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/dg/v1/platform/identify/auth"))
        .and(query_param("plat_id", PLAT_ID))
        .respond_with(template)
        .expect(1)
        .named("identify/auth")
        .mount(&server)
        .await;
    server
}

fn json(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

#[tokio::test]
async fn identify_auth_sends_body0_signed_with_c1_and_the_documented_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/dg/v1/platform/identify/auth"))
        .and(query_param("plat_id", PLAT_ID))
        .and(header("trace", TRACE))
        .and(header("api-key", API_KEY))
        .and(header("signature", C1))
        .and(header("lang", "en-US"))
        .and(header("content-type", "application/json"))
        .and(body_string(BODY0))
        .respond_with(json(SUCCESS))
        .expect(1)
        .named("identify/auth")
        .mount(&server)
        .await;
    let client = client_builder(&format!("{}/dg", server.uri()))
        .build()
        .unwrap();
    let issued = client.identify_auth(&body0_request()).await.unwrap();
    assert!(issued.ident_code.ct_eq("bb15a501d2354aeb937160c67b3580a6"));
    assert_eq!(
        issued.url.expose_secret(),
        "https://credit-pay-dev.aatest.online/dg/oauth?ident_code=bb15a501d2354aeb937160c67b3580a6"
    );
    assert_eq!(
        issued.trace.as_deref(),
        Some("xx-3f1e-40c9-b26d-aa86e7611230")
    );
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].url.query(),
        Some("plat_id=328cf95950f54f89a2dd4c3bf98ac5fb")
    );
}

#[tokio::test]
async fn unbounded_timeouts_are_accepted_and_calls_still_work() {
    let server = mock_answering(json(SUCCESS)).await;
    let client = client_builder(&format!("{}/dg", server.uri()))
        .timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .connect_retry(gameauth_core::resilience::RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::MAX,
            max_backoff: Duration::MAX,
            max_retry_after: Duration::MAX,
        })
        .build()
        .unwrap();
    let issued = client.identify_auth(&body0_request()).await.unwrap();
    assert!(issued.ident_code.ct_eq("bb15a501d2354aeb937160c67b3580a6"));
}

#[tokio::test]
async fn legacy_plat_id_query_parameter_is_configurable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/dg/v1/platform/identify/auth"))
        .and(query_param("platId", PLAT_ID))
        .and(header("signature", C1))
        .respond_with(json(SUCCESS))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_builder(&format!("{}/dg", server.uri()))
        .plat_id_param(PlatIdParam::LegacyPlatId)
        .build()
        .unwrap();
    client.identify_auth(&body0_request()).await.unwrap();
    let received = server.received_requests().await.unwrap();
    assert_eq!(
        received[0].url.query(),
        Some("platId=328cf95950f54f89a2dd4c3bf98ac5fb")
    );
}

#[tokio::test]
async fn lang_defaults_to_en_us_and_can_be_set_per_client_and_per_call() {
    let server = MockServer::start().await;
    Mock::given(header("lang", "zh-CN"))
        .respond_with(json(SUCCESS))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(header("lang", "th-TH"))
        .respond_with(json(SUCCESS))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_builder(&format!("{}/dg", server.uri()))
        .lang("zh-CN")
        .build()
        .unwrap();
    client.identify_auth(&body0_request()).await.unwrap();
    client
        .identify_auth(&body0_request().with_lang("th-TH"))
        .await
        .unwrap();
}

#[tokio::test]
async fn code_500_is_the_typed_server_error() {
    let server = mock_answering(json(
        r#"{"code":500,"msg":"server busy","data":null,"trace":"t"}"#,
    ))
    .await;
    let client = client_builder(&format!("{}/dg", server.uri()))
        .build()
        .unwrap();
    let err = client.identify_auth(&body0_request()).await.unwrap_err();
    assert!(
        matches!(err, Error::Rejected { code: ResponseCode::ServerError, ref message } if message == "server busy"),
        "{err:?}"
    );
}

#[tokio::test]
async fn unknown_codes_are_kept_as_other_with_the_message() {
    let server = mock_answering(json(r#"{"code":10086,"msg":"plat disabled","data":null}"#)).await;
    let client = client_builder(&format!("{}/dg", server.uri()))
        .build()
        .unwrap();
    let err = client.identify_auth(&body0_request()).await.unwrap_err();
    assert!(
        matches!(err, Error::Rejected { code: ResponseCode::Other(10086), ref message } if message == "plat disabled"),
        "{err:?}"
    );
    let core: AuthError = err.into();
    assert!(matches!(core, AuthError::Rejected { code: 10086, .. }));
}

#[tokio::test]
async fn an_html_page_with_200_is_a_decode_error() {
    let server = mock_answering(ResponseTemplate::new(200).set_body_raw(
        b"<html><body>maintenance</body></html>".to_vec(),
        "text/html",
    ))
    .await;
    let client = client_builder(&format!("{}/dg", server.uri()))
        .build()
        .unwrap();
    let err = client.identify_auth(&body0_request()).await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn non_200_is_an_http_status_error_and_is_not_retried() {
    for status in [400, 401, 403, 404, 500, 502, 503, 504] {
        let server = mock_answering(ResponseTemplate::new(status)).await;
        let client = client_builder(&format!("{}/dg", server.uri()))
            .build()
            .unwrap();
        let err = client.identify_auth(&body0_request()).await.unwrap_err();
        assert!(
            matches!(err, Error::HttpStatus { status: s, .. } if s == status),
            "{status}: {err:?}"
        );
        server.verify().await;
    }
}

#[tokio::test]
async fn invalid_input_is_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(SUCCESS))
        .expect(0)
        .named("nothing may be sent")
        .mount(&server)
        .await;
    let client = client_builder(&format!("{}/dg", server.uri()))
        .build()
        .unwrap();
    let mut expired = body0_request();
    expired.token_expire = NOW_SECS * 1000 - 1;
    let mut seconds = body0_request();
    seconds.token_expire = 1_732_521_424;
    let mut bad_ip = body0_request();
    bad_ip.client_ip = "192.168.1.300".into();
    let mut bad_url = body0_request();
    bad_url.callback_url = "payment/callback".into();
    let mut no_customer = body0_request();
    no_customer.customer_no = String::new();
    let mut no_token = body0_request();
    no_token.customer_token = PlayerToken::new("");
    for (name, req) in [
        ("expired", expired),
        ("seconds", seconds),
        ("ip", bad_ip),
        ("url", bad_url),
        ("customer_no", no_customer),
        ("customer_token", no_token),
    ] {
        let err = client.identify_auth(&req).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{name}: {err:?}");
    }
}

fn issue_request() -> IssueRequest {
    IssueRequest::new("473_32_86000698")
        .with_client_ip("192.168.1.166".parse().unwrap())
        .with_player_token(
            PlayerToken::new("a1472263c7b97095f095cb62477c-4420-8e2e-8a156axxxxxx"),
            UNIX_EPOCH + Duration::from_millis(1_732_521_424_191),
        )
}

#[tokio::test]
async fn token_issuer_adapter_maps_the_normalised_request_onto_body0() {
    let server = MockServer::start().await;
    Mock::given(header("signature", C1))
        .and(body_string(BODY0))
        .respond_with(json(SUCCESS))
        .expect(2)
        .mount(&server)
        .await;
    let issuer: Arc<dyn TokenIssuer> = Arc::new(
        client_builder(&format!("{}/dg", server.uri()))
            .default_callback_url("https://credit-pre.aatest.online/payment/callback")
            .build()
            .unwrap(),
    );
    assert_eq!(issuer.provider(), "creditpay");
    let issued = issuer.issue(&issue_request()).await.unwrap();
    assert!(issued.token.ct_eq("bb15a501d2354aeb937160c67b3580a6"));
    assert!(
        issued
            .url
            .as_deref()
            .is_some_and(|u| u.contains("ident_code="))
    );
    assert_eq!(
        issued.attributes.get("trace").map(String::as_str),
        Some("xx-3f1e-40c9-b26d-aa86e7611230")
    );
    // An explicit attribute wins over the builder default.
    let issued = issuer
        .issue(&issue_request().with_attribute(
            "callback_url",
            "https://credit-pre.aatest.online/payment/callback",
        ))
        .await
        .unwrap();
    assert!(issued.token.ct_eq("bb15a501d2354aeb937160c67b3580a6"));
}

#[tokio::test]
async fn token_issuer_adapter_requires_token_ip_and_callback_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(json(SUCCESS))
        .expect(0)
        .mount(&server)
        .await;
    let issuer = client_builder(&format!("{}/dg", server.uri()))
        .build()
        .unwrap();
    let no_callback = issuer.issue(&issue_request()).await.unwrap_err();
    assert!(matches!(no_callback, AuthError::InvalidInput(_)));
    let no_token = issuer
        .issue(&IssueRequest::new("p").with_attribute("callback_url", "https://h/cb"))
        .await
        .unwrap_err();
    assert!(matches!(no_token, AuthError::InvalidInput(_)));
}

#[tokio::test]
async fn optional_fields_and_cards_are_signed_as_sent() {
    let server = MockServer::start().await;
    let card =
        gameauth_creditpay::AvailableCard::new("外部系统卡唯一标识", "1000.00", "CNY").unwrap();
    let request = body0_request()
        .with_session_sign("s-1")
        .with_credit_limit_tag("外部系统卡唯一标识")
        .with_available_cards(vec![card]);
    let body = String::from_utf8(request.encode_body(NOW_SECS * 1000).unwrap().to_vec()).unwrap();
    let signature =
        gameauth_creditpay::sign::sign(&KEY.into(), "/v1/platform/identify/auth", body.as_bytes());
    Mock::given(header("signature", signature.as_str()))
        .and(body_string(body.clone()))
        .respond_with(json(SUCCESS))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_builder(&format!("{}/dg", server.uri()))
        .build()
        .unwrap();
    client.identify_auth(&request).await.unwrap();
    assert!(body.contains(r#""session_sign":"s-1","credit_limit_tag":"外部系统卡唯一标识","credit_limit_available_cards":[{"tag""#));
}
