//! Webhook events: Credit Pay tells the platform what happened to a payment.
//!
//! Flow of [`WebhookHandler::handle`]: size limit (413) → signature over the configured route path
//! and the raw body (401) → decode the event (400) → record `event_id` in the
//! [`WebhookDedupStore`] (503 when the store fails, so Credit Pay retries) → a duplicate is
//! acknowledged (200) without processing it again → the platform's [`WebhookSink`] → 200, or a
//! non-2xx answer after un-recording the event when the sink fails.
//!
//! Credit Pay retries anything but HTTP 200 every 5 minutes, at most 10 times; `PAY_SUCCESS` and
//! `REFUND` may legitimately repeat with new event ids, and `PAY_SUCCESS` may follow
//! `PAY_TIMEOUT`.

use crate::client::PROVIDER;
use gameauth_core::telemetry::inbound_callback;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use gameauth_core::lenient::{
    decode_signed_object, opt_i64_lenient, opt_string_or_number, string_or_number,
};
use gameauth_core::{AuthError, DecodeError, PlayerToken};
use http::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::Error;
use crate::inbound::reply;
use crate::verify::{InboundVerifier, is_token_text};

mod dedup;

pub use dedup::{MemoryDedupStore, Recorded, WebhookDedupStore};

/// The shortest de-duplication window accepted: 24 hours (Credit Pay retries for 50 minutes).
pub const MIN_DEDUP_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// How long one delivery holds its claim on an event while the sink processes it, unless
/// configured otherwise. Credit Pay redelivers every 5 minutes, so a claim left behind by a
/// crashed or failed attempt has lapsed before the next delivery.
pub const DEFAULT_PROCESSING_LEASE: Duration = Duration::from_secs(2 * 60);

/// The type of a webhook event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// `PAY_START`
    PayStart,
    /// `ASSIGN_SUCCESS`
    AssignSuccess,
    /// `ASSIGN_FAILED`
    AssignFailed,
    /// `GET_BARCODE_SUCCESS`
    GetBarcodeSuccess,
    /// `GET_BARCODE_FAILED`
    GetBarcodeFailed,
    /// `PAY_SUCCESS` (may repeat, may follow `PAY_TIMEOUT`)
    PaySuccess,
    /// `REFUND` (may repeat)
    Refund,
    /// `PAY_TIMEOUT`
    PayTimeout,
    /// `PAY_FINISH`
    PayFinish,
    /// `SESSION_RENEWAL`
    SessionRenewal,
    /// A type this SDK does not know, kept as sent.
    Unknown(String),
}

impl EventType {
    /// Every documented type, in the docs' order.
    pub const DOCUMENTED: [EventType; 10] = [
        Self::PayStart,
        Self::AssignSuccess,
        Self::AssignFailed,
        Self::GetBarcodeSuccess,
        Self::GetBarcodeFailed,
        Self::PaySuccess,
        Self::Refund,
        Self::PayTimeout,
        Self::PayFinish,
        Self::SessionRenewal,
    ];

    /// Classifies a wire type.
    pub fn from_wire(value: &str) -> Self {
        Self::DOCUMENTED
            .into_iter()
            .find(|t| t.as_str() == value)
            .unwrap_or_else(|| Self::Unknown(value.to_owned()))
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::PayStart => "PAY_START",
            Self::AssignSuccess => "ASSIGN_SUCCESS",
            Self::AssignFailed => "ASSIGN_FAILED",
            Self::GetBarcodeSuccess => "GET_BARCODE_SUCCESS",
            Self::GetBarcodeFailed => "GET_BARCODE_FAILED",
            Self::PaySuccess => "PAY_SUCCESS",
            Self::Refund => "REFUND",
            Self::PayTimeout => "PAY_TIMEOUT",
            Self::PayFinish => "PAY_FINISH",
            Self::SessionRenewal => "SESSION_RENEWAL",
            Self::Unknown(s) => s,
        }
    }
}

/// The `data` of an event. Keys are accepted in camelCase (`orderNo`) and snake_case
/// (`order_no`); numbers are kept as their exact text.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventData {
    /// `order_no` / `orderNo`.
    pub order_no: Option<String>,
    /// `charge_order_no` / `chargeOrderNo`.
    pub charge_order_no: Option<String>,
    /// `trade_time` / `tradeTime`, as sent.
    pub trade_time: Option<String>,
    /// `merchant_name` / `merchantName`.
    pub merchant_name: Option<String>,
    /// `real_ip` / `realIp`.
    pub real_ip: Option<String>,
    /// `customer_no` / `customerNo` (also `custom_no`, the docs' field-table spelling).
    pub customer_no: Option<String>,
    /// `amount`, an exact decimal string.
    pub amount: Option<String>,
    /// `currency`.
    pub currency: Option<String>,
    /// Every other key in snake_case, with a string's content or the raw JSON text of any other
    /// value.
    pub other: BTreeMap<String, String>,
}

impl std::fmt::Debug for EventData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Unknown keys may carry tokens; show their names only.
        f.debug_struct("EventData")
            .field("order_no", &self.order_no)
            .field("charge_order_no", &self.charge_order_no)
            .field("trade_time", &self.trade_time)
            .field("merchant_name", &self.merchant_name)
            .field("real_ip", &self.real_ip)
            .field("customer_no", &self.customer_no)
            .field("amount", &self.amount)
            .field("currency", &self.currency)
            .field("other_keys", &self.other.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A decoded webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// `type`.
    pub event_type: EventType,
    /// `event_id`, unique per event; the de-duplication key.
    pub event_id: String,
    /// `platform_id`, as sent.
    pub platform_id: Option<String>,
    /// `retry`: 0 on the first delivery.
    pub retry: i64,
    /// `data`.
    pub data: EventData,
}

#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(
        default,
        alias = "platformId",
        deserialize_with = "opt_string_or_number"
    )]
    platform_id: Option<String>,
    #[serde(default, deserialize_with = "opt_i64_lenient")]
    retry: Option<i64>,
    #[serde(alias = "eventId", deserialize_with = "string_or_number")]
    event_id: String,
    #[serde(default)]
    data: Option<BTreeMap<String, Box<RawValue>>>,
}

#[derive(Deserialize)]
struct Text(#[serde(deserialize_with = "string_or_number")] String);

/// Longest `event_id` accepted (ids seen in practice are UUIDs or shorter).
pub const MAX_EVENT_ID_BYTES: usize = 128;

/// Longest event `type` accepted (the documented ones are at most 19 bytes).
pub const MAX_EVENT_TYPE_BYTES: usize = 64;

/// Decodes a webhook body. Call only after the signature verified.
///
/// `type` and `event_id` must be printable ASCII without spaces (at most
/// [`MAX_EVENT_TYPE_BYTES`] and [`MAX_EVENT_ID_BYTES`]); anything else is malformed.
///
/// # Errors
///
/// Returns [`Error::Decode`] when any object in `body` repeats a key (same value or not), when
/// `body` is not a JSON object with a string `type` and an `event_id` (`eventId`; a string or
/// number), when `type` or `event_id` is not 1 to [`MAX_EVENT_TYPE_BYTES`] or
/// [`MAX_EVENT_ID_BYTES`] printable ASCII characters without spaces, when `retry` is present but
/// not an integer or negative, when `data` is present but not an object, when `data` carries two
/// spellings of one key (`orderNo` and `order_no`), or when `data.amount` is not a plain decimal.
pub fn decode_event(body: &[u8]) -> Result<WebhookEvent, Error> {
    let wire: WireEvent = decode_signed_object(body)?;
    if wire.kind.is_empty() {
        return Err(DecodeError::new("type", "empty").into());
    }
    if wire.event_id.trim().is_empty() {
        return Err(DecodeError::new("event_id", "empty").into());
    }
    // The id is logged and becomes a store key (`<prefix><event_id>`): keep it short and
    // printable, so a body cannot forge log lines or grow keys without bound.
    if !is_token_text(&wire.event_id, MAX_EVENT_ID_BYTES) {
        return Err(DecodeError::new(
            "event_id",
            format!("not 1 to {MAX_EVENT_ID_BYTES} printable ASCII characters"),
        )
        .into());
    }
    if !is_token_text(&wire.kind, MAX_EVENT_TYPE_BYTES) {
        return Err(DecodeError::new(
            "type",
            format!("not 1 to {MAX_EVENT_TYPE_BYTES} printable ASCII characters"),
        )
        .into());
    }
    let retry = wire.retry.unwrap_or(0);
    if retry < 0 {
        return Err(DecodeError::new("retry", "negative").into());
    }
    Ok(WebhookEvent {
        event_type: EventType::from_wire(&wire.kind),
        event_id: wire.event_id,
        platform_id: wire.platform_id,
        retry,
        data: decode_data(wire.data.unwrap_or_default())?,
    })
}

fn decode_data(raw: BTreeMap<String, Box<RawValue>>) -> Result<EventData, Error> {
    let mut fields: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (key, value) in raw {
        let name = match snake_case(&key).as_str() {
            "custom_no" => "customer_no".to_owned(),
            other => other.to_owned(),
        };
        // Two spellings of one key (`orderNo` and `order_no`) are a repeated key, like any other:
        // refused whatever the values.
        if fields.contains_key(&name) {
            return Err(DecodeError::new(format!("data.{name}"), "a key is repeated").into());
        }
        let text = value_text(&value);
        fields.insert(name, text);
    }
    let mut take = |name: &str| fields.remove(name).flatten();
    let data = EventData {
        order_no: take("order_no"),
        charge_order_no: take("charge_order_no"),
        trade_time: take("trade_time"),
        merchant_name: take("merchant_name"),
        real_ip: take("real_ip"),
        customer_no: take("customer_no"),
        amount: take("amount"),
        currency: take("currency"),
        other: fields
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
    };
    if let Some(amount) = &data.amount
        && !gameauth_core::lenient::is_decimal(amount)
    {
        return Err(DecodeError::new("data.amount", "expected a decimal amount").into());
    }
    Ok(data)
}

/// A string's content, a number's exact text, `None` for null, the raw JSON otherwise.
fn value_text(value: &RawValue) -> Option<String> {
    match value.get() {
        "null" => None,
        raw => Some(
            serde_json::from_str::<Text>(raw)
                .map(|t| t.0)
                .unwrap_or_else(|_| raw.to_owned()),
        ),
    }
}

/// `chargeOrderNo` → `charge_order_no`; snake_case stays as it is.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// One verified, decoded delivery, handed to the platform.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// The event.
    pub event: WebhookEvent,
    /// The `token` header: the `customer_token` the platform issued (not verified here; it may
    /// have expired by the time a payment settles).
    pub token: Option<PlayerToken>,
    /// Credit Pay's `trace` header.
    pub trace: Option<String>,
    /// The unsigned `timestamp` header, for logs only.
    pub timestamp: Option<String>,
}

/// The platform's processing of new webhook events.
#[async_trait]
pub trait WebhookSink: Send + Sync {
    /// Processes a new event. An error makes the handler answer non-2xx (Credit Pay redelivers)
    /// and un-record the event.
    ///
    /// # Errors
    ///
    /// An implementation returns an [`AuthError`] when it could not process the event. The
    /// handler answers [`AuthError::Store`] and [`AuthError::Unavailable`] with 503 and any
    /// other variant with 500; either way Credit Pay redelivers it.
    async fn handle(&self, delivery: &WebhookDelivery) -> Result<(), AuthError>;
}

/// Receives Credit Pay webhooks.
#[derive(Clone)]
pub struct WebhookHandler {
    verifier: InboundVerifier,
    store: Arc<dyn WebhookDedupStore>,
    sink: Arc<dyn WebhookSink>,
    ttl: Duration,
    lease: Duration,
}

impl std::fmt::Debug for WebhookHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookHandler")
            .field("verifier", &self.verifier)
            .field("ttl", &self.ttl)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl WebhookHandler {
    /// A builder; the verifier and the sink are required.
    pub fn builder() -> WebhookHandlerBuilder {
        WebhookHandlerBuilder::default()
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
        let (headers, body) = match self.verifier.admit(request, "webhook") {
            Ok(admitted) => admitted,
            Err(answer) => return *answer,
        };
        let event = match decode_event(&body) {
            Ok(e) => {
                inbound_callback(PROVIDER, "webhook", "accepted");
                e
            }
            Err(e) => {
                inbound_callback(PROVIDER, "webhook", "malformed");
                tracing::warn!(error = %e, "Credit Pay webhook malformed");
                return reply::for_error(&e);
            }
        };
        let event_id = event.event_id.clone();
        match self.store.claim(&event_id, self.lease).await {
            Ok(Recorded::New) => {}
            Ok(Recorded::Duplicate) => {
                tracing::info!(event_id = %event_id, event_type = event.event_type.as_str(), retry = event.retry, "duplicate Credit Pay webhook acknowledged");
                return ack();
            }
            Ok(Recorded::InProgress) => {
                tracing::info!(event_id = %event_id, event_type = event.event_type.as_str(), retry = event.retry, "Credit Pay webhook already being processed; not acknowledged");
                return reply::failure(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the event is being processed",
                );
            }
            Err(e) => {
                tracing::error!(event_id = %event_id, error = %e, "webhook de-duplication store failed; not acknowledged");
                return reply::for_error(&e);
            }
        }
        let delivery = WebhookDelivery {
            event,
            token: headers.token,
            trace: headers.trace,
            timestamp: headers.timestamp,
        };
        match self.sink.handle(&delivery).await {
            Ok(()) => {
                if let Err(e) = self.store.complete(&event_id, self.ttl).await {
                    // Processed all the same, so acknowledged; once the claim lapses a
                    // redelivery would be processed again (sinks are idempotent by order).
                    tracing::error!(event_id = %event_id, error = %e, "cannot record a processed webhook as done");
                }
                tracing::info!(event_id = %event_id, event_type = delivery.event.event_type.as_str(), "Credit Pay webhook processed");
                ack()
            }
            Err(e) => {
                tracing::warn!(event_id = %event_id, error = %e, "webhook processing failed; not acknowledged");
                if let Err(forget) = self.store.forget(&event_id).await {
                    // The claim lapses by itself after the processing lease.
                    tracing::error!(event_id = %event_id, error = %forget, "cannot drop the claim of a failed webhook");
                }
                match e {
                    AuthError::Store(_) | AuthError::Unavailable(_) => reply::for_host_error(&e),
                    _ => reply::failure(StatusCode::INTERNAL_SERVER_ERROR, "processing failed"),
                }
            }
        }
    }
}

/// The acknowledgement Credit Pay waits for.
fn ack() -> Response<Bytes> {
    reply::json(
        StatusCode::OK,
        Bytes::from_static(br#"{"code":0,"msg":"success"}"#),
    )
}

/// Runtime-validated builder of [`WebhookHandler`].
#[derive(Default)]
pub struct WebhookHandlerBuilder {
    verifier: Option<InboundVerifier>,
    store: Option<Arc<dyn WebhookDedupStore>>,
    sink: Option<Arc<dyn WebhookSink>>,
    ttl: Option<Duration>,
    lease: Option<Duration>,
}

impl std::fmt::Debug for WebhookHandlerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookHandlerBuilder")
            .field("verifier", &self.verifier)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl WebhookHandlerBuilder {
    /// The verifier of the webhook route.
    pub fn verifier(mut self, verifier: InboundVerifier) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// The de-duplication store (default: a [`MemoryDedupStore`], for a single instance).
    pub fn store(mut self, store: Arc<dyn WebhookDedupStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The platform's processing.
    pub fn sink(mut self, sink: Arc<dyn WebhookSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// How long event ids are remembered (default and minimum 24 h).
    pub fn dedup_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// How long a delivery holds its claim while the sink runs (default
    /// [`DEFAULT_PROCESSING_LEASE`], 2 min; between 1 s and the de-duplication TTL). Make it
    /// longer than the sink's slowest run: a redelivery arriving after the lease lapsed while
    /// the first run goes on is processed a second time.
    pub fn processing_lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Validates the configuration and builds the handler.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Config`] when the verifier or the sink is missing, the
    /// [de-duplication TTL](Self::dedup_ttl) is shorter than [`MIN_DEDUP_TTL`] (24 h), or the
    /// [processing lease](Self::processing_lease) is shorter than 1 s or longer than that TTL.
    pub fn build(self) -> Result<WebhookHandler, Error> {
        let verifier = self
            .verifier
            .ok_or_else(|| Error::Config("webhook verifier is required".into()))?;
        let sink = self
            .sink
            .ok_or_else(|| Error::Config("webhook sink is required".into()))?;
        let ttl = self.ttl.unwrap_or(MIN_DEDUP_TTL);
        if ttl < MIN_DEDUP_TTL {
            return Err(Error::Config(
                "webhook de-duplication ttl must be at least 24 hours".into(),
            ));
        }
        let lease = self.lease.unwrap_or(DEFAULT_PROCESSING_LEASE);
        if lease < Duration::from_secs(1) || lease > ttl {
            return Err(Error::Config(
                "webhook processing lease must be between 1 second and the de-duplication ttl"
                    .into(),
            ));
        }
        Ok(WebhookHandler {
            verifier,
            store: self
                .store
                .unwrap_or_else(|| Arc::new(MemoryDedupStore::default())),
            sink,
            ttl,
            lease,
        })
    }
}

#[cfg(test)]
mod tests;
