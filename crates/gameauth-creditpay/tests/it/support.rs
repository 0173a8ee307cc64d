//! Shared fixtures: the official key and body, a frozen clock, fixed trace ids, and host hooks.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use gameauth_core::{
    AuthError, FixedIds, KeyRing, ManualClock, PlayerToken, TokenVerifier, VerifiedPlayer,
    VerifyRequest, async_trait,
};
use gameauth_creditpay::{
    AvailableCard, Client, ClientBuilder, CreditLimitAnswer, CreditLimitQuery, CreditLimitSource,
    IdentifyAuthRequest, InboundVerifier, sign::sign,
};

/// The official signing key of the docs' vectors (ends literally in `xxx`).
pub(crate) const KEY: &str = "18dd8a3c8003d2adcd13cb9981618bedd759a19f697a46d270542c6023479a08f541a5fa7f2e09a6f93cab7fe5de3b1b465abxxx";
/// The official request body.
pub(crate) const BODY0: &str = r#"{"customer_token":"a1472263c7b97095f095cb62477c-4420-8e2e-8a156axxxxxx","customer_no":"473_32_86000698","callback_url":"https://credit-pre.aatest.online/payment/callback","token_expire":1732521424191,"client_ip":"192.168.1.166"}"#;
/// C1: the official signature of BODY0.
pub(crate) const C1: &str = "qKAfzANeovNTa2dQpIlOWIibZ/U=";
/// The platform id of the docs' example.
pub(crate) const PLAT_ID: &str = "328cf95950f54f89a2dd4c3bf98ac5fb";
/// A dummy API key.
pub(crate) const API_KEY: &str = "dummy-api-key-0001";
/// The fixed trace id.
pub(crate) const TRACE: &str = "k3n9x0q2m7ab4c5d6e7f8g9h0i1j2k3l";
/// Frozen time: before BODY0's `token_expire`.
pub(crate) const NOW_SECS: i64 = 1_732_520_000;
/// The success answer of the docs.
pub(crate) const SUCCESS: &str = r#"{"code":0,"msg":"success","data":{"ident_code":"bb15a501d2354aeb937160c67b3580a6","url":"https://credit-pay-dev.aatest.online/dg/oauth?ident_code=bb15a501d2354aeb937160c67b3580a6"},"trace":"xx-3f1e-40c9-b26d-aa86e7611230"}"#;
/// The credit-limit route of vector C6.
pub(crate) const ROUTE: &str = "/api/v1/credit-pay/notify";
/// The body of vector C6.
pub(crate) const C6_BODY: &str = r#"{"type":"GET_DEFAULT_ACCOUNT_CREDIT_LIMIT","data":{"tag":"","currency":"CNY","digits":"2"}}"#;
/// The signature of vector C6.
pub(crate) const C6: &str = "RfwkEphl9gGxt2CwuXlLzHgCAyg=";
/// The webhook route used by the tests.
pub(crate) const WEBHOOK_ROUTE: &str = "/api/v1/credit-pay/webhook";

/// A client builder for `base` (which includes the gateway prefix) with frozen time and ids.
pub(crate) fn client_builder(base: &str) -> ClientBuilder {
    Client::builder()
        .base_url(base)
        .plat_id(PLAT_ID)
        .api_key(API_KEY)
        .signature_keys(KeyRing::new(KEY.into()))
        .clock(Arc::new(ManualClock::at_unix_seconds(NOW_SECS)))
        .ids(Arc::new(FixedIds::new([TRACE])))
}

/// The request whose body is BODY0.
pub(crate) fn body0_request() -> IdentifyAuthRequest {
    IdentifyAuthRequest::new(
        "473_32_86000698",
        PlayerToken::new("a1472263c7b97095f095cb62477c-4420-8e2e-8a156axxxxxx"),
        "https://credit-pre.aatest.online/payment/callback",
        1_732_521_424_191,
        "192.168.1.166",
    )
}

/// An inbound request on `route` signed with `key`, with extra headers.
pub(crate) fn signed_request(
    route: &str,
    key: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> http::Request<Bytes> {
    let mut b = http::Request::builder()
        .method("POST")
        .uri(route)
        .header("content-type", "application/json")
        .header("signature", sign(&key.into(), route, body.as_bytes()));
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    b.body(Bytes::from(body.to_owned())).expect("request")
}

/// The inbound verifier for `route` under the official key.
pub(crate) fn verifier(route: &str) -> InboundVerifier {
    InboundVerifier::new(route, KeyRing::new(KEY.into())).expect("verifier")
}

/// The platform's session table, counting lookups.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    players: HashMap<String, VerifiedPlayer>,
    /// Answer every lookup with a store outage.
    down: bool,
    /// Lookups so far.
    calls: AtomicUsize,
}

impl Sessions {
    /// A table with one session.
    pub(crate) fn with(token: &str, player: VerifiedPlayer) -> Self {
        let mut s = Self::default();
        s.players.insert(token.to_owned(), player);
        s
    }

    /// A table whose store is down.
    pub(crate) fn down() -> Self {
        Self {
            down: true,
            ..Self::default()
        }
    }

    /// Lookups so far.
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl TokenVerifier for Sessions {
    fn provider(&self) -> &str {
        "operator"
    }

    async fn verify(&self, request: &VerifyRequest) -> Result<VerifiedPlayer, AuthError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down {
            return Err(AuthError::Store("session store down".into()));
        }
        self.players
            .iter()
            .find(|(t, _)| request.token.ct_eq(t))
            .map(|(_, p)| p.clone())
            .ok_or_else(|| AuthError::rejected(401, "unknown session"))
    }
}

/// A credit-limit source answering one card from the player's balance.
#[derive(Debug)]
pub(crate) struct BalanceCards;

#[async_trait]
impl CreditLimitSource for BalanceCards {
    async fn credit_limit(
        &self,
        player: &VerifiedPlayer,
        query: &CreditLimitQuery,
    ) -> Result<CreditLimitAnswer, AuthError> {
        let balance = player
            .balance
            .clone()
            .ok_or_else(|| AuthError::Unavailable("no balance".into()))?;
        let card = AvailableCard::new("default", balance, query.currency.clone())
            .map_err(AuthError::from)?
            .with_icon("https://cdn.example/card.png")
            .with_input("1");
        Ok(CreditLimitAnswer::new("default").with_card(card))
    }
}

/// A generous upper bound for deadline checks on real sockets.
pub(crate) const GENEROUS: Duration = Duration::from_secs(5);
