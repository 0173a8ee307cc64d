//! Secrets never appear in `Debug`, `Display`, errors or logs.

use std::sync::Arc;

use gameauth_core::{KeyRing, PlayerToken, VerifiedPlayer};
use gameauth_creditpay::{
    ApiKey, CashierUrl, Client, CreditLimitHandler, IdentifyAuthRequest, WebhookHandler,
};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const SENTINEL_API_KEY: &str = "sentinel-api-key";
const SENTINEL_SIGN_KEY: &str = "sentinel-sign-key";
const SENTINEL_TOKEN: &str = "sentinel-customer-token";
const SENTINEL_CODE: &str = "sentinelidentcode";

fn sentinel_client(base: &str) -> Client {
    client_builder(base)
        .api_key(SENTINEL_API_KEY)
        .signature_keys(KeyRing::new(SENTINEL_SIGN_KEY.into()))
        .build()
        .unwrap()
}

fn sentinel_request() -> IdentifyAuthRequest {
    IdentifyAuthRequest::new(
        "473_32_86000698",
        PlayerToken::new(SENTINEL_TOKEN),
        "https://credit-pre.aatest.online/payment/callback",
        1_732_521_424_191,
        "192.168.1.166",
    )
}

#[test]
fn api_key_debug_is_pinned() {
    assert_eq!(
        format!("{:?}", ApiKey::new(SENTINEL_API_KEY)),
        "ApiKey([redacted])"
    );
}

#[test]
fn cashier_url_debug_is_pinned() {
    let url = CashierUrl::new(format!("https://h/dg/oauth?ident_code={SENTINEL_CODE}"));
    assert_eq!(format!("{url:?}"), "CashierUrl([redacted])");
}

#[test]
fn client_debug_is_pinned_and_shows_no_key() {
    let client = sentinel_client("https://credit-pay-dev.aatest.online/dg");
    assert_eq!(
        format!("{client:?}"),
        "Client { base_url: \"https://credit-pay-dev.aatest.online/dg\", plat_id: \"328cf95950f54f89a2dd4c3bf98ac5fb\", plat_id_param: PlatId, customer_no_field: CustomerNo, api_key: ApiKey([redacted]), keys: KeyRing { current: \"[redacted]\", previous_valid_until: None }, lang: \"en-US\", timeout: 10s, .. }"
    );
    let builder = client_builder("https://h/dg").api_key(SENTINEL_API_KEY);
    assert!(!format!("{builder:?}").contains("sentinel"));
}

#[test]
fn request_debug_hides_the_customer_token() {
    let text = format!("{:?}", sentinel_request());
    assert!(!text.contains("sentinel"), "{text}");
}

#[test]
fn handlers_debug_show_no_key() {
    let v = gameauth_creditpay::InboundVerifier::new(ROUTE, KeyRing::new(SENTINEL_SIGN_KEY.into()))
        .unwrap();
    let credit = CreditLimitHandler::new(
        v.clone(),
        Arc::new(Sessions::default()),
        Arc::new(BalanceCards),
    );
    assert!(!format!("{v:?} {credit:?}").contains("sentinel"));
    struct Nop;
    #[gameauth_core::async_trait]
    impl gameauth_creditpay::WebhookSink for Nop {
        async fn handle(
            &self,
            _: &gameauth_creditpay::WebhookDelivery,
        ) -> Result<(), gameauth_core::AuthError> {
            Ok(())
        }
    }
    let hook = WebhookHandler::builder()
        .verifier(v)
        .sink(Arc::new(Nop))
        .build()
        .unwrap();
    assert!(!format!("{hook:?}").contains("sentinel"));
}

// The capturing subscriber is this thread's: every task must run on it.
#[tokio::test(flavor = "current_thread")]
async fn full_flows_log_no_secret() {
    let (guard, logs) = testkit::capture_logs();
    let server = MockServer::start().await;
    let success = format!(
        r#"{{"code":0,"msg":"success","data":{{"ident_code":"{SENTINEL_CODE}","url":"https://h/dg/oauth?ident_code={SENTINEL_CODE}"}},"trace":"t"}}"#
    );
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(success))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code":500,"msg":"busy"}"#))
        .mount(&server)
        .await;
    let client = sentinel_client(&format!("{}/dg", server.uri()));
    let ok = client.identify_auth(&sentinel_request()).await.unwrap();
    let err = client.identify_auth(&sentinel_request()).await.unwrap_err();
    let mut texts = vec![format!("{ok:?}"), format!("{err:?}"), err.to_string()];

    let credit = CreditLimitHandler::new(
        verifier(ROUTE),
        Arc::new(Sessions::with(
            SENTINEL_TOKEN,
            VerifiedPlayer::new("p").with_balance("5"),
        )),
        Arc::new(BalanceCards),
    );
    for token in [SENTINEL_TOKEN, "sentinel-unknown-token"] {
        let response = credit
            .handle(signed_request(ROUTE, KEY, C6_BODY, &[("token", token)]))
            .await;
        texts.push(String::from_utf8_lossy(response.body()).into_owned());
    }
    drop(guard);
    let logged = logs.contents();
    assert!(
        logged.contains("identify/auth"),
        "the flow logged: {logged}"
    );
    for text in texts.iter().chain(std::iter::once(&logged)) {
        assert!(!text.contains("sentinel"), "leak in: {text}");
    }
}
