//! Hive recorded end to end: server-token and player-token verification, the IdP lists, the
//! fallback host, and the grouping of token requests with the calls they serve; a stand-in Hive
//! (and fallback host), the recording proxies in-process, the `gameauth-hive` client driven
//! through them, then the written fixture replayed and checked.

use gameauth_hive as hive;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use gameauth_core::secrecy::SecretString;
use gameauth_core::{HttpTransport, PlayerToken, ReqwestTransport};
use serde_json::{Value, json};
use wiremock::{Respond, ResponseTemplate};

use super::Hive;
use crate::providers::recording::{Recording, header, interactions, json_answer, stand_in};

const HIVE_REAL_CLIENT_ID: &str = "project_live_4471";
const HIVE_REAL_CLIENT_SECRET: &str = "cs_live_Qm8Zr2Lp5Xw1";
const HIVE_REAL_PLAYER_TOKEN: &str = "hivePlayerTok_9zY8xW7v";

fn real_server_token(n: usize) -> String {
    format!("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZWFsIn0.c2lnbmF0dXJl{n}")
}

/// Answers like Hive's docs; refuses the first server token once, as an expired one would be.
/// With `oauth_503s`, the first token requests fail with a 503 first.
#[derive(Default)]
struct HiveStandIn {
    issued: AtomicUsize,
    refused_once: AtomicUsize,
    oauth_503s: AtomicUsize,
}

impl Respond for HiveStandIn {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if req.url.path() == "/oauth/token" {
            if self
                .oauth_503s
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return ResponseTemplate::new(503);
            }
            if body["client_id"] != HIVE_REAL_CLIENT_ID
                || body["client_secret"] != HIVE_REAL_CLIENT_SECRET
            {
                return json_answer(
                    json!({"result_code": 4001, "result_msg": "client authentication failed"}),
                );
            }
            let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
            return json_answer(json!({"result_code": 0, "result_msg": "SUCCESS",
                "data": {"access_token": real_server_token(n)}}));
        }
        let current = real_server_token(self.issued.load(Ordering::SeqCst));
        let valid = header(req, "x-access-token") == current;
        if !valid || self.refused_once.fetch_add(1, Ordering::SeqCst) == 0 {
            let refused = json!({"result_code": 2499, "result_msg": "JWT verification failed"});
            return json_answer(
                json!({"result_code": 2499, "result_msg": "JWT verification failed",
                "token_validation": refused}),
            );
        }
        let ok = json!({"result_code": 0, "result_msg": "SUCCESS"});
        match req.url.path() {
            "/v2/game/token/get-token"
                if header(req, "authorization") == HIVE_REAL_PLAYER_TOKEN =>
            {
                json_answer(json!({"result_code": 0, "result_msg": "SUCCESS",
                    "token_validation": ok,
                    "data": {"is_blocked": false, "is_device_registered": 1,
                             "join_timestamp": "1711954000", "china_pi_no": null}}))
            }
            "/v2/game/token/get-token" => json_answer(json!({"result_code": 7000,
                "result_msg": "invalid token", "token_validation": ok})),
            "/v2/game/player/get-idp" => json_answer(json!({"result_code": 0,
            "result_msg": "SUCCESS", "token_validation": ok,
            "data": [
                {"seq": 10000000067_i64, "player_id": body["player_id"], "idp_user_id": "fb-77120934",
                 "idp_index": 2, "idp_id": "FACEBOOK"},
                {"seq": "10000000068", "player_id": body["player_id"], "idp_user_id": 10000000062_i64,
                 "idp_index": "1", "idp_id": "HIVE"}
            ]})),
            _ => ResponseTemplate::new(404),
        }
    }
}

/// The real Hive credentials, as the recorder reads them from the environment.
const HIVE_ENV: [(&str, &str); 2] = [
    ("HIVE_CLIENT_ID", HIVE_REAL_CLIENT_ID),
    ("HIVE_CLIENT_SECRET", HIVE_REAL_CLIENT_SECRET),
];

/// A v2 Hive client with the real credentials on `primary` and, when given, `fallback`, that
/// verifies with the server token.
fn hive_client(primary: String, fallback: Option<String>) -> gameauth_hive::Client {
    let mut builder = gameauth_hive::Client::builder()
        .primary_url(primary)
        .appid("com.example.game.android")
        .client_credentials(
            HIVE_REAL_CLIENT_ID,
            SecretString::from(HIVE_REAL_CLIENT_SECRET),
        )
        .verify_access_token(gameauth_hive::VerifyAccessToken::Server);
    if let Some(url) = fallback {
        builder = builder.fallback_url(url);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn hive_recording_replays_and_holds_no_real_value() {
    use gameauth_hive::{IncludeField, VerifyParams};
    let upstream = stand_in(HiveStandIn::default()).await;
    let rec = Recording::start(&Hive, &HIVE_ENV, &["did", "idp_user_id"], &upstream.uri()).await;
    let client = hive_client(rec.url(), None);
    let params = |token: &str| {
        VerifyParams::new(PlayerToken::new(token), 21, "255764404509548")
            .include(IncludeField::parse("is_blocked").unwrap())
            .include(IncludeField::parse("join_timestamp").unwrap())
    };
    // The stand-in refuses the first server token: the client refreshes it and retries.
    let verified = client
        .verify_token(&params(HIVE_REAL_PLAYER_TOKEN))
        .await
        .unwrap();
    assert_eq!(verified.player_id, 21);
    let rejected = client.verify_token(&params("hiveWrongTok_0000")).await;
    assert!(matches!(
        rejected,
        Err(gameauth_hive::Error::TokenRejected { .. })
    ));
    let list = client.idp_list(21).await.unwrap();
    assert_eq!(list.accounts.len(), 2);

    let fixture = rec.fixture();
    assert_eq!(interactions(&fixture), 6);
    let names: Vec<&str> = fixture["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "oauth_token",
            "verify",
            "oauth_token_2",
            "verify_2",
            "verify_3",
            "idp_list"
        ]
    );
    assert_eq!(fixture["steps"].as_array().unwrap().len(), 3);
    assert_eq!(
        fixture["keys"],
        json!({"client_id": "dummy-client-id", "client_secret": "dummy-client-secret"})
    );
    assert_eq!(
        fixture["interactions"][3]["request"]["headers"]["x-access-token"],
        "dummy-access-token-2"
    );
    assert_eq!(
        fixture["steps"][0]["expect"],
        json!({"ok": {"player_id": 21, "served_by": "primary",
            "fields": {"is_blocked": false, "is_device_registered": true,
                       "join_timestamp": 1711954000}}})
    );
    rec.assert_replays_clean(&[
        HIVE_REAL_CLIENT_ID,
        HIVE_REAL_CLIENT_SECRET,
        HIVE_REAL_PLAYER_TOKEN,
        "hiveWrongTok_0000",
        &real_server_token(1),
        &real_server_token(2),
        "255764404509548",
        "fb-77120934",
    ])
    .await;
}

/// Hive's primary host with its calls broken (its token endpoint works): verification answers
/// 503 and the IdP list a 200 HTML page.
struct PrimaryBroken(Arc<HiveStandIn>);

impl Respond for PrimaryBroken {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        match req.url.path() {
            "/oauth/token" => self.0.respond(req),
            "/v2/game/player/get-idp" => ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html>maintenance</html>"),
            _ => ResponseTemplate::new(503),
        }
    }
}

/// Hive's fallback host, sharing the primary's server tokens; player 22's IdP list answers 504.
struct FallbackHost(Arc<HiveStandIn>);

impl Respond for FallbackHost {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if req.url.path() == "/v2/game/player/get-idp" && body["player_id"] == 22 {
            return ResponseTemplate::new(504);
        }
        self.0.respond(req)
    }
}

#[tokio::test]
async fn hive_fallback_calls_are_recorded_through_the_second_proxy_and_replay() {
    use gameauth_hive::{ServedBy, VerifyParams};
    // No first refusal of the server token: this recording is about the hosts.
    let hive = Arc::new(HiveStandIn {
        refused_once: AtomicUsize::new(1),
        ..HiveStandIn::default()
    });
    let primary = stand_in(PrimaryBroken(hive.clone())).await;
    let fallback = stand_in(FallbackHost(hive)).await;
    let rec = Recording::start_with_fallback(
        &Hive,
        &HIVE_ENV,
        &["did", "idp_user_id"],
        &primary.uri(),
        Some(&fallback.uri()),
    )
    .await;
    let client = hive_client(rec.url(), Some(rec.fallback_url()));
    let params = |token: &str| VerifyParams::new(PlayerToken::new(token), 21, "255764404509548");
    let verified = client
        .verify_token(&params(HIVE_REAL_PLAYER_TOKEN))
        .await
        .unwrap();
    assert_eq!(verified.served_by, ServedBy::Fallback);
    let rejected = client.verify_token(&params("hiveWrongTok_0000")).await;
    assert!(
        matches!(rejected, Err(hive::Error::TokenRejected { .. })),
        "{rejected:?}"
    );
    let list = client.idp_list(21).await.unwrap();
    assert_eq!(list.served_by, ServedBy::Fallback);
    let down = client.idp_list(22).await;
    assert!(matches!(down, Err(hive::Error::Unavailable(_))), "{down:?}");

    let fixture = rec.fixture();
    let hosts: Vec<(&str, &str)> = fixture["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["host"].as_str().unwrap()))
        .collect();
    assert_eq!(
        hosts,
        [
            ("oauth_token", "primary"),
            ("verify", "primary"),
            ("verify_2", "fallback"),
            ("verify_3", "primary"),
            ("verify_4", "fallback"),
            ("idp_list", "primary"),
            ("idp_list_2", "fallback"),
            ("idp_list_3", "primary"),
            ("idp_list_4", "fallback"),
        ]
    );
    let expects: Vec<&Value> = fixture["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["expect"])
        .collect();
    assert_eq!(expects[0]["ok"]["served_by"], "fallback");
    assert_eq!(expects[1]["error"]["served_by"], "fallback");
    assert_eq!(expects[1]["error"]["code"], 7000);
    assert_eq!(expects[2]["ok"]["served_by"], "fallback");
    assert_eq!(
        *expects[3],
        json!({"error": {"kind": "unavailable", "primary": "not_json", "fallback": "status 504"}})
    );
    assert!(
        fixture["source"]
            .as_str()
            .is_some_and(|s| s.contains("stand-in")),
        "{fixture}"
    );
    rec.assert_replays_clean(&[
        HIVE_REAL_CLIENT_ID,
        HIVE_REAL_CLIENT_SECRET,
        HIVE_REAL_PLAYER_TOKEN,
        "hiveWrongTok_0000",
        &real_server_token(1),
        "255764404509548",
        "fb-77120934",
    ])
    .await;
}

#[tokio::test]
async fn a_fallback_call_without_a_primary_attempt_is_left_out() {
    use gameauth_hive::VerifyParams;
    let hive = Arc::new(HiveStandIn {
        refused_once: AtomicUsize::new(1),
        ..HiveStandIn::default()
    });
    let primary = stand_in(HiveStandIn {
        refused_once: AtomicUsize::new(1),
        ..HiveStandIn::default()
    })
    .await;
    let fallback = stand_in(FallbackHost(hive)).await;
    let rec = Recording::start_with_fallback(
        &Hive,
        &HIVE_ENV,
        &["did"],
        &primary.uri(),
        Some(&fallback.uri()),
    )
    .await;
    // A client that sends a call straight to the fallback proxy (as one whose breaker is open
    // would): nothing before it on the primary explains it, so it cannot replay.
    let client = hive_client(rec.fallback_url(), None);
    let params = VerifyParams::new(PlayerToken::new(HIVE_REAL_PLAYER_TOKEN), 21, "1");
    // The answer is forwarded all the same.
    assert!(client.verify_token(&params).await.is_ok());
    assert!(
        !rec.file.exists(),
        "nothing replayable was recorded, so no fixture is written"
    );
}

#[tokio::test]
async fn a_server_token_request_retried_after_a_503_replays_with_its_call() {
    use gameauth_hive::VerifyParams;
    let upstream = stand_in(HiveStandIn {
        oauth_503s: AtomicUsize::new(1),
        // The first verification answers normally.
        refused_once: AtomicUsize::new(1),
        ..HiveStandIn::default()
    })
    .await;
    let rec = Recording::start(&Hive, &[], &[], &upstream.uri()).await;
    hive_client(rec.url(), None)
        .verify_token(&VerifyParams::new(
            PlayerToken::new(HIVE_REAL_PLAYER_TOKEN),
            42,
            "dev-1",
        ))
        .await
        .unwrap();
    let fixture = rec.fixture();
    let statuses: Vec<&Value> = fixture["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["response"]["status"])
        .collect();
    assert_eq!(statuses, [503, 200, 200]);
    // Found by name although not given in the environment.
    assert_eq!(fixture["keys"]["client_secret"], "dummy-client-secret-1");
    rec.assert_replays_clean(&[
        HIVE_REAL_CLIENT_ID,
        HIVE_REAL_CLIENT_SECRET,
        HIVE_REAL_PLAYER_TOKEN,
        &real_server_token(1),
    ])
    .await;
}

#[tokio::test]
async fn a_server_token_waits_for_the_call_it_serves() {
    let upstream = stand_in(HiveStandIn::default()).await;
    let rec = Recording::start(&Hive, &[], &[], &upstream.uri()).await;
    let transport = ReqwestTransport::new().unwrap();
    let body = json!({"appid": "a", "grant_type": "client_credentials",
        "client_id": HIVE_REAL_CLIENT_ID, "client_secret": HIVE_REAL_CLIENT_SECRET});
    let answer = transport
        .send(
            http::Request::post(format!("{}/oauth/token", rec.url()))
                .header("content-type", "application/json")
                .body(Bytes::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        !rec.file.exists(),
        "no step can replay a lone token request"
    );
}

const HIVE_REAL_ACCESS_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwbGF5ZXIifQ.cGxheWVy";

/// Hive for the calls the player's own credentials authorise: v2 verification with the player's
/// access token, and the token-validated IdP list.
struct PlayerHive;

impl Respond for PlayerHive {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let token_ok = header(req, "authorization") == HIVE_REAL_PLAYER_TOKEN;
        match req.url.path() {
            "/v2/game/token/get-token"
                if header(req, "x-access-token") != HIVE_REAL_ACCESS_TOKEN =>
            {
                let refused = json!({"result_code": 2499, "result_msg": "JWT verification failed"});
                json_answer(
                    json!({"result_code": 2499, "result_msg": "JWT verification failed",
                    "token_validation": refused}),
                )
            }
            "/v2/game/token/get-token" if token_ok => json_answer(json!({"result_code": 0,
                "result_msg": "SUCCESS",
                "token_validation": {"result_code": 0, "result_msg": "SUCCESS"}})),
            "/server/player/get-idpuserid" if token_ok => json_answer(json!({"result_code": 0,
            "result_msg": "SUCCESS", "data": {"list": [
                {"player_id": body["player_id"].to_string(), "idp_user_id": "fb-77120934", "idp_index": "2"},
                {"player_id": body["player_id"], "idp_user_id": 10000000062_i64, "idp_index": 1}
            ]}})),
            "/server/player/get-idpuserid" => json_answer(json!({"result_code": 7000,
                "result_msg": "verification failed"})),
            _ => ResponseTemplate::new(404),
        }
    }
}

#[tokio::test]
async fn the_players_access_token_and_the_token_validated_idp_list_replay() {
    use gameauth_hive::{PlayerIdpsParams, VerifyParams};
    let upstream = stand_in(PlayerHive).await;
    let rec = Recording::start(&Hive, &[], &["did", "idp_user_id"], &upstream.uri()).await;
    // The default client: no server credentials at all.
    let client = gameauth_hive::Client::builder()
        .primary_url(rec.url())
        .appid("com.example.game.android")
        .build()
        .unwrap();
    let params = |access: &str| {
        VerifyParams::new(
            PlayerToken::new(HIVE_REAL_PLAYER_TOKEN),
            21,
            "255764404509548",
        )
        .with_access_token(PlayerToken::new(access))
    };
    assert_eq!(
        client
            .verify_token(&params(HIVE_REAL_ACCESS_TOKEN))
            .await
            .unwrap()
            .player_id,
        21
    );
    let refused = client
        .verify_token(&params("eyJexpired.access.token0"))
        .await;
    assert!(
        matches!(
            refused,
            Err(hive::Error::PlayerAccessTokenRejected { code: 2499, .. })
        ),
        "{refused:?}"
    );
    let idps = |token: &str| PlayerIdpsParams::new(PlayerToken::new(token), 21, "255764404509548");
    let list = client
        .player_idps(&idps(HIVE_REAL_PLAYER_TOKEN))
        .await
        .unwrap();
    assert_eq!(list.accounts.len(), 2);
    let mismatch = client.player_idps(&idps("hiveWrongTok_0000")).await;
    assert!(
        matches!(mismatch, Err(hive::Error::PlayerIdpsRejected { .. })),
        "{mismatch:?}"
    );

    let fixture = rec.fixture();
    assert_eq!(interactions(&fixture), 4, "no server token, no repetition");
    let calls: Vec<&str> = fixture["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["call"].as_str().unwrap())
        .collect();
    assert_eq!(calls, ["verify", "verify", "player_idps", "player_idps"]);
    assert_eq!(fixture["keys"], json!({}));
    let access = fixture["steps"][0]["input"]["access_token"]
        .as_str()
        .unwrap();
    assert_eq!(
        fixture["interactions"][0]["request"]["headers"]["x-access-token"],
        access
    );
    assert_eq!(
        fixture["steps"][1]["expect"],
        json!({"error": {"kind": "player_access_token_rejected", "code": 2499, "known": true,
            "message": "JWT verification failed", "served_by": "primary"}})
    );
    assert_eq!(fixture["steps"][2]["expect"]["ok"]["player_id"], 21);
    assert_eq!(
        fixture["steps"][2]["expect"]["ok"]["accounts"][1]["idp_index"],
        1
    );
    assert_eq!(
        fixture["steps"][3]["expect"]["error"]["kind"],
        "player_idps_rejected"
    );
    rec.assert_replays_clean(&[
        HIVE_REAL_PLAYER_TOKEN,
        HIVE_REAL_ACCESS_TOKEN,
        "eyJexpired.access.token0",
        "hiveWrongTok_0000",
        "255764404509548",
        "fb-77120934",
    ])
    .await;
}
