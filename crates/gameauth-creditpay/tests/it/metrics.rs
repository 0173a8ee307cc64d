//! The Credit Pay client and webhook handler move the documented metrics.

use std::sync::Arc;

use bytes::Bytes;
use gameauth_core::telemetry::testing::capture;
use gameauth_core::{AuthError, HttpTransport, TransportError, async_trait};
use gameauth_creditpay::{WebhookDelivery, WebhookHandler, WebhookSink};

use crate::support::*;

struct Accept;

#[async_trait]
impl WebhookSink for Accept {
    async fn handle(&self, _: &WebhookDelivery) -> Result<(), AuthError> {
        Ok(())
    }
}

#[test]
fn identify_auth_counts_one_successful_attempt() {
    let cp = |_r: http::Request<Bytes>| async {
        Ok::<_, TransportError>(http::Response::new(Bytes::from_static(SUCCESS.as_bytes())))
    };
    let client = client_builder("https://credit-pay.example/dg")
        .transport(Arc::new(cp) as Arc<dyn HttpTransport>)
        .build()
        .unwrap();
    let captured = capture(false, async move {
        client.identify_auth(&body0_request()).await.unwrap();
    });
    let labels = [
        ("provider", "creditpay"),
        ("endpoint", "identify_auth"),
        ("outcome", "success"),
        ("host", "primary"),
    ];
    assert_eq!(
        captured.value("gameauth_outbound_requests_total", &labels),
        1
    );
}

#[test]
fn webhooks_are_counted_by_outcome() {
    let handler = WebhookHandler::builder()
        .verifier(verifier(WEBHOOK_ROUTE))
        .sink(Arc::new(Accept))
        .build()
        .unwrap();
    let body = format!(
        r#"{{"type":"PAY_SUCCESS","platform_id":"{PLAT_ID}","retry":0,"event_id":"ev-1","data":{{}}}}"#
    );
    let captured = capture(false, async move {
        let good = signed_request(WEBHOOK_ROUTE, KEY, &body, &[]);
        assert_eq!(handler.handle(good).await.status(), 200);
        let forged = signed_request(WEBHOOK_ROUTE, "another-key", &body, &[]);
        assert_eq!(handler.handle(forged).await.status(), 401);
    });
    let of = |outcome| {
        captured.value(
            "gameauth_inbound_callbacks_total",
            &[
                ("provider", "creditpay"),
                ("kind", "webhook"),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(of("accepted"), 1);
    assert_eq!(of("signature"), 1);
}
