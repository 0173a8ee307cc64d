//! Webhooks end to end through `WebhookHandler::handle`: verification, decoding of every type,
//! de-duplication, and never acknowledging what was not recorded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gameauth_core::{AuthError, async_trait};
use gameauth_creditpay::{
    Error, EventType, MemoryDedupStore, Recorded, WebhookDedupStore, WebhookDelivery, WebhookEvent,
    WebhookHandler, WebhookSink,
};
use http::StatusCode;

use crate::support::*;

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<WebhookEvent>>,
    fail_next: AtomicUsize,
}

impl Recorder {
    fn events(&self) -> Vec<WebhookEvent> {
        self.events.lock().unwrap().clone()
    }
}

#[async_trait]
impl WebhookSink for Recorder {
    async fn handle(&self, delivery: &WebhookDelivery) -> Result<(), AuthError> {
        if self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(AuthError::Unavailable("ledger down".into()));
        }
        self.events.lock().unwrap().push(delivery.event.clone());
        Ok(())
    }
}

struct BrokenStore;

#[async_trait]
impl WebhookDedupStore for BrokenStore {
    async fn claim(&self, _: &str, _: Duration) -> Result<Recorded, Error> {
        Err(Error::Store("connection refused".into()))
    }
    async fn complete(&self, _: &str, _: Duration) -> Result<(), Error> {
        Err(Error::Store("connection refused".into()))
    }
    async fn forget(&self, _: &str) -> Result<(), Error> {
        Err(Error::Store("connection refused".into()))
    }
}

fn handler(sink: Arc<Recorder>) -> WebhookHandler {
    WebhookHandler::builder()
        .verifier(verifier(WEBHOOK_ROUTE))
        .sink(sink)
        .build()
        .unwrap()
}

fn event(kind: &str, event_id: &str, retry: u32) -> String {
    format!(
        r#"{{"type":"{kind}","platform_id":"{PLAT_ID}","retry":{retry},"event_id":"{event_id}","data":{{"orderNo":"P202411250001","tradeTime":"2024-11-25 15:57:04","merchantName":"Demo Merchant","chargeOrderNo":"C202411250001","realIp":"192.168.1.166","amount":"100.00","currency":"CNY"}}}}"#
    )
}

fn deliver(body: &str) -> http::Request<bytes::Bytes> {
    signed_request(
        WEBHOOK_ROUTE,
        KEY,
        body,
        &[
            ("token", "platform-token"),
            ("trace", "cp-1"),
            ("timestamp", "1732521424191"),
        ],
    )
}

#[tokio::test]
async fn every_documented_event_type_is_decoded_processed_and_acknowledged() {
    let sink = Arc::new(Recorder::default());
    let h = handler(sink.clone());
    for (i, kind) in EventType::DOCUMENTED.iter().enumerate() {
        let response = h
            .handle(deliver(&event(kind.as_str(), &format!("ev-{i}"), 0)))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{kind:?}");
        assert_eq!(response.body().as_ref(), br#"{"code":0,"msg":"success"}"#);
    }
    let events = sink.events();
    let kinds: Vec<EventType> = events.iter().map(|e| e.event_type.clone()).collect();
    assert_eq!(kinds, EventType::DOCUMENTED.to_vec());
    let first = &events[0];
    assert_eq!(first.platform_id.as_deref(), Some(PLAT_ID));
    assert_eq!(first.data.order_no.as_deref(), Some("P202411250001"));
    assert_eq!(first.data.charge_order_no.as_deref(), Some("C202411250001"));
    assert_eq!(first.data.merchant_name.as_deref(), Some("Demo Merchant"));
    assert_eq!(first.data.real_ip.as_deref(), Some("192.168.1.166"));
    assert_eq!(first.data.amount.as_deref(), Some("100.00"));
}

#[tokio::test]
async fn unknown_event_types_are_kept_and_acknowledged() {
    let sink = Arc::new(Recorder::default());
    let response = handler(sink.clone())
        .handle(deliver(&event("PAY_CANCELLED", "ev-x", 0)))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        sink.events()[0].event_type,
        EventType::Unknown("PAY_CANCELLED".into())
    );
}

#[tokio::test]
async fn legacy_snake_case_payloads_decode_like_camel_case() {
    let sink = Arc::new(Recorder::default());
    let h = handler(sink.clone());
    let snake = r#"{"type":"PAY_SUCCESS","platform_id":"328cf95950f54f89a2dd4c3bf98ac5fb","retry":0,"event_id":"ev-snake","data":{"order_no":"P202411250001","trade_time":"2024-11-25 15:57:04","merchant_name":"Demo Merchant","charge_order_no":"C202411250001","real_ip":"192.168.1.166","amount":"100.00","currency":"CNY"}}"#;
    assert_eq!(h.handle(deliver(snake)).await.status(), StatusCode::OK);
    assert_eq!(
        h.handle(deliver(&event("PAY_SUCCESS", "ev-camel", 0)))
            .await
            .status(),
        StatusCode::OK
    );
    let events = sink.events();
    assert_eq!(events[0].data, events[1].data);
}

#[tokio::test]
async fn a_duplicate_delivery_is_acknowledged_without_processing_it_again() {
    let sink = Arc::new(Recorder::default());
    let h = handler(sink.clone());
    let first = h.handle(deliver(&event("PAY_SUCCESS", "ev-dup", 0))).await;
    let again = h.handle(deliver(&event("PAY_SUCCESS", "ev-dup", 1))).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(sink.events().len(), 1);
}

#[tokio::test]
async fn concurrent_duplicates_are_processed_exactly_once() {
    let sink = Arc::new(Recorder::default());
    let h = Arc::new(handler(sink.clone()));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let h = h.clone();
            tokio::spawn(async move { h.handle(deliver(&event("REFUND", "ev-race", 0))).await })
        })
        .collect();
    // Each delivery is acknowledged once processed, or refused while another one is being
    // processed (Credit Pay delivers it again); never processed twice.
    for t in tasks {
        let status = t.await.unwrap().status();
        assert!(
            status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}"
        );
    }
    assert_eq!(sink.events().len(), 1);
    let later = h.handle(deliver(&event("REFUND", "ev-race", 1))).await;
    assert_eq!(later.status(), StatusCode::OK);
    assert_eq!(sink.events().len(), 1);
}

/// A sink that holds the first delivery until released, to observe a redelivery meanwhile.
struct Slow {
    entered: tokio::sync::Notify,
    release: tokio::sync::Notify,
    processed: AtomicUsize,
}

#[async_trait]
impl WebhookSink for Slow {
    async fn handle(&self, _: &WebhookDelivery) -> Result<(), AuthError> {
        self.entered.notify_one();
        self.release.notified().await;
        self.processed.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn a_redelivery_during_processing_is_not_acknowledged() {
    let sink = Arc::new(Slow {
        entered: tokio::sync::Notify::new(),
        release: tokio::sync::Notify::new(),
        processed: AtomicUsize::new(0),
    });
    let h = Arc::new(
        WebhookHandler::builder()
            .verifier(verifier(WEBHOOK_ROUTE))
            .sink(sink.clone())
            .build()
            .unwrap(),
    );
    let first = tokio::spawn({
        let h = h.clone();
        async move { h.handle(deliver(&event("PAY_SUCCESS", "ev-slow", 0))).await }
    });
    sink.entered.notified().await;
    // Nothing is persisted yet: the redelivery must not be acknowledged.
    let during = h.handle(deliver(&event("PAY_SUCCESS", "ev-slow", 1))).await;
    assert_eq!(during.status(), StatusCode::SERVICE_UNAVAILABLE);
    sink.release.notify_one();
    assert_eq!(first.await.unwrap().status(), StatusCode::OK);
    let after = h.handle(deliver(&event("PAY_SUCCESS", "ev-slow", 2))).await;
    assert_eq!(after.status(), StatusCode::OK);
    assert_eq!(sink.processed.load(Ordering::SeqCst), 1);
}

/// A store whose `forget` fails: the claim of a failed delivery must lapse by itself.
struct ForgetFails(MemoryDedupStore);

#[async_trait]
impl WebhookDedupStore for ForgetFails {
    async fn claim(&self, id: &str, lease: Duration) -> Result<Recorded, Error> {
        self.0.claim(id, lease).await
    }
    async fn complete(&self, id: &str, ttl: Duration) -> Result<(), Error> {
        self.0.complete(id, ttl).await
    }
    async fn forget(&self, _: &str) -> Result<(), Error> {
        Err(Error::Store("connection lost".into()))
    }
}

#[tokio::test]
async fn a_failed_delivery_whose_claim_cannot_be_dropped_is_processed_after_the_lease() {
    let clock = gameauth_core::ManualClock::at_unix_seconds(1_732_521_424);
    let sink = Arc::new(Recorder::default());
    sink.fail_next.store(1, Ordering::SeqCst);
    let h = WebhookHandler::builder()
        .verifier(verifier(WEBHOOK_ROUTE))
        .store(Arc::new(ForgetFails(MemoryDedupStore::new(Arc::new(
            clock.clone(),
        )))))
        .processing_lease(Duration::from_secs(60))
        .sink(sink.clone())
        .build()
        .unwrap();
    let body = event("PAY_SUCCESS", "ev-lost", 0);
    assert!(!h.handle(deliver(&body)).await.status().is_success());
    // Within the lease the event is still claimed: not acknowledged, not processed.
    let early = h.handle(deliver(&body)).await;
    assert_eq!(early.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(sink.events().is_empty());
    // Credit Pay's next delivery, 5 minutes later, is processed: nothing is lost.
    clock.advance(Duration::from_secs(300));
    assert_eq!(h.handle(deliver(&body)).await.status(), StatusCode::OK);
    assert_eq!(sink.events().len(), 1);
}

#[tokio::test]
async fn a_store_failure_is_never_acknowledged() {
    let sink = Arc::new(Recorder::default());
    let h = WebhookHandler::builder()
        .verifier(verifier(WEBHOOK_ROUTE))
        .store(Arc::new(BrokenStore))
        .sink(sink.clone())
        .build()
        .unwrap();
    let response = h.handle(deliver(&event("PAY_SUCCESS", "ev-1", 0))).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(sink.events().is_empty());
}

#[tokio::test]
async fn a_failed_processing_is_not_acknowledged_and_the_redelivery_is_processed() {
    let sink = Arc::new(Recorder::default());
    sink.fail_next.store(1, Ordering::SeqCst);
    let store = Arc::new(MemoryDedupStore::default());
    let h = WebhookHandler::builder()
        .verifier(verifier(WEBHOOK_ROUTE))
        .store(store.clone())
        .sink(sink.clone())
        .build()
        .unwrap();
    let first = h
        .handle(deliver(&event("PAY_SUCCESS", "ev-retry", 0)))
        .await;
    assert!(!first.status().is_success(), "{}", first.status());
    assert!(store.is_empty(), "the failed event must be un-recorded");
    let second = h
        .handle(deliver(&event("PAY_SUCCESS", "ev-retry", 1)))
        .await;
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(sink.events().len(), 1);
    assert_eq!(sink.events()[0].retry, 1);
}

#[tokio::test]
async fn a_bad_signature_is_refused_and_nothing_is_recorded() {
    let sink = Arc::new(Recorder::default());
    let store = Arc::new(MemoryDedupStore::default());
    let h = WebhookHandler::builder()
        .verifier(verifier(WEBHOOK_ROUTE))
        .store(store.clone())
        .sink(sink.clone())
        .build()
        .unwrap();
    let body = event("PAY_SUCCESS", "ev-forged", 0);
    let forged = signed_request(WEBHOOK_ROUTE, "not-the-key", &body, &[]);
    assert_eq!(h.handle(forged).await.status(), StatusCode::UNAUTHORIZED);
    let prefixed = signed_request("/dg/api/v1/credit-pay/webhook", KEY, &body, &[]);
    assert_eq!(h.handle(prefixed).await.status(), StatusCode::UNAUTHORIZED);
    assert!(store.is_empty());
    assert!(sink.events().is_empty());
}

#[tokio::test]
async fn a_body_over_1_mib_is_413() {
    let sink = Arc::new(Recorder::default());
    let body = format!(
        r#"{{"type":"PAY_SUCCESS","event_id":"big","data":{{"pad":"{}"}}}}"#,
        "x".repeat(1024 * 1024)
    );
    let response = handler(sink).handle(deliver(&body)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_signed_body_without_event_id_is_400() {
    let sink = Arc::new(Recorder::default());
    let response = handler(sink.clone())
        .handle(deliver(r#"{"type":"PAY_SUCCESS","data":{}}"#))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(sink.events().is_empty());
}

#[tokio::test]
async fn a_signed_event_that_repeats_any_key_is_400_and_not_processed_same_value_or_not() {
    let sink = Arc::new(Recorder::default());
    let good = event("PAY_SUCCESS", "e-dup", 0);
    for body in [
        good.replace(
            r#""amount":"100.00""#,
            r#""amount":"100.00","amount":"100.00""#,
        ),
        good.replace(
            r#""amount":"100.00""#,
            r#""amount":"100.00","amount":"1.00""#,
        ),
        good.replace(
            r#""orderNo":"P202411250001""#,
            r#""orderNo":"P202411250001","order_no":"P202411250001""#,
        ),
        good.replace(r#""retry":0"#, r#""retry":0,"retry":0"#),
    ] {
        assert_ne!(body, good);
        let response = handler(sink.clone()).handle(deliver(&body)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    assert!(sink.events().is_empty());
    let response = handler(sink.clone()).handle(deliver(&good)).await;
    assert_eq!(response.status(), StatusCode::OK);
}
