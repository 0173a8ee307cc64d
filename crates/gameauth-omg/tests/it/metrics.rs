//! The OMG client and callback verifier move the documented metrics.

use std::sync::Arc;

use bytes::Bytes;
use gameauth_core::telemetry::testing::capture;
use gameauth_core::{HttpTransport, ManualClock, TransportError};
use gameauth_omg::AuthorizeRequest;

use crate::support::{NOW, O5_BODY, O5_QUERY, O5_SIGN, callback_verifier, client_builder};

#[test]
fn authorize_counts_one_successful_attempt_on_the_primary() {
    let omg = |_r: http::Request<Bytes>| async {
        let body = r#"{"code":0,"msg":"ok","data":{"token":"1","balance":"1","app_id":10013}}"#;
        Ok::<_, TransportError>(http::Response::new(Bytes::from_static(body.as_bytes())))
    };
    let client = client_builder("https://omg.example")
        .transport(Arc::new(omg) as Arc<dyn HttpTransport>)
        .build()
        .unwrap();
    let captured = capture(false, async move {
        client
            .authorize(&AuthorizeRequest::new("u", "n"))
            .await
            .unwrap();
    });
    let labels = [
        ("provider", "omg"),
        ("endpoint", "authorize"),
        ("outcome", "success"),
        ("host", "primary"),
    ];
    assert_eq!(
        captured.value("gameauth_outbound_requests_total", &labels),
        1
    );
}

#[test]
fn callbacks_are_counted_by_outcome() {
    let verifier = callback_verifier(&ManualClock::at_unix_seconds(NOW));
    let captured = capture(false, async move {
        verifier
            .verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some(O5_SIGN))
            .unwrap();
        verifier
            .verify_session(Some(O5_QUERY), O5_BODY.as_bytes(), Some("0000"))
            .unwrap_err();
    });
    let name = "gameauth_inbound_callbacks_total";
    let of = |outcome| {
        captured.value(
            name,
            &[
                ("provider", "omg"),
                ("kind", "verify_session"),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(of("accepted"), 1);
    assert_eq!(of("signature"), 1);
}
