//! Credit Pay contract runner.
//!
//! Steps (`call`):
//! * `identify_auth`: builds a client against the mocked host (gateway prefix, platform id, id
//!   parameter name, body field name of the player's number, timeout from the step; keys, clock
//!   and trace ids from the fixture), calls
//!   `identify/auth` with `input` and compares the result with `expect` (`ok` values or the exact
//!   `error` kind, code, message or status).
//! * `credit_limit`: replays one inbound interaction through a `CreditLimitHandler` whose token
//!   verifier and credit-limit source are the step's `sessions`, compares the answer with the
//!   recording and the number of token look-ups with `expect.token_lookups`.
//! * `webhook`: replays inbound interactions in order through one `WebhookHandler` (memory store,
//!   or a failing one for `"store": "down"`) and compares the events the platform processed with
//!   `expect.processed`.
//!
//! Every inbound interaction must be used by a step, and the mocked host's counts are verified.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gameauth_contract::inbound::from_fn;
use gameauth_contract::{ErrorFacts, Expect, Fixture, Inbound, MockUpstream};
use gameauth_core::{
    AuthError, KeyRing, PlayerToken, TokenVerifier, VerifiedPlayer, VerifyRequest, async_trait,
};
use gameauth_creditpay::{
    AvailableCard, Client, CreditLimitAnswer, CreditLimitHandler, CreditLimitQuery,
    CreditLimitSource, CustomerNoField, Error, IdentifyAuthRequest, InboundVerifier,
    MemoryDedupStore, PlatIdParam, Recorded, ResponseCode, WebhookDedupStore, WebhookDelivery,
    WebhookEvent, WebhookHandler, WebhookSink,
};
use serde::Deserialize;

/// Name of the signature key in `keys`.
const SIGNATURE_KEY: &str = "signature_key";
/// Name of the API key in `keys`.
const API_KEY: &str = "api_key";

/// Runs one Credit Pay fixture.
pub(super) async fn run(fixture: &Fixture) -> Result<(), String> {
    let upstream = MockUpstream::start(fixture).await?;
    let mut inbound = Inbound::new(fixture);
    for (n, step) in fixture.parse_steps::<Step>()?.into_iter().enumerate() {
        let outcome = match &step {
            Step::IdentifyAuth(s) => identify_auth(fixture, &upstream, s).await,
            Step::CreditLimit(s) => credit_limit(fixture, s, &mut inbound).await,
            Step::Webhook(s) => webhook(fixture, s, &mut inbound).await,
        };
        if let Err(e) = outcome {
            return Err(upstream
                .annotate(format!("step {n} ({}): {e}", step.call()))
                .await);
        }
    }
    upstream.verify().await?;
    inbound.finish()
}

#[derive(Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
enum Step {
    IdentifyAuth(Box<IdentifyStep>),
    CreditLimit(CreditLimitStep),
    Webhook(WebhookStep),
}

impl Step {
    fn call(&self) -> &'static str {
        match self {
            Self::IdentifyAuth(_) => "identify_auth",
            Self::CreditLimit(_) => "credit_limit",
            Self::Webhook(_) => "webhook",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentifyStep {
    /// The mocked host.
    #[serde(default = "default_host")]
    host: String,
    /// The gateway prefix appended to the mock's URI, e.g. `/dg`.
    #[serde(default)]
    prefix: String,
    plat_id: String,
    /// `plat_id` (default) or `platId`.
    #[serde(default)]
    plat_id_param: Option<String>,
    /// The body field name of the player's number: `customer_no` (default) or `custom_no`.
    #[serde(default)]
    customer_no_field: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    lang: Option<String>,
    input: IdentifyInput,
    expect: Expect<ExpectOk>,
}

fn default_host() -> String {
    "default".to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentifyInput {
    customer_no: String,
    customer_token: String,
    callback_url: String,
    token_expire: i64,
    client_ip: String,
    #[serde(default)]
    session_sign: Option<String>,
    #[serde(default)]
    credit_limit_tag: Option<String>,
    #[serde(default)]
    credit_limit_available_cards: Option<Vec<CardSpec>>,
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CardSpec {
    tag: String,
    amount: String,
    currency: String,
    #[serde(default)]
    icon: String,
    #[serde(default)]
    input: String,
}

impl CardSpec {
    fn card(&self) -> Result<AvailableCard, String> {
        AvailableCard::new(&self.tag, &self.amount, &self.currency)
            .map(|c| c.with_icon(&self.icon).with_input(&self.input))
            .map_err(|e| format!("card `{}`: {e}", self.tag))
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectOk {
    ident_code: String,
    url: String,
    #[serde(default)]
    trace: Option<String>,
}

async fn identify_auth(
    fixture: &Fixture,
    upstream: &MockUpstream,
    step: &IdentifyStep,
) -> Result<(), String> {
    let param = match step.plat_id_param.as_deref() {
        None | Some("plat_id") => PlatIdParam::PlatId,
        Some("platId") => PlatIdParam::LegacyPlatId,
        Some(other) => return Err(format!("unknown plat_id_param `{other}`")),
    };
    let number_field = match step.customer_no_field.as_deref() {
        None | Some("customer_no") => CustomerNoField::CustomerNo,
        Some("custom_no") => CustomerNoField::CustomNo,
        Some(other) => return Err(format!("unknown customer_no_field `{other}`")),
    };
    let mut builder = Client::builder()
        .base_url(format!("{}{}", upstream.uri(&step.host)?, step.prefix))
        .plat_id(&step.plat_id)
        .plat_id_param(param)
        .customer_no_field(number_field)
        .api_key(fixture.key(API_KEY)?)
        .signature_keys(KeyRing::new(fixture.key(SIGNATURE_KEY)?.into()))
        .clock(Arc::new(fixture.clock()))
        .ids(Arc::new(fixture.ids()));
    if let Some(ms) = step.timeout_ms {
        builder = builder.timeout(Duration::from_millis(ms));
    }
    if let Some(lang) = &step.lang {
        builder = builder.lang(lang);
    }
    let client = builder.build().map_err(|e| format!("client: {e}"))?;

    let i = &step.input;
    let mut request = IdentifyAuthRequest::new(
        &i.customer_no,
        PlayerToken::new(&i.customer_token),
        &i.callback_url,
        i.token_expire,
        &i.client_ip,
    );
    if let Some(s) = &i.session_sign {
        request = request.with_session_sign(s);
    }
    if let Some(t) = &i.credit_limit_tag {
        request = request.with_credit_limit_tag(t);
    }
    if let Some(cards) = &i.credit_limit_available_cards {
        request = request
            .with_available_cards(cards.iter().map(CardSpec::card).collect::<Result<_, _>>()?);
    }
    if let Some(lang) = &i.lang {
        request = request.with_lang(lang);
    }

    let result = client.identify_auth(&request).await;
    step.expect
        .clone()
        .check(result.map_err(|e| facts(&e)), |got, want| {
            if !got.ident_code.ct_eq(&want.ident_code) {
                return Err("ident_code differs from the expected value".into());
            }
            if !got.url.ct_eq(&want.url) {
                return Err("url differs from the expected value".into());
            }
            if got.trace != want.trace {
                return Err(format!(
                    "trace is {:?}, expected {:?}",
                    got.trace, want.trace
                ));
            }
            Ok(())
        })
}

/// What a Credit Pay error is, in the terms of the fixtures' expectations: code 500 is a
/// `server_error`, any other code a `rejected` (Credit Pay documents no other code).
fn facts(err: &Error) -> ErrorFacts {
    match err {
        Error::Rejected { code, message } => {
            let kind = if *code == ResponseCode::ServerError {
                "server_error"
            } else {
                "rejected"
            };
            ErrorFacts::new(kind, err)
                .code(code.as_i64(), *code == ResponseCode::ServerError)
                .message(message.clone())
        }
        Error::HttpStatus { status, .. } => ErrorFacts::new("http_status", err).status(*status),
        Error::Decode(d) => ErrorFacts::new("decode", err).path(d.path.clone()),
        Error::OutcomeUnknown => ErrorFacts::new("outcome_unknown", err),
        Error::InvalidInput(_) => ErrorFacts::new("invalid_input", err),
        Error::Transport(_) => ErrorFacts::new("transport", err),
        Error::Config(_) => ErrorFacts::new("config", err),
        Error::Signature(_) => ErrorFacts::new("signature", err),
        Error::BodyTooLarge { .. } => ErrorFacts::new("body_too_large", err),
        Error::Store(_) => ErrorFacts::new("store", err),
        _ => ErrorFacts::new("unknown", err),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditLimitStep {
    /// The route path configured in the Credit Pay backend (the signed path).
    route: String,
    /// The platform's sessions.
    sessions: Vec<SessionSpec>,
    interaction: String,
    expect: CreditLimitExpect,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionSpec {
    token: String,
    player_id: String,
    tag: String,
    cards: Vec<CardSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditLimitExpect {
    token_lookups: usize,
}

/// The platform's sessions: a token verifier and credit-limit source in one.
struct Sessions {
    sessions: Vec<SessionSpec>,
    lookups: AtomicUsize,
}

#[async_trait]
impl TokenVerifier for Sessions {
    fn provider(&self) -> &str {
        "operator"
    }

    async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.sessions
            .iter()
            .find(|s| request.token.ct_eq(&s.token))
            .map(|s| VerifiedPlayer::new(&s.player_id))
            .ok_or_else(|| AuthError::rejected(401, "unknown session"))
    }
}

#[async_trait]
impl CreditLimitSource for Sessions {
    async fn credit_limit(
        &self,
        player: &VerifiedPlayer,
        _query: &CreditLimitQuery,
    ) -> Result<CreditLimitAnswer, AuthError> {
        let session = self
            .sessions
            .iter()
            .find(|s| s.player_id == player.player_id)
            .ok_or_else(|| AuthError::Store("session vanished".into()))?;
        let mut answer = CreditLimitAnswer::new(&session.tag);
        for card in &session.cards {
            answer = answer.with_card(card.card().map_err(AuthError::InvalidInput)?);
        }
        Ok(answer)
    }
}

fn verifier(fixture: &Fixture, route: &str) -> Result<InboundVerifier, String> {
    InboundVerifier::new(route, KeyRing::new(fixture.key(SIGNATURE_KEY)?.into()))
        .map(|v| v.with_clock(Arc::new(fixture.clock())))
        .map_err(|e| format!("verifier: {e}"))
}

async fn credit_limit(
    fixture: &Fixture,
    step: &CreditLimitStep,
    inbound: &mut Inbound<'_>,
) -> Result<(), String> {
    let sessions = Arc::new(Sessions {
        sessions: step.sessions.clone(),
        lookups: AtomicUsize::new(0),
    });
    let handler = CreditLimitHandler::new(
        verifier(fixture, &step.route)?,
        sessions.clone(),
        sessions.clone(),
    );
    let handler = &handler;
    inbound
        .replay(
            &step.interaction,
            from_fn(|r| async move { handler.handle(r).await }),
        )
        .await?;
    let lookups = sessions.lookups.load(Ordering::SeqCst);
    if lookups != step.expect.token_lookups {
        return Err(format!(
            "token looked up {lookups} time(s), expected {}",
            step.expect.token_lookups
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookStep {
    route: String,
    /// `up` (default, memory store) or `down` (every store call fails).
    #[serde(default)]
    store: Option<String>,
    interactions: Vec<String>,
    expect: WebhookExpect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookExpect {
    processed: Vec<EventSpec>,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventSpec {
    event_id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    platform_id: Option<String>,
    retry: i64,
    /// Every data field in snake_case with its text.
    data: BTreeMap<String, String>,
}

impl EventSpec {
    fn of(event: &WebhookEvent) -> Self {
        let d = &event.data;
        let mut data = d.other.clone();
        for (name, value) in [
            ("order_no", &d.order_no),
            ("charge_order_no", &d.charge_order_no),
            ("trade_time", &d.trade_time),
            ("merchant_name", &d.merchant_name),
            ("real_ip", &d.real_ip),
            ("customer_no", &d.customer_no),
            ("amount", &d.amount),
            ("currency", &d.currency),
        ] {
            if let Some(v) = value {
                data.insert(name.to_owned(), v.clone());
            }
        }
        Self {
            event_id: event.event_id.clone(),
            kind: event.event_type.as_str().to_owned(),
            platform_id: event.platform_id.clone(),
            retry: event.retry,
            data,
        }
    }
}

#[derive(Default)]
struct Processed(Mutex<Vec<WebhookEvent>>);

#[async_trait]
impl WebhookSink for Processed {
    async fn handle(&self, delivery: &WebhookDelivery) -> Result<(), AuthError> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(delivery.event.clone());
        Ok(())
    }
}

/// A store whose backend is down.
struct DownStore;

#[async_trait]
impl WebhookDedupStore for DownStore {
    async fn claim(&self, _: &str, _: Duration) -> Result<Recorded, Error> {
        Err(Error::Store("store unreachable".into()))
    }

    async fn complete(&self, _: &str, _: Duration) -> Result<(), Error> {
        Err(Error::Store("store unreachable".into()))
    }

    async fn forget(&self, _: &str) -> Result<(), Error> {
        Err(Error::Store("store unreachable".into()))
    }
}

async fn webhook(
    fixture: &Fixture,
    step: &WebhookStep,
    inbound: &mut Inbound<'_>,
) -> Result<(), String> {
    let store: Arc<dyn WebhookDedupStore> = match step.store.as_deref() {
        None | Some("up") => Arc::new(MemoryDedupStore::new(Arc::new(fixture.clock()))),
        Some("down") => Arc::new(DownStore),
        Some(other) => return Err(format!("unknown store mode `{other}`")),
    };
    let sink = Arc::new(Processed::default());
    let handler = WebhookHandler::builder()
        .verifier(verifier(fixture, &step.route)?)
        .store(store)
        .sink(sink.clone())
        .build()
        .map_err(|e| format!("webhook handler: {e}"))?;
    if step.interactions.is_empty() {
        return Err("webhook step lists no interaction".into());
    }
    let handler = &handler;
    for name in &step.interactions {
        inbound
            .replay(name, from_fn(|r| async move { handler.handle(r).await }))
            .await?;
    }
    let processed: Vec<EventSpec> = sink
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(EventSpec::of)
        .collect();
    if processed != step.expect.processed {
        return Err(format!(
            "processed {processed:?}, expected {:?}",
            step.expect.processed
        ));
    }
    Ok(())
}
