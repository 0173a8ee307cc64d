//! Shared test helpers: dummy credentials, fake JWTs and Hive answers.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gameauth_core::PlayerToken;
use gameauth_core::secrecy::SecretString;
use gameauth_hive::{ClientBuilder, VerifyAccessToken, VerifyParams};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const APPID: &str = "com.com2us.hivesdk.normal.freefull.apple.global.ios.universal";
pub(crate) const CLIENT_ID: &str = "project_abc123";
pub(crate) const CLIENT_SECRET: &str = "sentinel-client-secret";
pub(crate) const PLAYER_TOKEN: &str = "sentinel-player-token";
pub(crate) const PLAYER_ACCESS_TOKEN: &str = "sentinel-player-access-token";
pub(crate) const DID: &str = "255764404509548";
pub(crate) const PLAYER_ID: i64 = 21;

/// A JWT-shaped token with the given `exp` claim; the signature is never checked.
pub(crate) fn jwt(exp: i64, jti: &str) -> String {
    let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"iss":"hive","exp":{exp},"jti":"{jti}"}}"#));
    format!("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{payload}.c2lnbmF0dXJl")
}

pub(crate) fn token_answer(access_token: &str) -> serde_json::Value {
    serde_json::json!({
        "result_code": 0,
        "result_msg": "SUCCESS",
        "data": {"access_token": access_token}
    })
}

pub(crate) fn verified_answer() -> serde_json::Value {
    serde_json::json!({
        "result_code": 0,
        "result_msg": "SUCCESS",
        "token_validation": {"result_code": 0, "result_msg": "SUCCESS"}
    })
}

/// Verification parameters of the default mode, with the player's access token.
pub(crate) fn params() -> VerifyParams {
    server_params().with_access_token(PlayerToken::new(PLAYER_ACCESS_TOKEN))
}

/// Verification parameters of the server-token mode (no player access token).
pub(crate) fn server_params() -> VerifyParams {
    VerifyParams::new(PlayerToken::new(PLAYER_TOKEN), PLAYER_ID, DID)
}

/// A builder with the dummy app id and credentials and no hosts yet (default mode: the
/// credentials serve the v2 IdP list only).
pub(crate) fn builder() -> ClientBuilder {
    gameauth_hive::Client::builder()
        .appid(APPID)
        .client_credentials(CLIENT_ID, SecretString::from(CLIENT_SECRET))
}

/// [`builder`] in the server-token mode of verification.
pub(crate) fn server_builder() -> ClientBuilder {
    builder().verify_access_token(VerifyAccessToken::Server)
}

/// Mounts a token endpoint answering `access_token` on `server`.
pub(crate) async fn mount_token(server: &MockServer, access_token: &str) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_answer(access_token)))
        .named("oauth token")
        .mount(server)
        .await;
}

/// Mounts a v2 verify endpoint answering success, expected `times` times (any access token).
pub(crate) async fn mount_verified(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path("/v2/game/token/get-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(verified_answer()))
        .expect(times)
        .named("v2 verify")
        .mount(server)
        .await;
}
