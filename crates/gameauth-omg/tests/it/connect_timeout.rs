//! The connect-phase timeout rule of the call engine, through the OMG client: a timeout with
//! nothing sent is repeated even for the state-creating `authorize`; a timeout after sending is
//! an unknown outcome.

use std::sync::Arc;

use gameauth_core::transport::testing::{Scripted, Step};
use gameauth_core::{TransportError, TransportErrorKind};
use gameauth_omg::{AuthorizeRequest, Error};

use crate::support::client_builder;

const ANSWER: &str =
    r#"{"code":0,"msg":"ok","data":{"token":"1003803","balance":"42766.25","app_id":10013}}"#;

/// A transport that fails its first call with `first`, then answers `ANSWER`.
fn first_fails(first: TransportError) -> Arc<Scripted> {
    Arc::new(Scripted::new(vec![
        Step::Fail(first),
        Step::Answer(200, ANSWER),
    ]))
}

#[tokio::test(start_paused = true)]
async fn authorize_is_repeated_after_a_connect_timeout_with_nothing_sent() {
    let t = first_fails(TransportError::new(
        TransportErrorKind::Timeout,
        false,
        "connect timed out",
    ));
    let client = client_builder("https://omg.example")
        .transport(t.clone())
        .build()
        .unwrap();
    let player = client
        .authorize(&AuthorizeRequest::new("10032355", "Bill").with_cid(0))
        .await
        .unwrap();
    assert_eq!(player.token.expose_secret(), "1003803");
    assert_eq!(t.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn authorize_after_a_timeout_that_may_have_sent_is_outcome_unknown() {
    let t = first_fails(TransportError::new(
        TransportErrorKind::Timeout,
        true,
        "attempt timed out",
    ));
    let client = client_builder("https://omg.example")
        .transport(t.clone())
        .build()
        .unwrap();
    let err = client
        .authorize(&AuthorizeRequest::new("10032355", "Bill").with_cid(0))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown), "{err:?}");
    assert_eq!(t.calls(), 1);
}
