//! Vegas Lounge token-endpoint parsing: the form body, HTTP Basic and bearer credentials.
//!
//! Input: `query \0 headers \0 body` (`headers` as lines of `name:value`; an empty query field
//! means "no query").
//!
//! Properties, besides never panicking:
//! * an accepted request has exactly one form content type, no credential or code in the URL
//!   query, no repeated parameter, and exactly one client-authentication method, whose values
//!   are the ones a plain form decoder and base64 decoder read from the request;
//! * the grant carries the form's `code` (with its `redirect_uri` and `code_verifier`) or
//!   `refresh_token`;
//! * any client id and secret within the length limits survive HTTP Basic encoding
//!   (`base64(urlencode(id):urlencode(secret))`) byte for byte;
//! * with JSON enabled, a form parses as before, and the same pairs sent as a JSON object of
//!   strings parse to the same request or fail with the same error;
//! * an accepted bearer token comes from exactly one place: the `Bearer` header (any case) or,
//!   when allowed, the `access_token` query parameter.

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gameauth_fuzz::{fields, headers, text};
use gameauth_vegaslounge::registry::{MAX_CLIENT_ID_LEN, MAX_CLIENT_SECRET_LEN};
use gameauth_vegaslounge::request::{TokenGrant, TokenRequest, bearer_token};
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

/// Form pairs as a plain decoder reads them; empty values count as absent.
fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw)
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn only<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut found = pairs.iter().filter(|(k, _)| k == name);
    let first = found.next()?;
    assert!(found.next().is_none(), "accepted a repeated `{name}`");
    Some(first.1.as_str())
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn check_token_request(query: Option<&str>, headers: &HeaderMap, body: &[u8]) {
    let Ok(request) = TokenRequest::parse(headers, query, body) else {
        return;
    };
    let content_types: Vec<_> = headers.get_all(CONTENT_TYPE).iter().collect();
    assert_eq!(content_types.len(), 1);
    let essence = content_types[0].to_str().expect("ASCII content type");
    assert!(
        essence
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    );
    if let Some(q) = query {
        for (name, _) in pairs(q.as_bytes()) {
            assert!(
                !matches!(
                    name.as_str(),
                    "client_secret" | "code" | "refresh_token" | "access_token" | "password"
                ),
                "accepted `{name}` in the URL query"
            );
        }
    }
    let form = pairs(body);
    let mut names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    assert!(
        names.windows(2).all(|w| w[0] != w[1]),
        "accepted a repeated parameter"
    );

    let authorization: Vec<_> = headers.get_all(AUTHORIZATION).iter().collect();
    if request.used_basic_auth() {
        assert_eq!(authorization.len(), 1);
        assert!(
            only(&form, "client_secret").is_none(),
            "Basic and body secret at once"
        );
        let value = authorization[0].to_str().expect("ASCII header");
        let (scheme, encoded) = value
            .trim()
            .split_once(' ')
            .expect("scheme and credentials");
        assert!(scheme.eq_ignore_ascii_case("basic"));
        let decoded = STANDARD.decode(encoded.trim()).expect("base64 credentials");
        let decoded = String::from_utf8(decoded).expect("UTF-8 credentials");
        let (id, secret) = decoded.split_once(':').expect("id:secret");
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        assert_eq!(request.client_id(), decode(id));
        assert_eq!(request.client_secret().expose_secret(), decode(secret));
        if let Some(body_id) = only(&form, "client_id") {
            assert_eq!(body_id, request.client_id());
        }
    } else {
        assert!(
            authorization.is_empty(),
            "accepted body credentials next to an Authorization header"
        );
        assert_eq!(only(&form, "client_id"), Some(request.client_id()));
        assert_eq!(
            only(&form, "client_secret"),
            Some(request.client_secret().expose_secret())
        );
    }
    assert!(!request.client_id().is_empty() && request.client_id().len() <= MAX_CLIENT_ID_LEN);
    let secret = request.client_secret().expose_secret();
    assert!(!secret.is_empty() && secret.len() <= MAX_CLIENT_SECRET_LEN);

    let grant_type = only(&form, "grant_type").expect("a grant type");
    match request.grant() {
        TokenGrant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            assert_eq!(grant_type, "authorization_code");
            assert_eq!(Some(code.expose_secret()), only(&form, "code"));
            assert_eq!(redirect_uri.as_deref(), only(&form, "redirect_uri"));
            assert_eq!(
                code_verifier.as_ref().map(|v| v.expose_secret()),
                only(&form, "code_verifier")
            );
        }
        TokenGrant::RefreshToken(token) => {
            assert_eq!(grant_type, "refresh_token");
            assert_eq!(Some(token.expose_secret()), only(&form, "refresh_token"));
        }
        TokenGrant::Unsupported => {
            assert!(!matches!(
                grant_type,
                "authorization_code" | "refresh_token"
            ));
        }
        _ => {}
    }
}

/// What a parsed request carries, secrets exposed, for comparing two parses.
fn summary(r: &TokenRequest) -> (String, String, bool, String, Option<String>) {
    let (kind, value, redirect) = match r.grant() {
        TokenGrant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => (
            "code",
            // The verifier is part of what both parses must agree on.
            format!(
                "{}|{:?}",
                code.expose_secret(),
                code_verifier.as_ref().map(|v| v.expose_secret())
            ),
            redirect_uri.clone(),
        ),
        TokenGrant::RefreshToken(t) => ("refresh", t.expose_secret().to_owned(), None),
        _ => ("other", String::new(), None),
    };
    (
        r.client_id().to_owned(),
        r.client_secret().expose_secret().to_owned(),
        r.used_basic_auth(),
        format!("{kind}:{value}"),
        redirect,
    )
}

fn same_outcome(
    a: Result<TokenRequest, gameauth_vegaslounge::OAuthError>,
    b: Result<TokenRequest, gameauth_vegaslounge::OAuthError>,
) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(summary(&a), summary(&b)),
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("different outcomes: {:?} / {:?}", a.is_ok(), b.is_ok()),
    }
}

/// The JSON option changes nothing for forms, and a JSON object of the form's pairs parses alike.
fn check_json_like_form(query: Option<&str>, headers: &HeaderMap, body: &[u8]) {
    let single_type = |essence: &str| {
        headers.get_all(CONTENT_TYPE).iter().count() == 1
            && headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .is_some_and(|e| e.trim().eq_ignore_ascii_case(essence))
    };
    if single_type("application/json") {
        return;
    }
    same_outcome(
        TokenRequest::parse(headers, query, body),
        TokenRequest::parse_form_or_json(headers, query, body),
    );
    if !single_type("application/x-www-form-urlencoded") {
        return;
    }
    let members: Vec<String> = pairs(body)
        .iter()
        .map(|(k, v)| {
            format!(
                "{}:{}",
                serde_json::to_string(k).expect("a string"),
                serde_json::to_string(v).expect("a string")
            )
        })
        .collect();
    let json = format!("{{{}}}", members.join(","));
    let mut json_headers = headers.clone();
    json_headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    same_outcome(
        TokenRequest::parse(headers, query, body),
        TokenRequest::parse_form_or_json(&json_headers, query, json.as_bytes()),
    );
}

/// Basic credentials built the RFC 6749 way from any id and secret parse back to them.
fn check_basic_round_trip(id: &str, secret: &str) {
    if id.is_empty()
        || secret.is_empty()
        || id.len() > MAX_CLIENT_ID_LEN
        || secret.len() > MAX_CLIENT_SECRET_LEN
    {
        return;
    }
    let credentials = format!("{}:{}", form_encode(id), form_encode(secret));
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let basic = format!("Basic {}", STANDARD.encode(credentials));
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&basic).expect("base64 header"),
    );
    let body = b"grant_type=refresh_token&refresh_token=dummy-refresh-token";
    let request = TokenRequest::parse(&headers, None, body).expect("valid Basic credentials");
    assert!(request.used_basic_auth());
    assert_eq!(request.client_id(), id);
    assert_eq!(request.client_secret().expose_secret(), secret);
}

fn check_bearer(query: Option<&str>, headers: &HeaderMap) {
    for allow_query in [false, true] {
        let Ok(token) = bearer_token(headers, query, allow_query) else {
            continue;
        };
        let from_header = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_owned());
        let from_query = query
            .filter(|_| allow_query)
            .map(|q| pairs(q.as_bytes()))
            .and_then(|p| {
                p.into_iter()
                    .find(|(k, _)| k == "access_token")
                    .map(|(_, v)| v)
            });
        let t = token.expose_secret();
        assert!(!t.is_empty());
        match (from_header, from_query) {
            (Some(h), None) => assert_eq!(t, h),
            (None, Some(q)) => assert_eq!(t, q),
            (h, q) => panic!("token accepted from header {h:?} and query {q:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [query, header_block, body] = fields::<3>(data);
    let query = query.filter(|q| !q.is_empty()).map(text);
    let headers = headers(header_block.unwrap_or_default());
    let body = body.unwrap_or_default();

    check_token_request(query.as_deref(), &headers, body);
    check_json_like_form(query.as_deref(), &headers, body);
    check_bearer(query.as_deref(), &headers);
    let form = pairs(body);
    if let (Some((_, id)), Some((_, secret))) = (form.first(), form.get(1)) {
        check_basic_round_trip(id, secret);
    }
});
