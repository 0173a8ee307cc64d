//! The connect-phase timeout rule of the call engine, through the Credit Pay client: a timeout
//! with nothing sent is repeated (nothing can have reached Credit Pay); a timeout after sending
//! is an unknown outcome.

use std::sync::Arc;

use gameauth_core::transport::testing::{Scripted, Step};
use gameauth_core::{TransportError, TransportErrorKind};
use gameauth_creditpay::Error;

use crate::support::*;

/// A transport that fails its first call with `first`, then answers `SUCCESS`.
fn first_fails(first: TransportError) -> Arc<Scripted> {
    Arc::new(Scripted::new(vec![
        Step::Fail(first),
        Step::Answer(200, SUCCESS),
    ]))
}

#[tokio::test(start_paused = true)]
async fn identify_auth_is_repeated_after_a_connect_timeout_with_nothing_sent() {
    let t = first_fails(TransportError::new(
        TransportErrorKind::Timeout,
        false,
        "connect timed out",
    ));
    let client = client_builder("https://credit-pay.example/dg")
        .transport(t.clone())
        .build()
        .unwrap();
    let issued = client.identify_auth(&body0_request()).await.unwrap();
    assert!(issued.ident_code.ct_eq("bb15a501d2354aeb937160c67b3580a6"));
    assert_eq!(t.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn identify_auth_after_a_timeout_that_may_have_sent_is_outcome_unknown() {
    let t = first_fails(TransportError::new(
        TransportErrorKind::Timeout,
        true,
        "attempt timed out",
    ));
    let client = client_builder("https://credit-pay.example/dg")
        .transport(t.clone())
        .build()
        .unwrap();
    let err = client.identify_auth(&body0_request()).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown), "{err:?}");
    assert_eq!(t.calls(), 1);
}
