//! `POST /oauth2.0/token` with `grant_type=authorization_code`, and the token endpoint rules.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use gameauth_vegaslounge::{ErrorStyle, ThrottleConfig};
use http::Request;

use crate::{
    CLIENT, DownStore, Harness, OTHER_CLIENT, OTHER_SECRET, SECRET, assert_vl_error, body_json,
    body_text, code_form, form_post, header,
};

fn assert_no_store(response: &http::Response<Bytes>) {
    assert_eq!(header(response, "cache-control"), Some("no-store"));
    assert_eq!(header(response, "pragma"), Some("no-cache"));
}

#[tokio::test]
async fn code_exchange_returns_bearer_tokens() {
    let h = Harness::new();
    let code = h.code().await;
    let response = h.token(&code_form(&code)).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    let json = body_json(&response);
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["expires_in"], 3600);
    let access = json["access_token"].as_str().unwrap();
    let refresh = json["refresh_token"].as_str().unwrap();
    assert_eq!(access.len(), 43);
    assert_eq!(refresh.len(), 43);
    assert_ne!(access, refresh);
    assert_eq!(json.as_object().unwrap().len(), 4);
}

#[tokio::test]
async fn code_is_single_use_and_replay_revokes_issued_tokens() {
    let h = Harness::new();
    let code = h.code().await;
    let first = body_json(&h.token(&code_form(&code)).await);
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(h.account(access).await.status(), 200);

    let replay = h.token(&code_form(&code)).await;
    assert_vl_error(&replay, 401, 1001);
    assert_vl_error(&h.account(access).await, 401, 1001);
    assert_vl_error(&h.token(&crate::refresh_form(refresh)).await, 401, 1001);
}

#[tokio::test]
async fn concurrent_redemptions_of_one_code_have_exactly_one_winner() {
    let h = Arc::new(Harness::new());
    let code = h.code().await;
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let h = Arc::clone(&h);
            let form = code_form(&code);
            tokio::spawn(async move { h.token(&form).await.status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        31,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn code_is_bound_to_its_client() {
    let h = Harness::new();
    let code = h.code().await;
    let form = format!(
        "grant_type=authorization_code&code={code}&client_id={OTHER_CLIENT}&client_secret={OTHER_SECRET}"
    );
    assert_vl_error(&h.token(&form).await, 401, 1001);
    // The rightful client can still redeem it.
    assert_eq!(h.token(&code_form(&code)).await.status(), 200);
}

#[tokio::test]
async fn code_redirect_uri_must_match_when_sent() {
    let h = Harness::new();
    let code = h.code().await;
    let wrong = format!(
        "{}&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live%2F",
        code_form(&code)
    );
    assert_vl_error(&h.token(&wrong).await, 401, 1001);
    let right = format!(
        "{}&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live",
        code_form(&code)
    );
    assert_eq!(h.token(&right).await.status(), 200);
}

#[tokio::test]
async fn code_expires_after_its_ttl() {
    let h = Harness::new();
    let code = h.code().await;
    h.advance(60);
    let response = h.token(&code_form(&code)).await;
    assert_vl_error(&response, 401, 1001);
    assert_eq!(
        body_json(&response)["error"],
        "Authorization code has expired"
    );

    let h = Harness::new();
    let code = h.code().await;
    h.advance(59);
    assert_eq!(h.token(&code_form(&code)).await.status(), 200);
}

#[tokio::test]
async fn code_ttl_is_configurable_up_to_600_seconds() {
    let h = Harness::with(|c| c.code_ttl = std::time::Duration::from_secs(600));
    let code = h.code().await;
    h.advance(599);
    assert_eq!(h.token(&code_form(&code)).await.status(), 200);
    let mut config = gameauth_vegaslounge::ServerConfig::default();
    config.code_ttl = std::time::Duration::from_secs(601);
    assert!(config.validate().is_err());
}

#[tokio::test]
async fn token_endpoint_accepts_only_post() {
    let h = Harness::new();
    let response = h
        .send(Request::get("/oauth2.0/token").body(Bytes::new()).unwrap())
        .await;
    assert_vl_error(&response, 405, 1007);
    assert_eq!(header(&response, "allow"), Some("POST"));
    assert_no_store(&response);
}

#[tokio::test]
async fn token_endpoint_accepts_only_form_bodies() {
    let h = Harness::new();
    let code = h.code().await;
    for content_type in [Some("application/json"), Some("text/plain"), None] {
        let mut request = Request::post("/oauth2.0/token");
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = h
            .send(request.body(Bytes::from(code_form(&code))).unwrap())
            .await;
        assert_vl_error(&response, 400, 1007);
    }
    assert_eq!(
        h.token(&code_form(&code)).await.status(),
        200,
        "the code was not consumed"
    );
}

#[tokio::test]
async fn credentials_or_codes_in_the_query_are_refused() {
    let h = Harness::new();
    let code = h.code().await;
    for query in [
        format!("code={code}"),
        format!("client_secret={SECRET}"),
        "refresh_token=x".to_owned(),
    ] {
        let response = h
            .send(form_post(
                &format!("/oauth2.0/token?{query}"),
                &code_form(&code),
            ))
            .await;
        assert_vl_error(&response, 400, 1007);
    }
}

#[tokio::test]
async fn basic_auth_is_accepted() {
    let h = Harness::new();
    let code = h.code().await;
    let request = Request::post("/oauth2.0/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{CLIENT}:{SECRET}"))),
        )
        .body(Bytes::from(format!(
            "grant_type=authorization_code&code={code}"
        )))
        .unwrap();
    assert_eq!(h.send(request).await.status(), 200);
}

#[tokio::test]
async fn basic_and_body_credentials_together_are_refused() {
    let h = Harness::new();
    let code = h.code().await;
    let request = Request::post("/oauth2.0/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{CLIENT}:{SECRET}"))),
        )
        .body(Bytes::from(code_form(&code)))
        .unwrap();
    let response = h.send(request).await;
    assert_vl_error(&response, 400, 1007);
}

#[tokio::test]
async fn wrong_secret_is_invalid_client() {
    let h = Harness::new();
    let code = h.code().await;
    let form =
        format!("grant_type=authorization_code&code={code}&client_id={CLIENT}&client_secret=wrong");
    assert_vl_error(&h.token(&form).await, 401, 1001);
    let unknown =
        format!("grant_type=authorization_code&code={code}&client_id=VL404&client_secret=x");
    assert_vl_error(&h.token(&unknown).await, 401, 1001);
    let missing = format!("grant_type=authorization_code&code={code}&client_id={CLIENT}");
    assert_vl_error(&h.token(&missing).await, 401, 1001);

    let basic = Request::post("/oauth2.0/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{CLIENT}:nope"))),
        )
        .body(Bytes::from(format!(
            "grant_type=authorization_code&code={code}"
        )))
        .unwrap();
    let response = h.send(basic).await;
    assert_vl_error(&response, 401, 1001);
    assert!(
        header(&response, "www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(
        h.token(&code_form(&code)).await.status(),
        200,
        "the code was not consumed"
    );
}

#[tokio::test]
async fn every_token_response_is_no_store() {
    let h = Harness::new();
    let code = h.code().await;
    assert_no_store(&h.token(&code_form(&code)).await);
    assert_no_store(&h.token(&code_form(&code)).await);
    assert_no_store(&h.token("grant_type=x").await);
    assert_no_store(
        &h.send_from(form_post("/oauth2.0/token", ""), "192.0.2.1:1")
            .await,
    );
}

#[tokio::test]
async fn field_length_limits_give_validation_errors() {
    let h = Harness::new();
    let long = |n: usize| "x".repeat(n);
    let cases = [
        format!(
            "grant_type=authorization_code&code=c&client_id={}&client_secret={SECRET}",
            long(41)
        ),
        format!(
            "grant_type=authorization_code&code={}&client_id={CLIENT}&client_secret={SECRET}",
            long(256)
        ),
        format!(
            "grant_type=authorization_code&code=c&client_id={CLIENT}&client_secret={}",
            long(256)
        ),
        format!("{}&redirect_uri={}", code_form("c"), long(256)),
        format!(
            "grant_type=refresh_token&refresh_token={}&client_id={CLIENT}&client_secret={SECRET}",
            long(256)
        ),
    ];
    for form in cases {
        assert_vl_error(&h.token(&form).await, 400, 1007);
    }
    // At the limits the request is well-formed (and the code simply unknown).
    let at_limit = format!(
        "grant_type=authorization_code&code={}&client_id={CLIENT}&client_secret={SECRET}",
        long(255)
    );
    assert_vl_error(&h.token(&at_limit).await, 401, 1001);
}

#[tokio::test]
async fn duplicated_parameters_are_invalid_request() {
    let h = Harness::new();
    let code = h.code().await;
    let form = format!("{}&code={code}", code_form(&code));
    assert_vl_error(&h.token(&form).await, 400, 1007);
    let form = format!("{}&client_id={CLIENT}", code_form(&code));
    assert_vl_error(&h.token(&form).await, 400, 1007);
}

#[tokio::test]
async fn unknown_grant_type_is_unsupported() {
    let h = Harness::with(|c| c.error_style = ErrorStyle::Rfc6749);
    let form = format!(
        "grant_type=password&username=a&password=b&client_id={CLIENT}&client_secret={SECRET}"
    );
    let response = h.token(&form).await;
    assert_eq!(response.status(), 400);
    assert_eq!(body_json(&response)["error"], "unsupported_grant_type");
    let missing = h
        .token(&format!("client_id={CLIENT}&client_secret={SECRET}"))
        .await;
    assert_eq!(body_json(&missing)["error"], "invalid_request");
}

#[tokio::test]
async fn error_bodies_follow_the_configured_style() {
    let vl = Harness::new();
    let response = vl.token(&code_form("nope")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        body_text(&response),
        r#"{"errorCode":1001,"error":"Authorization code is not valid."}"#
    );

    let rfc = Harness::with(|c| c.error_style = ErrorStyle::Rfc6749);
    let response = rfc.token(&code_form("nope")).await;
    assert_eq!(response.status(), 400);
    let json = body_json(&response);
    assert_eq!(json["error"], "invalid_grant");
    let description = json["error_description"].as_str().unwrap();
    assert!(!description.contains(['\r', '\n', '\t']));
    assert!(!description.contains("nope"), "no echo of the input");
    let response = rfc
        .token(&format!(
            "grant_type=authorization_code&code=c&client_id={CLIENT}&client_secret=bad"
        ))
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(body_json(&response)["error"], "invalid_client");
}

#[tokio::test]
async fn repeated_failed_client_authentication_is_throttled_per_client() {
    let h =
        Harness::with(|c| c.throttle = ThrottleConfig::new(3, std::time::Duration::from_secs(60)));
    let bad = format!("grant_type=authorization_code&code=c&client_id={CLIENT}&client_secret=bad");
    for _ in 0..3 {
        assert_vl_error(&h.token(&bad).await, 401, 1001);
    }
    // Now even the right secret is refused for this client until the window ends.
    let response = h.token(&code_form("c")).await;
    assert_vl_error(&response, 429, 1001);
    assert_eq!(header(&response, "retry-after"), Some("60"));
    assert_no_store(&response);
    // Another client from another allowed address is not affected.
    let other = format!(
        "grant_type=authorization_code&code=c&client_id={OTHER_CLIENT}&client_secret={OTHER_SECRET}"
    );
    let response = h
        .send_from(form_post("/oauth2.0/token", &other), "[::1]:5000")
        .await;
    assert_vl_error(&response, 401, 1001);
    h.advance(60);
    let code = h.code().await;
    assert_eq!(h.token(&code_form(&code)).await.status(), 200);
}

#[tokio::test]
async fn repeated_failed_client_authentication_is_throttled_per_ip() {
    let h =
        Harness::with(|c| c.throttle = ThrottleConfig::new(3, std::time::Duration::from_secs(60)));
    for i in 0..3 {
        let unknown =
            format!("grant_type=authorization_code&code=c&client_id=VLX{i}&client_secret=bad");
        assert_vl_error(&h.token(&unknown).await, 401, 1001);
    }
    let other = format!(
        "grant_type=authorization_code&code=c&client_id={OTHER_CLIENT}&client_secret={OTHER_SECRET}"
    );
    let response = h.token(&other).await;
    assert_vl_error(&response, 429, 1001);
    assert!(header(&response, "retry-after").is_some());
    let from_elsewhere = h
        .send_from(form_post("/oauth2.0/token", &other), "[::1]:5000")
        .await;
    assert_vl_error(&from_elsewhere, 401, 1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_secrets_never_get_more_checks_than_the_limit() {
    let h = Arc::new(Harness::with(|c| {
        c.throttle = ThrottleConfig::new(10, std::time::Duration::from_secs(60));
    }));
    let bad = format!("grant_type=authorization_code&code=c&client_id={CLIENT}&client_secret=bad");
    let statuses = crate::concurrent_token_statuses(&[h], &bad, 40).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        30,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn successful_client_authentications_give_their_throttle_place_back() {
    let h =
        Harness::with(|c| c.throttle = ThrottleConfig::new(3, std::time::Duration::from_secs(60)));
    let bad = format!("grant_type=authorization_code&code=c&client_id={CLIENT}&client_secret=bad");
    for _ in 0..2 {
        assert_vl_error(&h.token(&bad).await, 401, 1001);
    }
    // Many good authentications (the code is unknown, but the client authenticated) count nothing.
    for _ in 0..10 {
        assert_vl_error(&h.token(&code_form("unknown-code")).await, 401, 1001);
    }
    assert_vl_error(&h.token(&bad).await, 401, 1001);
    assert_vl_error(&h.token(&bad).await, 429, 1001);
}

#[tokio::test]
async fn store_failure_answers_503_never_401() {
    let h = Harness::with_store(Arc::new(DownStore), |_| {});
    let response = h.token(&code_form("any-code")).await;
    assert_vl_error(&response, 503, 1003);
    assert_no_store(&response);
    let response = h.token(&crate::refresh_form("any-refresh")).await;
    assert_vl_error(&response, 503, 1003);
    let response = h.account("any-access").await;
    assert_vl_error(&response, 503, 1003);
    let rfc = Harness::with_store(Arc::new(DownStore), |c| c.error_style = ErrorStyle::Rfc6749);
    let response = rfc.token(&code_form("any-code")).await;
    assert_eq!(response.status(), 503);
    assert_eq!(body_json(&response)["error"], "server_error");
    let authorize = h
        .authorize(
            "response_type=code&client_id=VL001&redirect_uri=https%3A%2F%2Ffl.vegaslounge.live&state=s",
            Some(crate::PLAYER),
        )
        .await;
    assert_eq!(crate::location_params(&authorize)["error"], "server_error");
}

fn json_post(body: &str) -> Request<Bytes> {
    Request::post("/oauth2.0/token")
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

fn json_code_body(code: &str) -> String {
    format!(
        r#"{{"grant_type":"authorization_code","code":"{code}","client_id":"{CLIENT}","client_secret":"{SECRET}"}}"#
    )
}

#[tokio::test]
async fn json_token_requests_are_refused_by_default() {
    let h = Harness::new();
    let code = h.code().await;
    assert_vl_error(&h.send(json_post(&json_code_body(&code))).await, 400, 1007);
    // The code was not touched: the form still redeems it.
    assert_eq!(h.token(&code_form(&code)).await.status(), 200);
}

#[tokio::test]
async fn json_token_requests_exchange_and_refresh_when_enabled() {
    let h = Harness::with(|c| c.token_json_body = true);
    let code = h.code().await;
    let response = h.send(json_post(&json_code_body(&code))).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_no_store(&response);
    let refresh = body_json(&response)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = format!(
        r#"{{"grant_type":"refresh_token","refresh_token":"{refresh}","client_id":"{CLIENT}","client_secret":"{SECRET}"}}"#
    );
    let mut request = json_post(&body);
    *request.uri_mut() = "/oauth2.0/refresh".parse().unwrap();
    assert_eq!(h.send(request).await.status(), 200);
    // Forms keep working.
    let (access, _) = h.tokens().await;
    assert_eq!(h.account(&access).await.status(), 200);
}

#[tokio::test]
async fn json_token_requests_answer_like_the_form_for_each_rule() {
    let h = Harness::with(|c| c.token_json_body = true);
    let code = h.code().await;
    for (body, status, vl_code) in [
        // Repeated member.
        (
            format!(
                r#"{{"grant_type":"authorization_code","code":"{code}","code":"{code}","client_id":"{CLIENT}","client_secret":"{SECRET}"}}"#
            ),
            400,
            1007,
        ),
        // Not a string.
        (
            format!(
                r#"{{"grant_type":"authorization_code","code":["{code}"],"client_id":"{CLIENT}","client_secret":"{SECRET}"}}"#
            ),
            400,
            1007,
        ),
        (
            format!(
                r#"{{"grant_type":"authorization_code","code":"{code}","client_id":1,"client_secret":"{SECRET}"}}"#
            ),
            400,
            1007,
        ),
        // Not one JSON object.
        (format!("[{}]", json_code_body(&code)), 400, 1007),
        // Wrong secret, unknown grant type: the form's answers.
        (
            format!(
                r#"{{"grant_type":"authorization_code","code":"{code}","client_id":"{CLIENT}","client_secret":"wrong"}}"#
            ),
            401,
            1001,
        ),
        (
            format!(
                r#"{{"grant_type":"password","client_id":"{CLIENT}","client_secret":"{SECRET}"}}"#
            ),
            400,
            1007,
        ),
    ] {
        assert_vl_error(&h.send(json_post(&body)).await, status, vl_code);
    }
    // None of those consumed the code.
    assert_eq!(
        h.send(json_post(&json_code_body(&code))).await.status(),
        200
    );
}

#[tokio::test]
async fn a_code_of_a_player_disabled_since_the_authorization_is_refused_with_1005() {
    let h = Harness::new();
    let code = h.code().await;
    h.directory.set_disabled(crate::PLAYER, true);
    assert_vl_error(&h.token(&crate::code_form(&code)).await, 401, 1005);
    // Nothing was issued and the code is spent.
    h.directory.set_disabled(crate::PLAYER, false);
    assert_vl_error(&h.token(&crate::code_form(&code)).await, 401, 1001);
}
