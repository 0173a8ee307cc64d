//! Vegas Lounge redirect-URI matching, checked against plain byte equality.
//!
//! Input: the raw query of `GET /oauth2.0/authorize`. The registered client `VL001` has three
//! redirect URIs; a player is always logged in.
//!
//! Properties, besides never panicking:
//! * [`RegisteredClient::redirect_uri_matches`] is exactly byte equality with a registered URI,
//!   for the decoded `redirect_uri` and for the raw input alike;
//! * the authorize endpoint redirects only when `client_id` is `VL001` and the decoded
//!   `redirect_uri` is byte-equal to a registered URI, and then only to that URI with `code` or
//!   `error` appended (and `state` echoed byte for byte); otherwise it shows an error page.

#![no_main]

use std::sync::{Arc, OnceLock};

use gameauth_core::ManualClock;
use gameauth_fuzz::{block_on, text};
use gameauth_vegaslounge::token::ClientSecret;
use gameauth_vegaslounge::{
    Account, AccountProvider, AuthorizeOutcome, Balance, EndedSession, HookError, OAuthServer,
    PlayerSessions, RegisteredClient, StaticClients, StoredSecret, async_trait,
};
use http::HeaderMap;
use libfuzzer_sys::fuzz_target;

const CLIENT_ID: &str = "VL001";
const REGISTERED: [&str; 3] = [
    "https://fl.vegaslounge.live",
    "https://fl.vegaslounge.live/callback?lang=en",
    "http://127.0.0.1:8080/cb",
];

struct Sessions;

#[async_trait]
impl PlayerSessions for Sessions {
    async fn current_player(&self, _: &HeaderMap) -> Result<Option<String>, HookError> {
        Ok(Some("a3u".into()))
    }

    async fn end_session(&self, _: &HeaderMap) -> Result<EndedSession, HookError> {
        Ok(EndedSession::new(Some("a3u".into())))
    }
}

struct Directory;

#[async_trait]
impl AccountProvider for Directory {
    async fn account(&self, player_id: &str) -> Result<Option<Account>, HookError> {
        let balance = Balance::new("405.64").map_err(|e| HookError::new(e.to_string()))?;
        Ok(Some(Account::new(
            player_id,
            "highroller335",
            "USD",
            balance,
            "en_EN",
            "REAL",
        )))
    }
}

fn client() -> RegisteredClient {
    RegisteredClient::new(
        CLIENT_ID,
        StoredSecret::Plain(ClientSecret::new("dummy-vl-client-secret")),
        REGISTERED,
    )
    .expect("a valid client")
}

fn server() -> &'static OAuthServer {
    static SERVER: OnceLock<OAuthServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        OAuthServer::builder()
            .clients(Arc::new(
                StaticClients::new([client()]).expect("valid clients"),
            ))
            .sessions(Arc::new(Sessions))
            .accounts(Arc::new(Directory))
            .clock(Arc::new(ManualClock::at_unix_seconds(1_711_954_264)))
            .build()
            .expect("a valid server")
    })
}

/// The non-empty values of `name` as a plain form decoder reads them.
fn values(raw: &[u8], name: &str) -> Vec<String> {
    url::form_urlencoded::parse(raw)
        .filter(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.into_owned())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let raw_query = text(data);
    let registered = client();
    assert_eq!(
        registered.redirect_uri_matches(&raw_query),
        REGISTERED.contains(&raw_query.as_str())
    );

    let redirect_uris = values(raw_query.as_bytes(), "redirect_uri");
    for uri in &redirect_uris {
        assert_eq!(
            registered.redirect_uri_matches(uri),
            REGISTERED.iter().any(|r| r.as_bytes() == uri.as_bytes())
        );
    }

    let outcome = block_on(server().authorize(&raw_query, &HeaderMap::new()));
    let AuthorizeOutcome::Redirect(location) = &outcome else {
        assert!(
            matches!(outcome, AuthorizeOutcome::ErrorPage(_)),
            "unexpected outcome {outcome:?}"
        );
        return;
    };
    assert_eq!(values(raw_query.as_bytes(), "client_id"), [CLIENT_ID]);
    let [uri] = redirect_uris.as_slice() else {
        panic!(
            "redirected with {} redirect_uri values",
            redirect_uris.len()
        );
    };
    let target = REGISTERED
        .iter()
        .find(|r| r.as_bytes() == uri.as_bytes())
        .expect("redirected to an unregistered URI");
    let rest = location
        .strip_prefix(target)
        .expect("the redirect starts with the registered URI");
    let appended = rest
        .strip_prefix("/?")
        .or_else(|| rest.strip_prefix('?'))
        .or_else(|| rest.strip_prefix('&'))
        .expect("parameters appended to the registered URI");
    let answer: Vec<(String, String)> = url::form_urlencoded::parse(appended.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert!(
        answer
            .first()
            .is_some_and(|(k, v)| (k == "code" || k == "error") && !v.is_empty()),
        "no code or error in {location:?}"
    );
    let sent_state = values(raw_query.as_bytes(), "state");
    let echoed: Vec<&str> = answer
        .iter()
        .filter(|(k, _)| k == "state")
        .map(|(_, v)| v.as_str())
        .collect();
    if let [state] = sent_state.as_slice()
        && state.len() <= gameauth_vegaslounge::server::MAX_STATE_LEN
    {
        assert_eq!(echoed, [state.as_str()], "state not echoed byte for byte");
    }
});
