//! OMG answers to `authorize`, `entergame` and `ingame`, decoded by the public client.
//!
//! Input: `status \0 body`: the HTTP status (ASCII digits; anything else is 200) and body that a
//! stand-in OMG returns to every request.
//!
//! Properties, besides never panicking:
//! * success only for HTTP 200 with `code` 0, a non-empty token and an exact decimal balance
//!   (`authorize`) or a non-empty URL (launch calls);
//! * a non-200 status is always `HttpStatus` with that status, a non-zero `code` always
//!   `Rejected`; a transport that answered is never "outcome unknown".

#![no_main]

use std::sync::Arc;

use bytes::Bytes;
use gameauth_core::{
    FixedIds, HttpTransport, IssuedSecret, ManualClock, PlayerToken, TransportError,
};
use gameauth_fuzz::{block_on, fields, json_code_is, response, status};
use gameauth_omg::{AuthorizeRequest, Client, EnterGameRequest, Error, InGameRequest, ScreenMode};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

fn check<T>(outcome: &Result<T, Error>, status: http::StatusCode, body: &[u8]) {
    match outcome {
        Ok(_) => {
            assert_eq!(status, http::StatusCode::OK);
            assert!(json_code_is(body, "code", 0), "success without code 0");
        }
        Err(Error::HttpStatus { status: s, .. }) => {
            assert_ne!(status, http::StatusCode::OK);
            assert_eq!(*s, status.as_u16());
        }
        Err(Error::Rejected { code, message }) => {
            assert_eq!(status, http::StatusCode::OK);
            assert!(!json_code_is(body, "code", 0));
            assert_ne!(code.as_i64(), 0);
            assert!(!message.contains(['\r', '\n', '\t']));
        }
        Err(Error::Decode(_)) => assert_eq!(status, http::StatusCode::OK),
        Err(other) => panic!("unexpected error for an answered request: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let [status_field, body] = fields::<2>(data);
    let status = status(status_field);
    let body = Bytes::copy_from_slice(body.unwrap_or_default());
    let answer = body.clone();
    let omg = move |_request: http::Request<Bytes>| {
        let r = response(status, &answer);
        async move { Ok::<_, TransportError>(r) }
    };
    let client = Client::builder()
        .base_url("https://omg-api.example")
        .app_id("10013")
        .key(SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1"))
        .transport(Arc::new(omg) as Arc<dyn HttpTransport>)
        .clock(Arc::new(ManualClock::at_unix_seconds(1_711_954_264)))
        .ids(Arc::new(FixedIds::new(["k3n9x0q2m7ab"; 8])))
        .build()
        .expect("a valid client");

    let player = block_on(client.authorize(&AuthorizeRequest::new("10032355", "Bill").with_cid(0)));
    check(&player, status, &body);
    if let Ok(p) = &player {
        assert!(!p.token.expose_secret().is_empty());
        assert!(
            gameauth_core::lenient::is_decimal(&p.balance),
            "balance {:?}",
            p.balance
        );
    }

    let launch = EnterGameRequest::new(IssuedSecret::new("1003803"), "1", ScreenMode::VerticalFull);
    let url = block_on(client.enter_game(&launch));
    check(&url, status, &body);
    if let Ok(u) = &url {
        assert!(!u.expose_secret().is_empty());
    }

    let ingame = InGameRequest::new(
        PlayerToken::new("operator-session"),
        "1",
        "Bill",
        ScreenMode::HorizontalFull,
    );
    let url = block_on(client.ingame(&ingame));
    check(&url, status, &body);
    if let Ok(u) = &url {
        assert!(!u.expose_secret().is_empty());
    }
});
