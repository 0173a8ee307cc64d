//! Credit Pay `identify/auth` answers, decoded by [`parse_identify_auth`].
//!
//! Input: `status \0 body`: the HTTP status (ASCII digits; anything else is 200) and the body.
//!
//! Properties, besides never panicking:
//! * success only for HTTP 200 with `code` 0, a non-empty `ident_code` and an http(s) URL with a
//!   host;
//! * a non-200 status is always `HttpStatus` with that status, a non-zero `code` always
//!   `Rejected`, anything else a decode error; messages and traces carry no CR, LF or TAB.

#![no_main]

use gameauth_creditpay::Error;
use gameauth_creditpay::response::parse_identify_auth;
use gameauth_fuzz::{fields, json_code_is, response, status};
use libfuzzer_sys::fuzz_target;

fn clean(text: &str) -> bool {
    !text.contains(['\r', '\n', '\t'])
}

fuzz_target!(|data: &[u8]| {
    let [status_field, body] = fields::<2>(data);
    let status = status(status_field);
    let body = body.unwrap_or_default();
    match parse_identify_auth(&response(status, body)) {
        Ok(ok) => {
            assert_eq!(status, http::StatusCode::OK);
            assert!(json_code_is(body, "code", 0), "success without code 0");
            assert!(!ok.ident_code.expose_secret().is_empty());
            // The cashier URL goes to the player's browser, which reads it with the WHATWG URL
            // rules the `url` crate implements, and is handed on in that parser's normalised
            // form, so the SDK and the browser cannot read it differently.
            let url = url::Url::parse(ok.url.expose_secret()).expect("a URL");
            assert_eq!(
                url.as_str(),
                ok.url.expose_secret(),
                "handed on unnormalised"
            );
            assert!(matches!(url.scheme(), "http" | "https"), "{url}");
            assert!(url.host_str().is_some_and(|h| !h.is_empty()), "{url}");
            if let Some(trace) = &ok.trace {
                assert!(clean(trace));
            }
        }
        Err(Error::HttpStatus { status: s, .. }) => {
            assert_ne!(status, http::StatusCode::OK);
            assert_eq!(s, status.as_u16());
        }
        Err(Error::Rejected { code, message }) => {
            assert_eq!(status, http::StatusCode::OK);
            assert_ne!(code.as_i64(), 0);
            assert!(!json_code_is(body, "code", 0));
            assert!(clean(&message));
        }
        Err(Error::Decode(_)) => assert_eq!(status, http::StatusCode::OK),
        Err(other) => panic!("unexpected error: {other:?}"),
    }
});
