//! Credit Pay credit-limit callback: the query decoder, exact amounts and the handler.
//!
//! Input: `headers \0 body` (`headers` as lines of `name:value`). The target replaces any
//! signature header with the correct signature (computed independently), so the fuzzer reaches
//! the decoder and the handler behind the check. The stand-in credit-limit source answers one
//! card whose amount is the query's `tag`, so the fuzzer also chooses amounts.
//!
//! Properties, besides never panicking:
//! * a decoded query is a credit-limit query with at most 18 digits;
//! * the handler's status follows from the input: 400 for a malformed body, 401 without a
//!   token, 403 for an unknown token, 503 for a token store outage, 500 for an amount that cannot
//!   be written exactly, 200 otherwise;
//! * a 200 answer carries the amount with exactly `digits` places and the same value: padded
//!   with zeros, never rounded.

#![no_main]

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use gameauth_core::{
    AuthError, KeyRing, TokenVerifier, VerifiedPlayer, VerifyRequest, async_trait,
};
use gameauth_creditpay::card::format_amount;
use gameauth_creditpay::inbound::credit_limit::{CREDIT_LIMIT_TYPE, decode_query};
use gameauth_creditpay::sign::{MISSPELT_SIGNATURE_HEADER, SIGNATURE_HEADER};
use gameauth_creditpay::{
    AvailableCard, CreditLimitAnswer, CreditLimitHandler, CreditLimitQuery, CreditLimitSource,
    InboundVerifier,
};
use gameauth_fuzz::{block_on, creditpay_oracle, fields, headers, json_string};
use http::{HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

const KEY: &str = "18dd8a3c8003d2adcd13cb9981618bedd759a19f697a46d270542c6023479a08f541a5fa7f2e09a6f93cab7fe5de3b1b465abxxx";
const ROUTE: &str = "/api/v1/credit-pay/notify";
const TOKEN_OK: &str = "a1472263c7b97095f095cb62477c-4420-8e2e-8a156axxxxxx";
const TOKEN_DOWN: &str = "store-down";

struct Tokens;

#[async_trait]
impl TokenVerifier for Tokens {
    fn provider(&self) -> &str {
        "fuzz"
    }

    async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
        if request.token.ct_eq(TOKEN_OK) {
            Ok(VerifiedPlayer::new("473_32_86000698"))
        } else if request.token.ct_eq(TOKEN_DOWN) {
            Err(AuthError::Unavailable("store down".into()))
        } else {
            Err(AuthError::rejected(403, "unknown token"))
        }
    }
}

struct Limits;

#[async_trait]
impl CreditLimitSource for Limits {
    async fn credit_limit(
        &self,
        _player: &VerifiedPlayer,
        query: &CreditLimitQuery,
    ) -> Result<CreditLimitAnswer, AuthError> {
        let card = AvailableCard::new("card-1", query.tag.clone(), query.currency.clone())
            .map_err(AuthError::from)?;
        Ok(CreditLimitAnswer::new("card-1").with_card(card))
    }
}

fn handler() -> &'static CreditLimitHandler {
    static HANDLER: OnceLock<CreditLimitHandler> = OnceLock::new();
    HANDLER.get_or_init(|| {
        let verifier = InboundVerifier::new(ROUTE, KeyRing::new(SecretString::from(KEY)))
            .expect("a valid verifier");
        CreditLimitHandler::new(verifier, Arc::new(Tokens), Arc::new(Limits))
    })
}

/// Whether `written` is `amount` with exactly `digits` decimal places and the same value.
fn same_amount(amount: &str, written: &str, digits: u32) -> bool {
    let (int_in, frac_in) = amount.split_once('.').unwrap_or((amount, ""));
    let (int_out, frac_out) = written.split_once('.').unwrap_or((written, ""));
    let places_ok = if digits == 0 {
        !written.contains('.')
    } else {
        frac_out.len() == digits as usize
    };
    places_ok
        && int_in == int_out
        && frac_in.trim_end_matches('0') == frac_out.trim_end_matches('0')
}

fuzz_target!(|data: &[u8]| {
    let [header_block, body] = fields::<2>(data);
    let mut headers = headers(header_block.unwrap_or_default());
    let body = body.unwrap_or_default();

    let query = decode_query(body);
    if let Ok(q) = &query {
        assert!(q.digits <= 18);
        assert_eq!(
            json_string(body, "type").as_deref(),
            Some(CREDIT_LIMIT_TYPE)
        );
        if let Ok(written) = format_amount(&q.tag, q.digits) {
            assert!(
                same_amount(&q.tag, &written, q.digits),
                "{:?} -> {written:?}",
                q.tag
            );
        }
    }

    headers.remove(SIGNATURE_HEADER);
    headers.remove(MISSPELT_SIGNATURE_HEADER);
    let sign = creditpay_oracle(KEY, ROUTE, body);
    headers.insert(
        SIGNATURE_HEADER,
        HeaderValue::from_str(&sign).expect("base64"),
    );
    let token = headers
        .get("token")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let mut request = http::Request::new(Bytes::copy_from_slice(body));
    *request.method_mut() = http::Method::POST;
    *request.headers_mut() = headers;

    let answer = block_on(handler().handle(request));
    let expected = match (&query, token.as_deref()) {
        (Err(_), _) => StatusCode::BAD_REQUEST,
        (Ok(_), None) => StatusCode::UNAUTHORIZED,
        (Ok(_), Some(TOKEN_DOWN)) => StatusCode::SERVICE_UNAVAILABLE,
        (Ok(_), Some(t)) if t != TOKEN_OK => StatusCode::FORBIDDEN,
        (Ok(q), Some(_)) => {
            let card = AvailableCard::new("card-1", q.tag.clone(), q.currency.clone());
            if card.is_ok() && format_amount(&q.tag, q.digits).is_ok() {
                StatusCode::OK
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    };
    assert_eq!(answer.status(), expected);
    let json: serde_json::Value = serde_json::from_slice(answer.body()).expect("a JSON answer");
    if expected == StatusCode::OK {
        let q = query.as_ref().expect("decoded");
        let written = json["data"]["available_cards"][0]["amount"]
            .as_str()
            .expect("an amount string");
        assert!(
            same_amount(&q.tag, written, q.digits),
            "{:?} -> {written:?}",
            q.tag
        );
        assert_eq!(json["data"]["tag"], "card-1");
    }
});
