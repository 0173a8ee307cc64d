//! Unit tests of the check's answer readers and login helpers.

use super::*;

fn response(status: u16, content_type: &str, body: &str) -> Response<Bytes> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, content_type)
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

#[test]
fn hidden_inputs_are_found_with_any_quoting_and_unescaped() {
    let html = r#"<form><input type="hidden" name="csrf" value="abc">
        <INPUT TYPE=hidden NAME=return_to VALUE='/a?b=1&amp;c=2'/>
        <input name="username"><input type="password" name="password"></form>"#;
    assert_eq!(
        hidden_inputs(html),
        vec![
            ("csrf".to_owned(), "abc".to_owned()),
            ("return_to".to_owned(), "/a?b=1&c=2".to_owned()),
        ]
    );
}

#[test]
fn malformed_tags_do_not_loop_or_panic() {
    for html in [
        "<input",
        "<input =",
        "<input type=\"hidden",
        "<input name= >",
        "<input ==>",
    ] {
        let _ = hidden_inputs(html);
    }
}

#[test]
fn the_code_comes_from_a_redirect_to_the_registered_uri_only() {
    let uri = "https://fl.vegaslounge.live";
    assert_eq!(
        code_from_location("https://fl.vegaslounge.live/?code=xyz", uri).unwrap(),
        "xyz"
    );
    assert_eq!(
        code_from_location("https://fl.vegaslounge.live?code=a%2Bb", uri).unwrap(),
        "a+b"
    );
    let elsewhere = code_from_location("https://evil.example/?code=secret-code", uri);
    let reason = elsewhere.unwrap_err();
    assert!(!reason.contains("secret-code"), "{reason}");
    assert!(code_from_location("https://fl.vegaslounge.live/?error=access_denied", uri).is_err());
    assert!(code_from_location("https://fl.vegaslounge.live/", uri).is_err());
}

#[test]
fn cookies_are_replaced_and_expired() {
    let mut jar = Jar::default();
    let mut h = HeaderMap::new();
    h.append(SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
    h.append(SET_COOKIE, HeaderValue::from_static("b=2; HttpOnly"));
    jar.store(&h);
    let mut h = HeaderMap::new();
    h.append(SET_COOKIE, HeaderValue::from_static("a=; Max-Age=0"));
    h.append(SET_COOKIE, HeaderValue::from_static("b=3"));
    jar.store(&h);
    assert_eq!(jar.header().unwrap().1, "b=3");
}

#[test]
fn token_answers_need_an_access_token_and_sane_fields() {
    let ok = response(
        200,
        "application/json",
        r#"{"access_token":"a","token_type":"Bearer","expires_in":3600,"refresh_token":"r"}"#,
    );
    let t = tokens(&ok).unwrap();
    assert_eq!((t.access.as_str(), t.refresh.as_deref()), ("a", Some("r")));
    for bad in [
        r#"{"token_type":"Bearer"}"#,
        r#"{"access_token":""}"#,
        r#"{"access_token":"a","token_type":"mac"}"#,
        r#"{"access_token":"a","expires_in":"3600"}"#,
        r#"{"access_token":"a","refresh_token":7}"#,
    ] {
        assert!(
            tokens(&response(200, "application/json", bad)).is_err(),
            "{bad}"
        );
    }
    assert!(tokens(&response(200, "text/html", r#"{"access_token":"a"}"#)).is_err());
    assert!(tokens(&response(401, "application/json", r#"{"errorCode":1001}"#)).is_err());
}

#[test]
fn account_needs_player_id_currency_and_a_numeric_balance() {
    let ok = r#"{"playerId":"a3u","currency":"USD","balance":405.64,"language":"en_EN"}"#;
    assert!(account_shape(&response(200, "application/json", ok)).is_ok());
    for bad in [
        r#"{"currency":"USD","balance":1}"#,
        r#"{"playerId":"a","currency":"usd","balance":1}"#,
        r#"{"playerId":"a","currency":"USD","balance":"1.00"}"#,
        r#"{"playerId":"a","currency":"USD","balance":1,"playerName":5}"#,
    ] {
        assert!(
            account_shape(&response(200, "application/json", bad)).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn refusals_are_judged_in_either_error_style() {
    let vl = response(401, "application/json", r#"{"errorCode":1001,"error":"x"}"#);
    assert!(expect_error(&vl, (401, 1001), (&[400], "invalid_grant")).is_ok());
    let wrong_code = response(401, "application/json", r#"{"errorCode":1007,"error":"x"}"#);
    assert!(expect_error(&wrong_code, (401, 1001), (&[400], "invalid_grant")).is_err());
    let rfc = response(400, "application/json", r#"{"error":"invalid_grant"}"#);
    assert!(expect_error(&rfc, (401, 1001), (&[400], "invalid_grant")).is_ok());
    let accepted = response(200, "application/json", r#"{"access_token":"a"}"#);
    assert!(expect_error(&accepted, (401, 1001), (&[400], "invalid_grant")).is_err());
}

#[test]
fn error_bodies_are_one_of_the_two_styles() {
    let ok = [
        r#"{"errorCode":1007,"error":"Validation error. Don't retry."}"#,
        r#"{"error":"invalid_grant","error_description":"the code is not valid"}"#,
    ];
    for body in ok {
        assert!(
            error_shape(&response(400, "application/json", body)).is_ok(),
            "{body}"
        );
    }
    let bad = [
        r#"{"errorCode":"1007","error":"x"}"#,
        r#"{"errorCode":1007}"#,
        r#"{"errorCode":1007,"error":"two\nlines"}"#,
        r#"{"error":"nope"}"#,
        r#"{"message":"x"}"#,
        "not json",
    ];
    for body in bad {
        assert!(
            error_shape(&response(400, "application/json", body)).is_err(),
            "{body}"
        );
    }
    assert!(error_shape(&response(400, "text/plain", r#"{"error":"invalid_grant"}"#)).is_err());
}

#[test]
fn cache_tokens_are_matched_in_lists() {
    let mut h = HeaderMap::new();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, No-Store"));
    assert!(has_token(&h, &CACHE_CONTROL, "no-store"));
    assert!(!has_token(&h, &PRAGMA, "no-cache"));
}
