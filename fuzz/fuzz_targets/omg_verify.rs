//! OMG request verification over (raw query, `sign` header, raw body).
//!
//! Input: `query \0 sign \0 body`. An empty query field means "no query on the request line";
//! a missing `sign` field (fewer separators) means "no `sign` header".
//!
//! Properties, besides never panicking:
//! * the outcome follows the documented order: no or empty `sign` → `MissingSign`; a query that
//!   is not exactly one plain `trace_id` → `InvalidQuery`; otherwise accepted or `Mismatch`;
//! * an accepted request carries the signature an independent MD5 computes over the exact bytes,
//!   under the current key, or the previous key only inside its rotation window;
//! * the correct signature (either hex case) is always accepted for a valid query, and one that is
//!   truncated, extended, or made for a changed body or an extended query is not;
//! * [`CallbackVerifier::verify`] agrees with [`verify`].

#![no_main]

use std::sync::{Arc, OnceLock};

use gameauth_core::{KeyRing, ManualClock};
use gameauth_fuzz::{at, fields, omg_oracle, text};
use gameauth_omg::CallbackVerifier;
use gameauth_omg::verify::{MAX_TRACE_ID_LEN, SignatureError, trace_id, verify};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

const KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";
const PREVIOUS: &str = "dummy-previous-omg-key";
const NOW: u64 = 1_711_971_655;
const WINDOW_END: u64 = NOW + 60;

fn ring() -> KeyRing {
    KeyRing::new(SecretString::from(KEY))
        .with_previous(SecretString::from(PREVIOUS), at(WINDOW_END))
}

fn callback_verifier() -> &'static CallbackVerifier {
    static VERIFIER: OnceLock<CallbackVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        CallbackVerifier::builder()
            .key_ring(ring())
            .clock(Arc::new(ManualClock::at_unix_seconds(NOW as i64)))
            .build()
            .expect("a valid verifier")
    })
}

fuzz_target!(|data: &[u8]| {
    let [query, sign, body] = fields::<3>(data);
    let query = query.filter(|q| !q.is_empty()).map(text);
    let sign = sign.map(text);
    let body = body.unwrap_or_default();
    let keys = ring();
    let query = query.as_deref();

    let valid_query = query.and_then(|q| trace_id(q).ok());
    if let (Some(q), Some(trace)) = (query, valid_query) {
        assert_eq!(Some(trace), q.strip_prefix("trace_id="));
        assert!(!trace.is_empty() && trace.len() <= MAX_TRACE_ID_LEN);
        assert!(
            !trace.contains(['&', ';', '=', '#', '?', '+', ' ']),
            "a trace id that could be re-split: {trace:?}"
        );
    }

    for (now, previous_valid) in [(NOW, true), (WINDOW_END, true), (WINDOW_END + 1, false)] {
        let outcome = verify(query, body, sign.as_deref(), &keys, at(now));
        let expected_class = match (sign.as_deref(), valid_query) {
            (None | Some(""), _) => Some(SignatureError::MissingSign),
            (_, None) => Some(SignatureError::InvalidQuery),
            _ => None,
        };
        match (&outcome, expected_class) {
            (Err(e), Some(class)) => assert_eq!(*e, class),
            (Ok(_), Some(class)) => panic!("accepted although {class:?}"),
            (Err(e), None) => assert_eq!(*e, SignatureError::Mismatch),
            (Ok(trace), None) => {
                let q = query.expect("accepted without a query");
                assert_eq!(Some(*trace), valid_query);
                let presented = sign.as_deref().unwrap_or_default().to_ascii_lowercase();
                let current = omg_oracle(q, body, KEY);
                let previous = omg_oracle(q, body, PREVIOUS);
                assert!(
                    presented == current || (previous_valid && presented == previous),
                    "accepted a signature that no valid key produces"
                );
            }
        }
        if now == NOW {
            let via_verifier = callback_verifier().verify(query, body, sign.as_deref());
            assert_eq!(
                via_verifier.as_ref().map(|v| v.trace_id.as_str()).ok(),
                outcome.as_ref().ok().copied()
            );
        }
    }

    let Some(q) = query.filter(|_| valid_query.is_some()) else {
        return;
    };
    let good = omg_oracle(q, body, KEY);
    assert!(verify(Some(q), body, Some(&good), &keys, at(NOW)).is_ok());
    assert!(
        verify(
            Some(q),
            body,
            Some(&good.to_ascii_uppercase()),
            &keys,
            at(NOW)
        )
        .is_ok()
    );
    let old = omg_oracle(q, body, PREVIOUS);
    assert!(verify(Some(q), body, Some(&old), &keys, at(WINDOW_END)).is_ok());
    assert_eq!(
        verify(Some(q), body, Some(&old), &keys, at(WINDOW_END + 1)),
        Err(SignatureError::Mismatch)
    );
    for bad in [
        good[..31].to_owned(),
        format!("{good}0"),
        format!(" {good}"),
    ] {
        assert_eq!(
            verify(Some(q), body, Some(&bad), &keys, at(NOW)),
            Err(SignatureError::Mismatch)
        );
    }
    let mut changed = body.to_vec();
    match changed.last_mut() {
        Some(last) => *last ^= 1,
        None => changed.push(b' '),
    }
    assert_eq!(
        verify(Some(q), &changed, Some(&good), &keys, at(NOW)),
        Err(SignatureError::Mismatch)
    );
    let extended = format!("{q}&x=1");
    let extended_sign = omg_oracle(&extended, body, KEY);
    assert_eq!(
        verify(Some(&extended), body, Some(&extended_sign), &keys, at(NOW)),
        Err(SignatureError::InvalidQuery)
    );
});
