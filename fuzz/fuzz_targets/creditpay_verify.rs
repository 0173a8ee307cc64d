//! Credit Pay inbound verification over (route path, headers, raw body).
//!
//! Input: `route \0 headers \0 body`, where `headers` are lines of `name:value` and an empty
//! route means the documented example route `/api/v1/credit-pay/notify`.
//!
//! Properties, besides never panicking:
//! * a verifier exists exactly for the routes [`check_signed_path`] accepts;
//! * an accepted request carries, under `signature` or `signerature`, the base64 of the HMAC an
//!   independent implementation computes over route + body with the current key or, inside its
//!   window, the previous key; refusals of the header itself are reported as such;
//! * the correct signature is accepted whatever the other headers are, and one made with the
//!   previous key stops verifying when its window closes; a truncated one, a header repeated,
//!   or both spellings with different values, never verify;
//! * the unsigned headers handed on are non-empty, short and printable.

#![no_main]

use std::sync::Arc;

use gameauth_core::{KeyRing, ManualClock};
use gameauth_creditpay::sign::{MISSPELT_SIGNATURE_HEADER, SIGNATURE_HEADER, check_signed_path};
use gameauth_creditpay::verify::{presented_signature, verify_signature};
use gameauth_creditpay::{Error, InboundVerifier, SignatureError};
use gameauth_fuzz::{
    at, base64_decode, creditpay_oracle, creditpay_oracle_raw, fields, headers, text,
};
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

const KEY: &str = "18dd8a3c8003d2adcd13cb9981618bedd759a19f697a46d270542c6023479a08f541a5fa7f2e09a6f93cab7fe5de3b1b465abxxx";
const PREVIOUS: &str = "dummy-previous-creditpay-key";
const DEFAULT_ROUTE: &str = "/api/v1/credit-pay/notify";
const NOW: u64 = 1_732_520_000;
const WINDOW_END: u64 = NOW + 60;

fn ring() -> KeyRing {
    KeyRing::new(SecretString::from(KEY))
        .with_previous(SecretString::from(PREVIOUS), at(WINDOW_END))
}

fn printable(value: &str) -> bool {
    !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic())
}

fuzz_target!(|data: &[u8]| {
    let [route, header_block, body] = fields::<3>(data);
    let route = route
        .filter(|r| !r.is_empty())
        .map_or_else(|| DEFAULT_ROUTE.to_owned(), text);
    let mut headers = headers(header_block.unwrap_or_default());
    let body = body.unwrap_or_default();

    let verifier = InboundVerifier::new(route.clone(), ring());
    assert_eq!(verifier.is_ok(), check_signed_path(&route).is_ok());
    let Ok(verifier) = verifier else { return };
    let verifier = verifier.with_clock(Arc::new(ManualClock::at_unix_seconds(NOW as i64)));
    let current = creditpay_oracle_raw(KEY, &route, body);
    let previous = creditpay_oracle_raw(PREVIOUS, &route, body);

    let presented = presented_signature(&headers);
    match verifier.verify(&headers, body) {
        Ok(inbound) => {
            let sig = presented.expect("accepted without a signature header");
            let decoded = base64_decode(sig).expect("accepted a signature that is not base64");
            assert!(
                decoded == current || decoded == previous,
                "accepted a signature that no valid key produces"
            );
            for value in [&inbound.trace, &inbound.lang, &inbound.timestamp]
                .into_iter()
                .flatten()
            {
                assert!(printable(value), "unsafe header handed on: {value:?}");
            }
            if let Some(token) = &inbound.token {
                assert!(!token.is_empty());
            }
        }
        Err(Error::Signature(e)) => {
            if let Err(header_error) = presented {
                assert_eq!(e, header_error);
            }
        }
        Err(other) => panic!("unexpected refusal: {other:?}"),
    }

    let keys = ring();
    let good = creditpay_oracle(KEY, &route, body);
    assert_eq!(
        verify_signature(&keys, at(NOW), &route, body, &good),
        Ok(())
    );
    let old = creditpay_oracle(PREVIOUS, &route, body);
    assert_eq!(
        verify_signature(&keys, at(WINDOW_END), &route, body, &old),
        Ok(())
    );
    assert_eq!(
        verify_signature(&keys, at(WINDOW_END + 1), &route, body, &old),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_signature(&keys, at(NOW), &route, body, &good[..good.len() - 1]),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_signature(&keys, at(NOW), &route, body, ""),
        Err(SignatureError::Empty)
    );

    headers.remove(SIGNATURE_HEADER);
    headers.remove(MISSPELT_SIGNATURE_HEADER);
    let good_value = HeaderValue::from_str(&good).expect("base64 is a valid header value");
    headers.insert(SIGNATURE_HEADER, good_value.clone());
    assert!(
        verifier.verify(&headers, body).is_ok(),
        "the correct signature was refused"
    );
    headers.append(SIGNATURE_HEADER, good_value.clone());
    assert!(
        matches!(
            verifier.verify(&headers, body),
            Err(Error::Signature(SignatureError::Repeated))
        ),
        "a repeated header was accepted"
    );
    headers.remove(SIGNATURE_HEADER);
    headers.insert(MISSPELT_SIGNATURE_HEADER, good_value.clone());
    assert!(
        verifier.verify(&headers, body).is_ok(),
        "the misspelt header was refused"
    );
    headers.insert(
        SIGNATURE_HEADER,
        HeaderValue::from_str(&old).expect("base64"),
    );
    assert!(matches!(
        verifier.verify(&headers, body),
        Err(Error::Signature(SignatureError::Repeated))
    ));
});
