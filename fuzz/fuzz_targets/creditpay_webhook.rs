//! Credit Pay webhooks: the event decoder and the de-duplicating handler.
//!
//! Input: `headers \0 body` (`headers` as lines of `name:value`). The target replaces any
//! signature header with the correct signature (computed independently) and delivers the same
//! request twice to a fresh handler. The stand-in sink fails for events with an odd `retry`.
//!
//! Properties, besides never panicking:
//! * a decoded event has a type and an `event_id` of short printable ASCII, a non-negative `retry` and an exact
//!   decimal `amount` when there is one;
//! * a malformed body is 400 and never reaches the sink; an unsigned one is 401;
//! * a processed event is acknowledged and its redelivery is acknowledged without processing;
//! * a failed event is not acknowledged (503) and its redelivery is processed again.

#![no_main]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use gameauth_core::{AuthError, KeyRing, ManualClock, async_trait};
use gameauth_creditpay::sign::{MISSPELT_SIGNATURE_HEADER, SIGNATURE_HEADER};
use gameauth_creditpay::webhook::decode_event;
use gameauth_creditpay::{
    InboundVerifier, MemoryDedupStore, WebhookDelivery, WebhookHandler, WebhookSink,
};
use gameauth_fuzz::{block_on, creditpay_oracle, fields, headers, json_record};
use http::{HeaderMap, HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

const KEY: &str = "18dd8a3c8003d2adcd13cb9981618bedd759a19f697a46d270542c6023479a08f541a5fa7f2e09a6f93cab7fe5de3b1b465abxxx";
const ROUTE: &str = "/api/v1/credit-pay/webhook";
const ACK: &[u8] = br#"{"code":0,"msg":"success"}"#;

#[derive(Default)]
struct Sink {
    calls: AtomicUsize,
}

#[async_trait]
impl WebhookSink for Sink {
    async fn handle(&self, delivery: &WebhookDelivery) -> Result<(), AuthError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if delivery.event.retry % 2 == 1 {
            Err(AuthError::Unavailable("processing failed".into()))
        } else {
            Ok(())
        }
    }
}

fn request(headers: &HeaderMap, body: &[u8]) -> http::Request<Bytes> {
    let mut request = http::Request::new(Bytes::copy_from_slice(body));
    *request.method_mut() = http::Method::POST;
    *request.headers_mut() = headers.clone();
    request
}

fuzz_target!(|data: &[u8]| {
    let [header_block, body] = fields::<2>(data);
    let mut headers = headers(header_block.unwrap_or_default());
    let body = body.unwrap_or_default();

    let event = decode_event(body);
    if let Ok(e) = &event {
        // Both are logged and the id becomes a store key: short, printable, no spaces.
        for (text, max) in [(e.event_type.as_str(), 64), (e.event_id.as_str(), 128)] {
            assert!(
                (1..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic()),
                "{text:?}"
            );
        }
        assert!(e.retry >= 0);
        if let Some(amount) = &e.data.amount {
            assert!(
                gameauth_core::lenient::is_decimal(amount),
                "amount {amount:?}"
            );
        }
        assert!(json_record(body), "a decoded body is a JSON object");
    }

    let clock = Arc::new(ManualClock::at_unix_seconds(1_732_520_000));
    let sink = Arc::new(Sink::default());
    let verifier = InboundVerifier::new(ROUTE, KeyRing::new(SecretString::from(KEY)))
        .expect("a valid verifier");
    let handler = WebhookHandler::builder()
        .verifier(verifier)
        .store(Arc::new(MemoryDedupStore::new(clock)))
        .sink(sink.clone())
        .build()
        .expect("a valid handler");

    headers.remove(SIGNATURE_HEADER);
    headers.remove(MISSPELT_SIGNATURE_HEADER);
    let unsigned = block_on(handler.handle(request(&headers, body)));
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sink.calls.load(Ordering::SeqCst), 0);

    let sign = creditpay_oracle(KEY, ROUTE, body);
    headers.insert(
        SIGNATURE_HEADER,
        HeaderValue::from_str(&sign).expect("base64"),
    );
    let first = block_on(handler.handle(request(&headers, body)));
    let again = block_on(handler.handle(request(&headers, body)));
    let calls = sink.calls.load(Ordering::SeqCst);
    match &event {
        Err(_) => {
            assert_eq!(first.status(), StatusCode::BAD_REQUEST);
            assert_eq!(again.status(), StatusCode::BAD_REQUEST);
            assert_eq!(calls, 0);
        }
        Ok(e) if e.retry % 2 == 1 => {
            assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(again.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(calls, 2, "a failed event must be processed again");
        }
        Ok(_) => {
            assert_eq!(first.status(), StatusCode::OK);
            assert_eq!(first.body().as_ref(), ACK);
            assert_eq!(again.status(), StatusCode::OK);
            assert_eq!(again.body().as_ref(), ACK);
            assert_eq!(calls, 1, "a duplicate delivery must not be processed");
        }
    }
});
