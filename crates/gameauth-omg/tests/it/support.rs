//! Shared test helpers: the documented dummy key, frozen time and ids, and an in-memory operator
//! session store.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gameauth_core::{
    AuthError, FixedIds, ManualClock, TokenVerifier, VerifiedPlayer, VerifyRequest, async_trait,
};
use gameauth_omg::{CallbackVerifier, Client, ClientBuilder, VerifySessionResponder};
use secrecy::SecretString;

/// OMG's documented example key (vectors O1–O7).
pub(crate) const KEY: &str = "39a6581c31ef3203a22edb2daa2ab6d1";
/// The frozen clock of vector O4.
pub(crate) const NOW: i64 = 1_711_954_264;
/// The trace id of vector O4.
pub(crate) const TRACE: &str = "k3n9x0q2m7ab";

pub(crate) fn key() -> SecretString {
    SecretString::from(KEY)
}

/// A client for `base_url` with the fixture clock, trace id and key, and short timeouts.
pub(crate) fn client_builder(base_url: &str) -> ClientBuilder {
    Client::builder()
        .base_url(base_url)
        .app_id("10013")
        .key(key())
        .clock(Arc::new(ManualClock::at_unix_seconds(NOW)))
        .ids(Arc::new(FixedIds::new([TRACE])))
        .attempt_timeout(Duration::from_secs(2))
        .deadline(Duration::from_secs(8))
}

pub(crate) fn client(base_url: &str) -> Client {
    client_builder(base_url).build().expect("client")
}

/// `sign` of a request with the fixture key.
pub(crate) fn sign(query: &str, body: &str) -> String {
    gameauth_omg::sign::sign(query, body.as_bytes(), &key())
}

/// What the operator's session store does.
#[derive(Clone)]
pub(crate) enum Behaviour {
    /// Look the token up among the sessions.
    Lookup,
    /// Fail with this error whatever the token.
    Fail(AuthError),
}

/// The operator's own session store, in memory, counting calls and keeping the last request.
pub(crate) struct Sessions {
    players: HashMap<String, VerifiedPlayer>,
    behaviour: Behaviour,
    pub(crate) calls: AtomicUsize,
    pub(crate) last: std::sync::Mutex<Option<VerifyRequest>>,
}

impl Sessions {
    pub(crate) fn new(behaviour: Behaviour) -> Self {
        Self {
            players: HashMap::new(),
            behaviour,
            calls: AtomicUsize::new(0),
            last: std::sync::Mutex::new(None),
        }
    }

    pub(crate) fn with(mut self, token: &str, player: VerifiedPlayer) -> Self {
        self.players.insert(token.to_owned(), player);
        self
    }

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
        *self.last.lock().expect("lock") = Some(request.clone());
        match &self.behaviour {
            Behaviour::Fail(e) => Err(e.clone()),
            Behaviour::Lookup => self
                .players
                .iter()
                .find(|(t, _)| request.token.ct_eq(t))
                .map(|(_, p)| p.clone())
                .ok_or_else(|| AuthError::rejected(404, "unknown session")),
        }
    }
}

/// The player of the documented `verify_session` answer, behind vector O5's session token.
pub(crate) fn bill_sessions(behaviour: Behaviour) -> Arc<Sessions> {
    Arc::new(
        Sessions::new(behaviour).with(
            O5_SESSION,
            VerifiedPlayer::new("10003803")
                .with_display_name("bill")
                .with_balance("42766.25"),
        ),
    )
}

pub(crate) const O5_QUERY: &str = "trace_id=omgtrace000001";
pub(crate) const O5_SESSION: &str = "50f15a92-ee8d-11ee-9a61-00ff3fae08f7";
pub(crate) const O5_BODY: &str = r#"{"app_id":"10013","timestamp":1711954264,"operator_player_session":"50f15a92-ee8d-11ee-9a61-00ff3fae08f7","ip":"127.0.0.1","custom_parameter":"","game_id":1}"#;
pub(crate) const O5_SIGN: &str = "ce6993bb75920fd40b14125702a87501";

/// A callback verifier with the fixture key and a clock that the test can move.
pub(crate) fn callback_verifier(clock: &ManualClock) -> CallbackVerifier {
    CallbackVerifier::builder()
        .key(key())
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("verifier")
}

pub(crate) fn responder(sessions: Arc<Sessions>) -> VerifySessionResponder {
    VerifySessionResponder::new(
        callback_verifier(&ManualClock::at_unix_seconds(NOW)),
        sessions,
    )
}
