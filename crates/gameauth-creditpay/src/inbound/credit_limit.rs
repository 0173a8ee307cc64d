//! The credit-limit callback: Credit Pay asks the platform how much credit a player has.
//!
//! Flow of [`CreditLimitHandler::handle`]: size limit (413) → signature over the configured route
//! path and the raw body (401) → decode the query (400) → the `token` header checked by the
//! platform's own [`TokenVerifier`] (403 when rejected, 503 when it cannot answer) → the
//! platform's [`CreditLimitSource`] → `{"data":{"tag":…,"available_cards":[…]}}` with every
//! amount written at the requested `digits`.

use crate::client::PROVIDER;
use gameauth_core::telemetry::inbound_callback;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use gameauth_core::lenient::{decode_signed_object, string_or_number};
use gameauth_core::{AuthError, DecodeError, TokenVerifier, VerifiedPlayer, VerifyRequest};
use http::{Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::card::{AvailableCard, MAX_DIGITS};
use crate::error::Error;
use crate::inbound::reply;
use crate::verify::InboundVerifier;

/// The `type` of the credit-limit query.
pub const CREDIT_LIMIT_TYPE: &str = "GET_DEFAULT_ACCOUNT_CREDIT_LIMIT";

/// What Credit Pay asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreditLimitQuery {
    /// The card tag asked for (empty for the default account).
    pub tag: String,
    /// The currency asked for.
    pub currency: String,
    /// How many decimal places every amount must have.
    pub digits: u32,
}

#[derive(Deserialize)]
struct WireQuery {
    #[serde(rename = "type")]
    kind: String,
    data: WireQueryData,
}

#[derive(Deserialize)]
struct WireQueryData {
    #[serde(default)]
    tag: Option<String>,
    currency: String,
    #[serde(deserialize_with = "string_or_number")]
    digits: String,
}

/// Decodes a credit-limit query body. Call only after the signature verified.
///
/// # Errors
///
/// Returns [`Error::Decode`] when any object in `body` repeats a key (same value or not), when
/// `body` is not a JSON object with a string `type` and a `data`
/// object holding a string `currency` and `digits` (a string or number), when `type` is not
/// [`CREDIT_LIMIT_TYPE`], or when `digits` is not an integer from 0 to [`MAX_DIGITS`] (18).
pub fn decode_query(body: &[u8]) -> Result<CreditLimitQuery, Error> {
    let wire: WireQuery = decode_signed_object(body)?;
    if wire.kind != CREDIT_LIMIT_TYPE {
        return Err(DecodeError::new("type", "not a credit-limit query").into());
    }
    let digits = wire
        .data
        .digits
        .parse::<u32>()
        .ok()
        .filter(|d| *d <= MAX_DIGITS)
        .ok_or_else(|| DecodeError::new("data.digits", "expected 0 to 18"))?;
    Ok(CreditLimitQuery {
        tag: wire.data.tag.unwrap_or_default(),
        currency: wire.data.currency,
        digits,
    })
}

/// The platform's answer to a credit-limit query.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreditLimitAnswer {
    /// The tag of the selected card (usually the one asked for).
    pub tag: String,
    /// The cards the player may use.
    pub cards: Vec<AvailableCard>,
}

#[derive(Serialize)]
struct WireAnswer<'a> {
    data: WireAnswerData<'a>,
}

#[derive(Serialize)]
struct WireAnswerData<'a> {
    tag: &'a str,
    available_cards: Vec<AvailableCard>,
}

impl CreditLimitAnswer {
    /// An answer selecting `tag`, with no cards yet.
    pub fn new(tag: impl Into<String>) -> Self {
        Self {
            tag: tag.into(),
            cards: Vec::new(),
        }
    }

    /// Adds a card.
    pub fn with_card(mut self, card: AvailableCard) -> Self {
        self.cards.push(card);
        self
    }

    /// The response body with every amount written with exactly `digits` decimal places.
    /// Fails rather than round.
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] when a card fails [`AvailableCard::validate`], when
    /// `digits` exceeds [`MAX_DIGITS`] (18), or when an amount has more significant decimal
    /// places than `digits` (see [`format_amount`](crate::card::format_amount)).
    pub fn encode(&self, digits: u32) -> Result<Bytes, Error> {
        let cards = self
            .cards
            .iter()
            .map(|c| c.at_digits(digits))
            .collect::<Result<Vec<_>, _>>()?;
        let wire = WireAnswer {
            data: WireAnswerData {
                tag: &self.tag,
                available_cards: cards,
            },
        };
        serde_json::to_vec(&wire)
            .map(Bytes::from)
            .map_err(|_| Error::InvalidInput("answer cannot be serialised".into()))
    }
}

/// The platform's source of credit limits, asked once the player's token verified.
#[async_trait]
pub trait CreditLimitSource: Send + Sync {
    /// The credit limit of `player` for `query`. Amounts may have fewer decimal places than
    /// `query.digits` (they are padded) but not more significant ones.
    ///
    /// # Errors
    ///
    /// An implementation returns an [`AuthError`] when it has no answer for the player. The
    /// handler answers [`AuthError::Rejected`] with 403; [`AuthError::Store`],
    /// [`AuthError::Unavailable`], [`AuthError::Transport`] and [`AuthError::OutcomeUnknown`]
    /// with 503; any other variant with 500.
    async fn credit_limit(
        &self,
        player: &VerifiedPlayer,
        query: &CreditLimitQuery,
    ) -> Result<CreditLimitAnswer, AuthError>;
}

/// Answers Credit Pay's credit-limit callback.
#[derive(Clone)]
pub struct CreditLimitHandler {
    verifier: InboundVerifier,
    tokens: Arc<dyn TokenVerifier>,
    source: Arc<dyn CreditLimitSource>,
}

impl std::fmt::Debug for CreditLimitHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreditLimitHandler")
            .field("verifier", &self.verifier)
            .field("tokens", &self.tokens.provider())
            .finish_non_exhaustive()
    }
}

impl CreditLimitHandler {
    /// A handler verifying requests with `verifier`, players with `tokens` and asking `source`.
    pub fn new(
        verifier: InboundVerifier,
        tokens: Arc<dyn TokenVerifier>,
        source: Arc<dyn CreditLimitSource>,
    ) -> Self {
        Self {
            verifier,
            tokens,
            source,
        }
    }

    /// The configured route path.
    pub fn route_path(&self) -> &str {
        self.verifier.route_path()
    }

    /// The inbound body size limit.
    pub fn max_body_bytes(&self) -> usize {
        self.verifier.max_body_bytes()
    }

    /// Handles one raw request and returns the answer to send.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        let (headers, body) = match self.verifier.admit(request, "credit_limit") {
            Ok(admitted) => admitted,
            Err(answer) => return *answer,
        };
        let query = match decode_query(&body) {
            Ok(q) => {
                inbound_callback(PROVIDER, "credit_limit", "accepted");
                q
            }
            Err(e) => {
                inbound_callback(PROVIDER, "credit_limit", "malformed");
                tracing::warn!(error = %e, "Credit Pay credit-limit query malformed");
                return reply::for_error(&e);
            }
        };
        let Some(token) = headers.token else {
            tracing::warn!("Credit Pay credit-limit request without token");
            return reply::failure(StatusCode::UNAUTHORIZED, "missing token");
        };
        let mut verify = VerifyRequest::new(token);
        if let Some(lang) = &headers.lang {
            verify = verify.with_attribute("lang", lang.clone());
        }
        let player = match self.tokens.verify(&verify).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "Credit Pay credit-limit token not accepted");
                return reply::for_host_error(&e);
            }
        };
        let answer = match self.source.credit_limit(&player, &query).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "credit-limit source failed");
                return reply::for_host_error(&e);
            }
        };
        match answer.encode(query.digits) {
            Ok(body) => reply::json(StatusCode::OK, body),
            Err(e) => {
                tracing::error!(error = %e, "credit-limit answer cannot be written exactly");
                reply::failure(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C6_BODY: &str = r#"{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{"tag":"","currency":"CNY","digits":"2"}}"#;

    #[test]
    fn the_documented_query_decodes() {
        let q = decode_query(C6_BODY.as_bytes()).unwrap();
        assert_eq!(
            q,
            CreditLimitQuery {
                tag: String::new(),
                currency: "CNY".into(),
                digits: 2
            }
        );
        let q = decode_query(
            br#"{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{"currency":"USD","digits":4}}"#,
        )
        .unwrap();
        assert_eq!(q.digits, 4);
    }

    #[test]
    fn other_types_and_bad_digits_are_decode_errors() {
        let cases = [
            (
                r#"{"type":"PAY_SUCCESS","data":{"currency":"CNY","digits":"2"}}"#,
                "type",
            ),
            (
                r#"{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{"currency":"CNY","digits":"two"}}"#,
                "data.digits",
            ),
            (
                r#"{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{"currency":"CNY","digits":"99"}}"#,
                "data.digits",
            ),
            (
                r#"{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{"digits":"2"}}"#,
                "data",
            ),
        ];
        for (body, path) in cases {
            match decode_query(body.as_bytes()) {
                Err(Error::Decode(d)) => assert!(d.path.starts_with(path), "{body}: {}", d.path),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_answer_has_the_documented_shape_with_amounts_at_the_requested_digits() {
        let answer = CreditLimitAnswer::new("card-1")
            .with_card(
                AvailableCard::new("card-1", "1000", "CNY")
                    .unwrap()
                    .with_icon("https://cdn.example/card.png")
                    .with_input("1"),
            )
            .with_card(AvailableCard::new("card-2", "0.5", "CNY").unwrap());
        let body = answer.encode(2).unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"data":{"tag":"card-1","available_cards":[{"tag":"card-1","amount":"1000.00","currency":"CNY","icon":"https://cdn.example/card.png","input":"1"},{"tag":"card-2","amount":"0.50","currency":"CNY","icon":"","input":""}]}}"#
        );
        assert!(
            answer.encode(0).is_err(),
            "0.5 cannot be written without rounding"
        );
    }
}
