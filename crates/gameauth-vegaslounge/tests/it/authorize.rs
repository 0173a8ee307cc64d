//! `GET /oauth2.0/authorize`.

use bytes::Bytes;
use http::Request;

use crate::{
    CLIENT, DISABLED_PLAYER, Harness, PLAYER, REDIRECT, REDIRECT_WITH_QUERY, body_text, header,
    location_params,
};

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn query(redirect: &str) -> String {
    format!(
        "response_type=code&client_id={CLIENT}&redirect_uri={}",
        enc(redirect)
    )
}

fn assert_error_page(response: &http::Response<Bytes>) {
    assert_eq!(response.status(), 400, "{}", body_text(response));
    assert!(
        header(response, "location").is_none(),
        "an error page must never redirect"
    );
    assert!(
        header(response, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(header(response, "x-frame-options"), Some("DENY"));
}

#[tokio::test]
async fn unknown_client_gets_an_error_page_not_a_redirect() {
    let h = Harness::new();
    let q = format!(
        "response_type=code&client_id=VL999&redirect_uri={}",
        enc(REDIRECT)
    );
    assert_error_page(&h.authorize(&q, Some(PLAYER)).await);
}

#[tokio::test]
async fn missing_client_id_gets_an_error_page() {
    let h = Harness::new();
    let q = format!("response_type=code&redirect_uri={}", enc(REDIRECT));
    assert_error_page(&h.authorize(&q, Some(PLAYER)).await);
    let q = format!(
        "response_type=code&client_id=&redirect_uri={}",
        enc(REDIRECT)
    );
    assert_error_page(&h.authorize(&q, Some(PLAYER)).await);
}

#[tokio::test]
async fn missing_or_unregistered_redirect_uri_gets_an_error_page() {
    let h = Harness::new();
    assert_error_page(
        &h.authorize("response_type=code&client_id=VL001", Some(PLAYER))
            .await,
    );
    let other_clients_uri = query("https://other.example.com/cb");
    assert_error_page(&h.authorize(&other_clients_uri, Some(PLAYER)).await);
}

#[tokio::test]
async fn redirect_uri_must_match_exactly() {
    let h = Harness::new();
    let tricks = [
        "https://fl.vegaslounge.live/", // trailing slash / path normalisation
        "https://fl.vegaslounge.live/cb", // prefix match
        "https://fl.vegaslounge.live.evil.example", // host suffix
        "https://evil.example/https://fl.vegaslounge.live",
        "https://FL.vegaslounge.live",     // case folding of the host
        "HTTPS://fl.vegaslounge.live",     // case folding of the scheme
        "https://fl.vegaslounge.live:443", // default port
        "http://fl.vegaslounge.live",      // scheme downgrade
        "https://fl.vegaslounge.live@evil.example", // userinfo
        "https://user@fl.vegaslounge.live", // userinfo
        "https://fl.vegaslounge.live#frag", // fragment
        "https://fl.vegaslounge.live#",    // empty fragment
        "https://fl.vegaslounge.live?",    // empty query
        "https://fl%2Evegaslounge.live",   // percent-encoding
        "https://fl.vegaslounge.live ",    // trailing space
        "https://cb.vegaslounge.live/cb?lobby=1&x=2", // extra query parameter
        "https://cb.vegaslounge.live/cb?lobby=2", // different query value
        "https://cb.vegaslounge.live/./cb?lobby=1", // dot segment
    ];
    for uri in tricks {
        let response = h.authorize(&query(uri), Some(PLAYER)).await;
        assert_eq!(response.status(), 400, "{uri} must not match");
        assert!(
            header(&response, "location").is_none(),
            "{uri} must not redirect"
        );
    }
    let ok = h.authorize(&query(REDIRECT), Some(PLAYER)).await;
    assert_eq!(ok.status(), 302);
}

#[tokio::test]
async fn duplicated_client_id_or_redirect_uri_gets_an_error_page() {
    let h = Harness::new();
    let q = format!("{}&client_id={CLIENT}", query(REDIRECT));
    assert_error_page(&h.authorize(&q, Some(PLAYER)).await);
    let q = format!("{}&redirect_uri={}", query(REDIRECT), enc(REDIRECT));
    assert_error_page(&h.authorize(&q, Some(PLAYER)).await);
}

#[tokio::test]
async fn other_errors_redirect_with_error_and_state() {
    let h = Harness::new();
    let cases = [
        (
            format!("client_id={CLIENT}&redirect_uri={}&state=s1", enc(REDIRECT)),
            "invalid_request",
        ),
        (
            format!(
                "response_type=token&client_id={CLIENT}&redirect_uri={}&state=s1",
                enc(REDIRECT)
            ),
            "unsupported_response_type",
        ),
        (
            format!("{}&state=s1&response_type=code", query(REDIRECT)),
            "invalid_request",
        ),
    ];
    for (q, error) in cases {
        let response = h.authorize(&q, Some(PLAYER)).await;
        assert_eq!(response.status(), 302, "{q}");
        let location = header(&response, "location").unwrap();
        assert!(
            location.starts_with("https://fl.vegaslounge.live/?"),
            "{location}"
        );
        let params = location_params(&response);
        assert_eq!(params["error"], error, "{q}");
        assert_eq!(params["state"], "s1", "{q}");
        assert!(!params.contains_key("code"));
    }
}

#[tokio::test]
async fn duplicated_state_redirects_with_invalid_request_and_no_state() {
    let h = Harness::new();
    let q = format!("{}&state=a&state=b", query(REDIRECT));
    let response = h.authorize(&q, Some(PLAYER)).await;
    let params = location_params(&response);
    assert_eq!(params["error"], "invalid_request");
    assert!(!params.contains_key("state"));
}

#[tokio::test]
async fn long_state_with_reserved_characters_is_echoed_byte_exact() {
    let h = Harness::new();
    let state: String = "a&b=c+d%e f/?#é~".repeat(100);
    let q = format!("{}&state={}", query(REDIRECT), enc(&state));
    let response = h.authorize(&q, Some(PLAYER)).await;
    assert_eq!(response.status(), 302);
    let location = header(&response, "location").unwrap();
    let raw_state = location.split("&state=").nth(1).unwrap();
    // Strict RFC 3986 percent-encoding: no `+` for spaces, so any decoder gets the same bytes.
    assert!(
        !raw_state.contains(['+', '&', '=', '#', ' ']),
        "{raw_state}"
    );
    assert_eq!(location_params(&response)["state"], state);
}

#[tokio::test]
async fn code_is_appended_to_the_existing_query() {
    let h = Harness::new();
    let response = h.authorize(&query(REDIRECT_WITH_QUERY), Some(PLAYER)).await;
    let location = header(&response, "location").unwrap();
    assert!(
        location.starts_with("https://cb.vegaslounge.live/cb?lobby=1&code="),
        "{location}"
    );
    let params = location_params(&response);
    assert_eq!(params["lobby"], "1");
    assert_eq!(
        params["code"].len(),
        43,
        "32 random bytes, base64url without padding"
    );

    let bare = h.authorize(&query(REDIRECT), Some(PLAYER)).await;
    let location = header(&bare, "location").unwrap();
    assert!(
        location.starts_with("https://fl.vegaslounge.live/?code="),
        "{location}"
    );
}

#[tokio::test]
async fn issued_code_redeems_for_the_logged_in_player() {
    let h = Harness::new();
    let response = h.authorize(&query(REDIRECT), Some(PLAYER)).await;
    let code = location_params(&response)["code"].clone();
    let tokens = h.token(&crate::code_form(&code)).await;
    assert_eq!(tokens.status(), 200);
    let access = crate::body_json(&tokens)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let account = crate::body_json(&h.account(&access).await);
    assert_eq!(account["playerId"], PLAYER);
}

#[tokio::test]
async fn nobody_logged_in_redirects_to_login_with_local_return_to() {
    let h = Harness::new();
    let q = format!("{}&state=xyz", query(REDIRECT));
    let response = h.authorize(&q, None).await;
    assert_eq!(response.status(), 302);
    let location = header(&response, "location").unwrap();
    assert!(location.starts_with("/login?return_to="), "{location}");
    let params = location_params(&response);
    assert_eq!(params["return_to"], format!("/oauth2.0/authorize?{q}"));
}

#[tokio::test]
async fn disabled_account_redirects_with_access_denied() {
    let h = Harness::new();
    let response = h.authorize(&query(REDIRECT), Some(DISABLED_PLAYER)).await;
    assert_eq!(location_params(&response)["error"], "access_denied");
}

#[tokio::test]
async fn pages_forbid_framing_and_send_no_cors_headers() {
    let h = Harness::new();
    let request = Request::get(format!("/oauth2.0/authorize?{}", query(REDIRECT)))
        .header("origin", "https://evil.example")
        .header("cookie", format!("session={PLAYER}"))
        .body(Bytes::new())
        .unwrap();
    for response in [
        h.send(request).await,
        h.authorize("client_id=nope", Some(PLAYER)).await,
    ] {
        assert_eq!(header(&response, "x-frame-options"), Some("DENY"));
        assert!(
            header(&response, "content-security-policy")
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(header(&response, "referrer-policy"), Some("no-referrer"));
        assert!(
            response
                .headers()
                .keys()
                .all(|k| !k.as_str().starts_with("access-control-")),
            "no CORS headers"
        );
    }
}

#[tokio::test]
async fn authorize_accepts_only_get() {
    let h = Harness::new();
    let response = h
        .send(
            Request::post(format!("/oauth2.0/authorize?{}", query(REDIRECT)))
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), 405);
    assert_eq!(header(&response, "allow"), Some("GET"));
    let options = h
        .send(
            Request::options("/oauth2.0/authorize")
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(options.status(), 405, "no CORS preflight");
}
