//! Hive answers (server OAuth token, v2 verification with the player's access token and with
//! the server token, the token-validated IdP list, v1 verification, v2 and v1 IdP list), decoded
//! by the public client through its primary → fallback routing.
//!
//! Input: `token_status \0 token_body \0 api_status \0 api_body`. A stand-in Hive answers
//! `/oauth/token` with the first pair and every API call, on the primary and the fallback host
//! alike, with the second (statuses are ASCII digits; anything else is 200).
//!
//! Properties, besides never panicking:
//! * fail closed: a verification or IdP list succeeds only for HTTP 200 with `result_code` 0,
//!   and a call with the server token only with one from an HTTP 200 `result_code` 0 token
//!   answer;
//! * a verified token, and every listed account of the token-validated IdP list, is for the
//!   player asked about;
//! * error messages carry no CR, LF or TAB;
//! * [`jwt_expiry`] reads any token text, including the answers themselves, without panicking.

#![no_main]

use gameauth_hive as hive;
use std::sync::Arc;

use bytes::Bytes;
use gameauth_core::{HttpTransport, ManualClock, PlayerToken, TransportError};
use gameauth_fuzz::{block_on, fields, json_code_is, response, status, text};
use gameauth_hive::oauth::{TOKEN_PATH, jwt_expiry};
use gameauth_hive::{IncludeField, PlayerIdpsParams, VerifyAccessToken, VerifyParams};
use http::StatusCode;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

const PLAYER_ID: i64 = 21;

fn clean<T>(outcome: &Result<T, hive::Error>) -> bool {
    outcome
        .as_ref()
        .err()
        .is_none_or(|e| !e.to_string().contains(['\r', '\n', '\t']))
}

fuzz_target!(|data: &[u8]| {
    let [token_status, token_body, api_status, api_body] = fields::<4>(data);
    let token_status = status(token_status);
    let token_body = Bytes::copy_from_slice(token_body.unwrap_or_default());
    let api_status = status(api_status);
    let api_body = Bytes::copy_from_slice(api_body.unwrap_or_default());

    let _ = jwt_expiry(&text(&token_body));
    let _ = jwt_expiry(&text(&api_body));

    let (tb, ab) = (token_body.clone(), api_body.clone());
    let hive = move |request: http::Request<Bytes>| {
        let r = if request.uri().path() == TOKEN_PATH {
            response(token_status, &tb)
        } else {
            response(api_status, &ab)
        };
        async move { Ok::<_, TransportError>(r) }
    };
    let transport = Arc::new(hive) as Arc<dyn HttpTransport>;
    let builder = || {
        hive::Client::builder()
            .primary_url("https://primary.hive.example")
            .fallback_url("https://fallback.hive.example")
            .appid("com.com2us.example.normal.freefull.google.global.android.common")
            .client_credentials("project_abc123", SecretString::from("dummy-client-secret"))
            .certification_key(SecretString::from("dummy-certification-key"))
            .transport(transport.clone())
            .clock(Arc::new(ManualClock::at_unix_seconds(1_711_954_264)))
    };
    let client = builder().build().expect("a valid client");
    let server_token_client = builder()
        .verify_access_token(VerifyAccessToken::Server)
        .build()
        .expect("a valid client");

    let token_ok = token_status == StatusCode::OK && json_code_is(&token_body, "result_code", 0);
    let api_ok = api_status == StatusCode::OK && json_code_is(&api_body, "result_code", 0);
    let params = VerifyParams::new(
        PlayerToken::new("player-login-token"),
        PLAYER_ID,
        "255764404509548",
    )
    .include(IncludeField::IsBlocked);

    let v2 = block_on(
        client.verify_token(
            &params
                .clone()
                .with_access_token(PlayerToken::new("player-access-token")),
        ),
    );
    if let Ok(v) = &v2 {
        assert!(
            api_ok,
            "v2 verification succeeded without a successful answer"
        );
        assert_eq!(v.player_id, PLAYER_ID);
    }
    assert!(clean(&v2));
    let v2_server = block_on(server_token_client.verify_token(&params));
    if let Ok(v) = &v2_server {
        assert!(
            token_ok && api_ok,
            "v2 verification with the server token succeeded without two successful answers"
        );
        assert_eq!(v.player_id, PLAYER_ID);
    }
    assert!(clean(&v2_server));
    let idps = block_on(client.player_idps(&PlayerIdpsParams::new(
        PlayerToken::new("player-login-token"),
        PLAYER_ID,
        "255764404509548",
    )));
    if let Ok(list) = &idps {
        assert!(
            api_ok,
            "the token-validated IdP list succeeded without a successful answer"
        );
        assert_eq!(list.player_id, PLAYER_ID);
        assert!(list.accounts.iter().all(|a| a.player_id == PLAYER_ID));
    }
    assert!(clean(&idps));
    let idp = block_on(client.idp_list(PLAYER_ID));
    if idp.is_ok() {
        assert!(
            token_ok && api_ok,
            "v2 IdP list succeeded without two successful answers"
        );
    }
    assert!(clean(&idp));
    let v1_params = VerifyParams::new(
        PlayerToken::new("player-login-token"),
        PLAYER_ID,
        "255764404509548",
    );
    let v1 = block_on(client.verify_token_v1(&v1_params));
    if let Ok(v) = &v1 {
        assert!(
            api_ok,
            "v1 verification succeeded without a successful answer"
        );
        assert_eq!(v.player_id, PLAYER_ID);
    }
    assert!(clean(&v1));
    let idp_v1 = block_on(client.idp_list_v1(PLAYER_ID));
    if idp_v1.is_ok() {
        assert!(api_ok, "v1 IdP list succeeded without a successful answer");
    }
    assert!(clean(&idp_v1));
});
