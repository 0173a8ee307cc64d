//! OMG recorded end to end: a stand-in OMG that checks the real signature with the real key,
//! the recording proxy in-process, the `gameauth-omg` client driven through it, then the written
//! fixture replayed and checked.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use gameauth_contract::{Fixture, Provider};
use gameauth_core::PlayerToken;
use gameauth_core::secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::{Respond, ResponseTemplate};

use super::{Omg, PUBLISHED_KEY};
use crate::providers::recording::{Recording, header, interactions, json_answer, stand_in};

const OMG_REAL_KEY: &str = "Rk7pQ2xW9mZ4vL8nT3bY6cH1jF5dS0aG";

/// Answers like OMG's docs, after checking `sign` with the real key; with `launch_502s`, the
/// first launches fail with a 502 first, as a flaky gateway would.
#[derive(Default)]
struct OmgStandIn {
    issued: Mutex<Vec<String>>,
    launch_502s: AtomicUsize,
}

impl Respond for OmgStandIn {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let query = req.url.query().unwrap_or("");
        let expected =
            gameauth_core::sign::md5_hex(&[query.as_bytes(), &req.body, OMG_REAL_KEY.as_bytes()]);
        if header(req, "sign") != expected {
            return json_answer(json!({"code": 10002, "msg": "sign invalid"}));
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let mut issued = self.issued.lock().unwrap();
        match req.url.path() {
            "/api/player/v1/authorize" => {
                let token = format!("omgtok{}x7Hq2Vb9", issued.len() + 1);
                issued.push(token.clone());
                json_answer(json!({"code": 0, "msg": "ok",
                    "data": {"token": token, "balance": 42766.25, "app_id": 10013}}))
            }
            "/api/game/v1/entergame" | "/api/usr/ingame"
                if self
                    .launch_502s
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok() =>
            {
                ResponseTemplate::new(502).set_body_string("<html>502 Bad Gateway</html>")
            }
            "/api/game/v1/entergame" | "/api/usr/ingame" => {
                let token = body["token"].as_str().unwrap_or_default();
                let own = req.url.path() == "/api/usr/ingame";
                if !own && !issued.iter().any(|t| t == token) {
                    return json_answer(
                        json!({"code": 10011, "msg": "player login token verification failed"}),
                    );
                }
                let url = format!(
                    "https://games.omg.example/{}/index.html?token={token}&lang=en",
                    body["gameid"].as_str().unwrap_or_default()
                );
                json_answer(json!({"code": 0, "msg": "ok", "data": {"gameurl": url}}))
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

fn omg_client(url: &str, key: &str) -> gameauth_omg::Client {
    gameauth_omg::Client::builder()
        .base_url(url)
        .app_id("10013")
        .key(SecretString::from(key.to_owned()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn omg_recording_replays_and_holds_no_real_value() {
    use gameauth_omg::{AuthorizeRequest, EnterGameRequest, InGameRequest, ScreenMode};
    let upstream = stand_in(OmgStandIn::default()).await;
    let rec = Recording::start(
        &Omg,
        &[("OMG_SIGN_KEY", OMG_REAL_KEY)],
        &["uname", "nickname", "nick"],
        &upstream.uri(),
    )
    .await;
    let client = omg_client(&rec.url(), OMG_REAL_KEY);

    let player = client
        .authorize(&AuthorizeRequest::new("player-8812345", "Alicia").with_cid(0))
        .await
        .unwrap();
    assert_eq!(
        interactions(&rec.fixture()),
        1,
        "written after the first exchange"
    );
    let real_token = player.token.expose_secret().to_owned();
    let url = client
        .enter_game(
            &EnterGameRequest::new(player.token, "49", ScreenMode::HorizontalFull).with_lang("en"),
        )
        .await
        .unwrap();
    assert!(url.expose_secret().contains(&real_token));
    let refused = client
        .enter_game(&EnterGameRequest::new(
            "unknownTok77x".into(),
            "49",
            ScreenMode::Half,
        ))
        .await;
    assert!(matches!(refused, Err(gameauth_omg::Error::Rejected { .. })));
    client
        .ingame(&InGameRequest::new(
            PlayerToken::new("opsess-5b8e1c2d9f"),
            "49",
            "Alicia",
            ScreenMode::VerticalFull,
        ))
        .await
        .unwrap();

    let fixture = rec.fixture();
    assert_eq!(interactions(&fixture), 4);
    assert_eq!(fixture["keys"]["sign_key"], PUBLISHED_KEY);
    assert_eq!(
        fixture["steps"][0]["expect"]["ok"]["token"],
        "dummy-token-1"
    );
    assert_eq!(fixture["steps"][1]["input"]["token"], "dummy-token-1");
    assert_eq!(
        fixture["steps"][1]["expect"]["ok"]["gameurl"],
        "https://games.omg.example/49/index.html?token=dummy-token-1&lang=en"
    );
    assert_eq!(
        fixture["steps"][2]["expect"],
        json!({"error": {"kind": "rejected", "code": 10011, "known": true,
            "message": "player login token verification failed"}})
    );
    rec.assert_replays_clean(&[
        OMG_REAL_KEY,
        &real_token,
        "unknownTok77x",
        "opsess-5b8e1c2d9f",
        "player-8812345",
        "Alicia",
    ])
    .await;
}

#[tokio::test]
async fn omg_fixture_fails_to_replay_when_its_signature_is_not_the_dummy_keys() {
    let upstream = stand_in(OmgStandIn::default()).await;
    let rec = Recording::start(
        &Omg,
        &[("OMG_SIGN_KEY", OMG_REAL_KEY)],
        &[],
        &upstream.uri(),
    )
    .await;
    omg_client(&rec.url(), OMG_REAL_KEY)
        .authorize(&gameauth_omg::AuthorizeRequest::new("u1", "n1"))
        .await
        .unwrap();
    let mut fixture = rec.fixture();
    let req = &fixture["interactions"][0]["request"];
    let query = req["query"].as_str().unwrap().to_owned();
    let body = req["body"].as_str().unwrap().to_owned();
    let with_real_key =
        gameauth_core::sign::md5_hex(&[query.as_bytes(), body.as_bytes(), OMG_REAL_KEY.as_bytes()]);
    fixture["interactions"][0]["request"]["headers"]["sign"] = with_real_key.into();
    std::fs::write(&rec.file, fixture.to_string()).unwrap();
    let loaded = Fixture::load(&rec.file, "omg").unwrap();
    let err = Omg.run(&loaded).await.unwrap_err();
    assert!(err.contains("header `sign`"), "{err}");
}

#[tokio::test]
async fn an_omg_launch_repeated_after_a_502_is_the_same_step() {
    use gameauth_omg::{InGameRequest, ScreenMode};
    let upstream = stand_in(OmgStandIn {
        launch_502s: AtomicUsize::new(1),
        ..OmgStandIn::default()
    })
    .await;
    let rec = Recording::start(
        &Omg,
        &[("OMG_SIGN_KEY", OMG_REAL_KEY)],
        &[],
        &upstream.uri(),
    )
    .await;
    omg_client(&rec.url(), OMG_REAL_KEY)
        .ingame(&InGameRequest::new(
            PlayerToken::new("opsess-77aa88bb99"),
            "12",
            "Nick",
            ScreenMode::Half,
        ))
        .await
        .unwrap();
    let fixture = rec.fixture();
    assert_eq!(interactions(&fixture), 2);
    assert_eq!(fixture["steps"].as_array().unwrap().len(), 1);
    assert_eq!(fixture["ids"].as_array().unwrap().len(), 1);
    assert_eq!(fixture["interactions"][0]["response"]["status"], 502);
    rec.assert_replays_clean(&[OMG_REAL_KEY, "opsess-77aa88bb99"])
        .await;
}
