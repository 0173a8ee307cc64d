//! PKCE (RFC 7636, RFC 9700): a code issued with an `S256` challenge needs its verifier.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gameauth_vegaslounge::ErrorStyle;

use crate::{
    CLIENT, Harness, PLAYER, REDIRECT, SECRET, assert_vl_error, body_json, location_params,
};

/// A verifier of 64 unreserved characters and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789~._abcdefg";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(gameauth_core::sign::sha256(verifier.as_bytes()))
}

fn authorize_query(extra: &str) -> String {
    let redirect: String = url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
    format!("response_type=code&client_id={CLIENT}&redirect_uri={redirect}&state=s{extra}")
}

/// Authorizes with `extra` parameters and returns the code.
async fn code_with(h: &Harness, extra: &str) -> String {
    let response = h.authorize(&authorize_query(extra), Some(PLAYER)).await;
    let params = location_params(&response);
    assert!(!params.contains_key("error"), "{params:?}");
    params["code"].clone()
}

fn exchange_form(code: &str, verifier: Option<&str>) -> String {
    let mut form = crate::code_form(code);
    if let Some(v) = verifier {
        form.push_str("&code_verifier=");
        form.push_str(v);
    }
    form
}

#[tokio::test]
async fn a_code_issued_with_an_s256_challenge_redeems_only_with_its_verifier() {
    let h = Harness::new();
    let extra = format!(
        "&code_challenge={}&code_challenge_method=S256",
        challenge(VERIFIER)
    );
    let code = code_with(&h, &extra).await;
    let other = "x".repeat(43);
    for wrong in [None, Some(other.as_str()), Some(&VERIFIER[..60])] {
        assert_vl_error(&h.token(&exchange_form(&code, wrong)).await, 401, 1001);
    }
    // Refused attempts left the code unused for the client that holds the verifier.
    let response = h.token(&exchange_form(&code, Some(VERIFIER))).await;
    assert_eq!(response.status(), 200, "{}", crate::body_text(&response));
    assert!(body_json(&response)["access_token"].is_string());
}

#[tokio::test]
async fn a_pkce_failure_is_invalid_grant() {
    let h = Harness::with(|c| c.error_style = ErrorStyle::Rfc6749);
    let extra = format!(
        "&code_challenge={}&code_challenge_method=S256",
        challenge(VERIFIER)
    );
    let code = code_with(&h, &extra).await;
    for verifier in [
        None,
        Some("wrong-but-long-enough-verifier-0123456789abcdefgh"),
        Some("short"),
    ] {
        let response = h.token(&exchange_form(&code, verifier)).await;
        assert_eq!(response.status(), 400);
        assert_eq!(
            body_json(&response)["error"],
            "invalid_grant",
            "{verifier:?}"
        );
    }
}

#[tokio::test]
async fn a_verifier_for_a_code_issued_without_a_challenge_is_invalid_grant() {
    let h = Harness::with(|c| c.error_style = ErrorStyle::Rfc6749);
    let code = code_with(&h, "").await;
    let response = h.token(&exchange_form(&code, Some(VERIFIER))).await;
    assert_eq!(response.status(), 400);
    assert_eq!(body_json(&response)["error"], "invalid_grant");
    // Without a verifier, as Vegas Lounge sends it, the code still works.
    assert_eq!(h.token(&exchange_form(&code, None)).await.status(), 200);
}

#[tokio::test]
async fn a_plain_or_missing_challenge_method_is_refused() {
    let h = Harness::new();
    let c = challenge(VERIFIER);
    for extra in [
        format!("&code_challenge={c}&code_challenge_method=plain"),
        format!("&code_challenge={c}"),
        format!("&code_challenge={c}&code_challenge_method=s256"),
        "&code_challenge_method=S256".to_owned(),
        // Not the 43 base64url characters of a SHA-256.
        format!("&code_challenge={}&code_challenge_method=S256", &c[..42]),
        format!("&code_challenge={c}A&code_challenge_method=S256"),
        format!("&code_challenge={}%2B&code_challenge_method=S256", &c[..42]),
        format!("&code_challenge={VERIFIER}&code_challenge_method=S256"),
    ] {
        let response = h.authorize(&authorize_query(&extra), Some(PLAYER)).await;
        let params = location_params(&response);
        assert_eq!(params["error"], "invalid_request", "{extra}");
        assert_eq!(params["state"], "s");
        assert!(!params.contains_key("code"), "{extra}");
    }
}

#[tokio::test]
async fn a_code_for_an_operator_launch_needs_no_verifier() {
    let h = Harness::new();
    let code = h.code().await;
    let form = format!(
        "grant_type=authorization_code&code={code}&client_id={CLIENT}&client_secret={SECRET}"
    );
    assert_eq!(h.token(&form).await.status(), 200);
}
