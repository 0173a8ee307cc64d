//! End to end over a real socket, driven by the independent `oauth2` client crate.

use std::sync::Arc;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, RedirectUrl, RequestTokenError, TokenResponse, TokenUrl,
};

use crate::{CLIENT, Harness, PLAYER, REDIRECT, SECRET};

/// An `oauth2` client as Vegas Lounge would configure it (credentials in the form body).
type VlClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Serves `h`'s router on a loopback port; returns its base URL, a client for it and an HTTP
/// client that follows no redirects.
async fn serve_with_a_client(h: &Harness) -> (String, VlClient, reqwest::Client) {
    let app = gameauth_vegaslounge::router(Arc::clone(&h.server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let limits = h.server.config().http;
    tokio::spawn(gameauth_vegaslounge::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    let client = BasicClient::new(ClientId::new(CLIENT.to_owned()))
        .set_client_secret(ClientSecret::new(SECRET.to_owned()))
        .set_auth_uri(AuthUrl::new(format!("{base}/oauth2.0/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(format!("{base}/oauth2.0/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap())
        .set_auth_type(AuthType::RequestBody);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (base, client, http)
}

#[tokio::test]
async fn oauth2_client_completes_code_refresh_and_account_and_code_replay_is_refused() {
    let h = Harness::new();
    let (base, client, http) = serve_with_a_client(&h).await;

    // The player's browser, logged in at the operator, follows the authorize URL.
    let (url, csrf) = client.authorize_url(CsrfToken::new_random).url();
    let response = http
        .get(url)
        .header("cookie", format!("session={PLAYER}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let params: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(params["state"], *csrf.secret(), "state echoed byte-exact");
    let code = params["code"].clone();

    // Vegas Lounge's server exchanges the code (credentials in the form body).
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        tokens.expires_in(),
        Some(std::time::Duration::from_secs(3600))
    );
    let refresh = tokens.refresh_token().unwrap().clone();

    // Refresh: a new pair, and the old refresh token is rotated.
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret()
    );

    // Account with the new access token.
    let account = http
        .get(format!("{base}/account?client_id={CLIENT}"))
        .bearer_auth(refreshed.access_token().secret())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let account: serde_json::Value = serde_json::from_slice(&account).unwrap();
    assert_eq!(account["playerId"], PLAYER);
    assert_eq!(account["balance"].to_string(), "405.64");
    let old = http
        .get(format!("{base}/account"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401, "the rotated access token is dead");

    // Replaying the code fails, and revokes the grant.
    let replay = client
        .exchange_code(AuthorizationCode::new(code))
        .request_async(&http)
        .await;
    match replay {
        // Vegas Lounge's body `{"errorCode":1001,"error":"…"}` reads as an extension error.
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(e.error().to_string(), "Authorization code is not valid.");
        }
        other => panic!("a replayed code must be refused: {other:?}"),
    }
    let revoked = http
        .get(format!("{base}/account"))
        .bearer_auth(refreshed.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(
        revoked.status(),
        401,
        "a code replay revokes every token of the grant"
    );
}

#[tokio::test]
async fn oauth2_client_with_pkce_s256_completes_and_a_wrong_verifier_is_refused() {
    let h = Harness::new();
    let (_, client, http) = serve_with_a_client(&h).await;
    let code_for = |challenge: PkceCodeChallenge| {
        let (url, _) = client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .url();
        let http = http.clone();
        async move {
            let response = http
                .get(url)
                .header("cookie", format!("session={PLAYER}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 302);
            let location =
                url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
            location
                .query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
                .expect("a code")
        }
    };

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let code = code_for(challenge).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert!(!tokens.access_token().secret().is_empty());

    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let code = code_for(challenge).await;
    let (_, someone_elses) = PkceCodeChallenge::new_random_sha256();
    let refused = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(someone_elses)
        .request_async(&http)
        .await;
    assert!(
        matches!(refused, Err(RequestTokenError::ServerResponse(_))),
        "a wrong verifier must be refused: {refused:?}"
    );
}
