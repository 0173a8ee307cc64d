//! Inbound faults of the reliability rules that cut across the handlers: events out of order,
//! bad signatures on bodies that would not even parse, and bodies that never finish arriving.

use std::sync::{Arc, Mutex};

use gameauth_core::{AuthError, async_trait};
use gameauth_creditpay::{EventType, WebhookDelivery, WebhookHandler, WebhookSink};
use http::StatusCode;

use crate::support::*;

#[derive(Default)]
struct Ledger(Mutex<Vec<EventType>>);

#[async_trait]
impl WebhookSink for Ledger {
    async fn handle(&self, delivery: &WebhookDelivery) -> Result<(), AuthError> {
        self.0
            .lock()
            .unwrap()
            .push(delivery.event.event_type.clone());
        Ok(())
    }
}

fn webhooks(ledger: Arc<Ledger>) -> WebhookHandler {
    WebhookHandler::builder()
        .verifier(verifier(WEBHOOK_ROUTE))
        .sink(ledger)
        .build()
        .unwrap()
}

fn event(kind: &str, event_id: &str) -> String {
    format!(
        r#"{{"type":"{kind}","platform_id":"{PLAT_ID}","retry":0,"event_id":"{event_id}","data":{{"order_no":"P1"}}}}"#
    )
}

#[tokio::test]
async fn pay_success_after_pay_timeout_is_processed_and_acknowledged_in_delivery_order() {
    // Credit Pay documents that PAY_SUCCESS may arrive after PAY_TIMEOUT: neither may be dropped.
    let ledger = Arc::new(Ledger::default());
    let handler = webhooks(ledger.clone());
    for (kind, id) in [
        ("PAY_START", "e-1"),
        ("PAY_TIMEOUT", "e-2"),
        ("PAY_SUCCESS", "e-3"),
        ("PAY_FINISH", "e-4"),
    ] {
        let body = event(kind, id);
        let answer = handler
            .handle(signed_request(WEBHOOK_ROUTE, KEY, &body, &[]))
            .await;
        assert_eq!(answer.status(), StatusCode::OK, "{kind}");
    }
    let kinds: Vec<String> = ledger
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["PAY_START", "PAY_TIMEOUT", "PAY_SUCCESS", "PAY_FINISH"]
    );
}

#[tokio::test]
async fn a_bad_signature_on_an_unparseable_body_is_a_signature_failure_not_a_parse_failure() {
    let ledger = Arc::new(Ledger::default());
    let handler = webhooks(ledger.clone());
    let garbage = "{not json at all";
    let mut request = signed_request(WEBHOOK_ROUTE, KEY, garbage, &[]);
    request
        .headers_mut()
        .insert("signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".parse().unwrap());
    let refused = handler.handle(request).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // The same bytes correctly signed get past the signature and fail only at decoding.
    let signed = handler
        .handle(signed_request(WEBHOOK_ROUTE, KEY, garbage, &[]))
        .await;
    assert_eq!(signed.status(), StatusCode::BAD_REQUEST);
    assert!(ledger.0.lock().unwrap().is_empty());
}

#[cfg(feature = "axum")]
mod slow_body {
    use super::*;
    use axum::body::Body;
    use gameauth_creditpay::router::{BODY_READ_TIMEOUT, webhook_router};
    use tower::ServiceExt;

    #[tokio::test(start_paused = true)]
    async fn a_body_that_never_finishes_arriving_times_out_with_408_and_is_not_recorded() {
        let ledger = Arc::new(Ledger::default());
        let router = webhook_router(Arc::new(webhooks(ledger.clone())));
        let never = futures::stream::pending::<Result<bytes::Bytes, std::io::Error>>();
        let request = http::Request::post(WEBHOOK_ROUTE)
            .header("content-type", "application/json")
            .body(Body::from_stream(never))
            .unwrap();
        let started = tokio::time::Instant::now();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert!(started.elapsed() >= BODY_READ_TIMEOUT);
        assert!(ledger.0.lock().unwrap().is_empty());
    }
}
