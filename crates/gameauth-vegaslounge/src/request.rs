//! Parsing what Vegas Lounge sends: token-endpoint forms (or JSON objects, when enabled) and
//! bearer credentials.
//!
//! Pure functions over `http` headers and raw bytes, so any HTTP framework can use them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::{AUTHORIZATION, CONTENT_TYPE};

use crate::error::{OAuthError, Reason};
use crate::params::Params;
use crate::registry::{MAX_CLIENT_ID_LEN, MAX_CLIENT_SECRET_LEN, MAX_REDIRECT_URI_LEN};
use crate::token::{AccessToken, AuthorizationCode, ClientSecret, CodeVerifier, RefreshToken};

/// Longest authorization code or refresh token accepted (TEXT(255)).
pub const MAX_TOKEN_LEN: usize = 255;

/// Query parameters that would put a credential into access logs: refused on the token endpoint.
const SECRET_QUERY_PARAMS: [&str; 5] = [
    "client_secret",
    "code",
    "refresh_token",
    "access_token",
    "password",
];

/// The grant a token request asks for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TokenGrant {
    /// `grant_type=authorization_code`.
    AuthorizationCode {
        /// The code.
        code: AuthorizationCode,
        /// The `redirect_uri`, when sent (Vegas Lounge sends none).
        redirect_uri: Option<String>,
        /// The PKCE `code_verifier`, when sent (RFC 7636; Vegas Lounge sends none).
        code_verifier: Option<CodeVerifier>,
    },
    /// `grant_type=refresh_token`.
    RefreshToken(RefreshToken),
    /// Any other grant type (answered with `unsupported_grant_type` after client
    /// authentication).
    Unsupported,
}

/// A parsed `POST /oauth2.0/token` (or `/oauth2.0/refresh`) request.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    client_id: String,
    client_secret: ClientSecret,
    basic: bool,
    grant: TokenGrant,
}

impl TokenRequest {
    /// Parses a token request from its headers, raw URL query and raw body.
    ///
    /// Enforces: `application/x-www-form-urlencoded` only; no credentials or codes in the URL
    /// query; no repeated parameter; one client-authentication method (body credentials as
    /// Vegas Lounge sends them, or HTTP Basic); the contract's field lengths.
    ///
    /// # Errors
    ///
    /// Returns an [`OAuthError`] whose [`reason`](OAuthError::reason) is, in the order checked:
    /// * [`Reason::CredentialsInQuery`] when the URL query has `client_secret`, `code`,
    ///   `refresh_token`, `access_token` or `password`;
    /// * [`Reason::UnsupportedMediaType`] unless there is exactly one `Content-Type` header and
    ///   it is `application/x-www-form-urlencoded`;
    /// * [`Reason::DuplicateParameter`] when a body parameter is repeated;
    /// * [`Reason::MissingParameter`] (`grant_type`) or [`Reason::ParameterTooLong`] when
    ///   `grant_type` is absent or over 64 bytes, `client_id` over [`MAX_CLIENT_ID_LEN`] (40),
    ///   `client_secret` over [`MAX_CLIENT_SECRET_LEN`] (255) bytes;
    /// * [`Reason::MalformedAuthorization`] when `Authorization` is repeated, not ASCII text,
    ///   not `Basic`, or not base64 of UTF-8 `id:secret`;
    /// * [`Reason::ClientAuthenticationMissing`] when Basic has an empty id or secret, or there
    ///   is no Basic and the body lacks `client_id` or `client_secret`;
    /// * [`Reason::MultipleClientAuthentication`] when Basic is used together with a body
    ///   `client_secret` or a different body `client_id`;
    /// * [`Reason::MissingParameter`] or [`Reason::ParameterTooLong`] for `code` or
    ///   `refresh_token` (absent, or over [`MAX_TOKEN_LEN`] bytes) and `redirect_uri` (over
    ///   [`MAX_REDIRECT_URI_LEN`] bytes) of the grant asked for.
    ///
    /// Another `grant_type` is no error here: it parses as [`TokenGrant::Unsupported`].
    pub fn parse(
        headers: &HeaderMap,
        raw_query: Option<&str>,
        body: &[u8],
    ) -> Result<Self, OAuthError> {
        Self::parse_body(headers, raw_query, body, false)
    }

    /// Like [`parse`](Self::parse), but a body sent as `application/json` is accepted too: the
    /// same fields as the members of one JSON object, under the same rules and with the same
    /// errors. A repeated member is a repeated parameter; a value that is not a string (number,
    /// `null`, array, object, boolean), or a body that is not one JSON object, is
    /// [`Reason::MalformedParameter`]; an empty string is absent, as an empty form value is.
    ///
    /// # Errors
    ///
    /// Those of [`parse`](Self::parse), with `application/json` accepted as a media type, and
    /// [`Reason::MalformedParameter`] when the JSON body is not one object or a member's value is
    /// not a string.
    pub fn parse_form_or_json(
        headers: &HeaderMap,
        raw_query: Option<&str>,
        body: &[u8],
    ) -> Result<Self, OAuthError> {
        Self::parse_body(headers, raw_query, body, true)
    }

    fn parse_body(
        headers: &HeaderMap,
        raw_query: Option<&str>,
        body: &[u8],
        json_allowed: bool,
    ) -> Result<Self, OAuthError> {
        if let Some(q) = raw_query {
            let query = Params::parse(q.as_bytes());
            if SECRET_QUERY_PARAMS.iter().any(|p| query.contains(p)) {
                return Err(Reason::CredentialsInQuery.into());
            }
        }
        let form = match body_type(headers) {
            Some(BodyType::Form) => Params::parse(body),
            Some(BodyType::Json) if json_allowed => Params::parse_json(body)?,
            _ => return Err(Reason::UnsupportedMediaType.into()),
        };
        if form.has_duplicates() {
            return Err(Reason::DuplicateParameter("parameter").into());
        }
        let grant_type = form.require("grant_type", 64)?;
        let body_id = form.get("client_id", MAX_CLIENT_ID_LEN)?;
        let body_secret = form.get("client_secret", MAX_CLIENT_SECRET_LEN)?;
        let (client_id, client_secret, basic) = match basic_credentials(headers)? {
            Some((id, secret)) => {
                if body_secret.is_some() || body_id.is_some_and(|b| b != id) {
                    return Err(Reason::MultipleClientAuthentication.into());
                }
                (id, secret, true)
            }
            None => match (body_id, body_secret) {
                (Some(id), Some(secret)) => (id.to_owned(), secret.to_owned(), false),
                _ => return Err(Reason::ClientAuthenticationMissing.into()),
            },
        };
        let grant = match grant_type {
            "authorization_code" => TokenGrant::AuthorizationCode {
                code: AuthorizationCode::new(form.require("code", MAX_TOKEN_LEN)?),
                redirect_uri: form
                    .get("redirect_uri", MAX_REDIRECT_URI_LEN)?
                    .map(str::to_owned),
                code_verifier: form
                    .get("code_verifier", MAX_TOKEN_LEN)?
                    .map(CodeVerifier::new),
            },
            "refresh_token" => TokenGrant::RefreshToken(RefreshToken::new(
                form.require("refresh_token", MAX_TOKEN_LEN)?,
            )),
            _ => TokenGrant::Unsupported,
        };
        Ok(Self {
            client_id,
            client_secret: ClientSecret::new(client_secret),
            basic,
            grant,
        })
    }

    /// The presented client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The presented client secret.
    pub fn client_secret(&self) -> &ClientSecret {
        &self.client_secret
    }

    /// Whether the client authenticated with HTTP Basic (its failures then carry
    /// `WWW-Authenticate: Basic`).
    pub fn used_basic_auth(&self) -> bool {
        self.basic
    }

    /// The requested grant.
    pub fn grant(&self) -> &TokenGrant {
        &self.grant
    }
}

/// The encodings a token request body may have.
enum BodyType {
    Form,
    Json,
}

/// The body type named by the one `Content-Type` header (parameters such as `charset` aside).
fn body_type(headers: &HeaderMap) -> Option<BodyType> {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let essence = value.to_str().ok()?.split(';').next()?.trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(BodyType::Form)
    } else if essence.eq_ignore_ascii_case("application/json") {
        Some(BodyType::Json)
    } else {
        None
    }
}

fn single_authorization(headers: &HeaderMap) -> Result<Option<&str>, Reason> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v
            .to_str()
            .map(Some)
            .map_err(|_| Reason::MalformedAuthorization),
        (Some(_), Some(_)) => Err(Reason::MalformedAuthorization),
    }
}

fn split_scheme(value: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    Some((scheme, rest.trim()))
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, Reason> {
    let Some(value) = single_authorization(headers)? else {
        return Ok(None);
    };
    let (scheme, encoded) = split_scheme(value).ok_or(Reason::MalformedAuthorization)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Reason::MalformedAuthorization);
    }
    let decoded = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|d| String::from_utf8(d).ok())
        .ok_or(Reason::MalformedAuthorization)?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or(Reason::MalformedAuthorization)?;
    let id = form_decode(id);
    let secret = form_decode(secret);
    if id.is_empty() || secret.is_empty() {
        return Err(Reason::ClientAuthenticationMissing);
    }
    if id.len() > MAX_CLIENT_ID_LEN {
        return Err(Reason::ParameterTooLong("client_id"));
    }
    if secret.len() > MAX_CLIENT_SECRET_LEN {
        return Err(Reason::ParameterTooLong("client_secret"));
    }
    Ok(Some((id, secret)))
}

fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The access token of a `GET /account` request.
///
/// `Authorization: Bearer <token>` (scheme case-insensitive); the `access_token` query
/// parameter only when `allow_query` is set (and never together with the header). Another
/// scheme, or nothing, is "no credentials" ([`Reason::TokenMissing`]).
///
/// # Errors
///
/// Returns an [`OAuthError`] whose [`reason`](OAuthError::reason) is
/// * [`Reason::MalformedAuthorization`] when `Authorization` is repeated or not ASCII text;
/// * [`Reason::TokenInvalid`] when the header is `Bearer` with no token or a token containing a
///   space;
/// * [`Reason::DuplicateParameter`] (`access_token`) when the query is allowed and repeats it;
/// * [`Reason::MultipleClientAuthentication`] when both the header and the query carry a token;
/// * [`Reason::TokenMissing`] when neither does (another scheme counts as none).
pub fn bearer_token(
    headers: &HeaderMap,
    raw_query: Option<&str>,
    allow_query: bool,
) -> Result<AccessToken, OAuthError> {
    let from_header = match single_authorization(headers)? {
        Some(value) => match split_scheme(value) {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                if token.is_empty() || token.contains(' ') {
                    return Err(Reason::TokenInvalid.into());
                }
                Some(token)
            }
            Some(_) => None,
            None if value.trim().eq_ignore_ascii_case("bearer") => {
                return Err(Reason::TokenInvalid.into());
            }
            None => None,
        },
        None => None,
    };
    let from_query = match (allow_query, raw_query) {
        (true, Some(q)) => Params::parse(q.as_bytes())
            .get("access_token", usize::MAX)?
            .map(str::to_owned),
        _ => None,
    };
    match (from_header, from_query) {
        (Some(_), Some(_)) => Err(Reason::MultipleClientAuthentication.into()),
        (Some(t), None) => Ok(AccessToken::new(t)),
        (None, Some(t)) => Ok(AccessToken::new(t)),
        (None, None) => Err(Reason::TokenMissing.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

    fn reason(r: Result<TokenRequest, OAuthError>) -> Reason {
        r.unwrap_err().reason()
    }

    #[test]
    fn body_credentials_as_vegaslounge_sends_them() {
        let r = TokenRequest::parse(
            &headers(&[FORM]),
            None,
            b"grant_type=authorization_code&code=abc&client_id=VL001&client_secret=s",
        )
        .unwrap();
        assert_eq!(r.client_id(), "VL001");
        assert!(r.client_secret().ct_eq("s"));
        assert!(!r.used_basic_auth());
        assert!(matches!(
            r.grant(),
            TokenGrant::AuthorizationCode {
                redirect_uri: None,
                ..
            }
        ));
    }

    #[test]
    fn basic_credentials_are_url_decoded() {
        let auth = format!("basic {}", STANDARD.encode("VL%30%301:p%3Aw+d"));
        let r = TokenRequest::parse(
            &headers(&[FORM, ("authorization", &auth)]),
            None,
            b"grant_type=refresh_token&refresh_token=r",
        )
        .unwrap();
        assert_eq!(r.client_id(), "VL001");
        assert!(r.client_secret().ct_eq("p:w d"));
        assert!(r.used_basic_auth());
    }

    #[test]
    fn form_content_type_allows_a_charset() {
        let h = headers(&[(
            "content-type",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
        )]);
        assert!(TokenRequest::parse(&h, None, b"grant_type=x&client_id=a&client_secret=b").is_ok());
        let h = headers(&[("content-type", "application/json")]);
        assert_eq!(
            reason(TokenRequest::parse(&h, None, b"{}")),
            Reason::UnsupportedMediaType
        );
    }

    const JSON: (&str, &str) = ("content-type", "application/json");

    /// The same request as a form and as a JSON object parse alike, or fail alike.
    fn same_as_form(form: &[u8], json: &[u8]) {
        let json_headers = headers(&[JSON]);
        let a = TokenRequest::parse(&headers(&[FORM]), None, form);
        let b = TokenRequest::parse_form_or_json(&json_headers, None, json);
        match (a, b) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.client_id(), b.client_id());
                assert!(b.client_secret().ct_eq(a.client_secret().expose_secret()));
                assert_eq!(format!("{:?}", a.grant()), format!("{:?}", b.grant()));
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{}", String::from_utf8_lossy(json)),
            (a, b) => panic!("form {a:?}, json {b:?}"),
        }
    }

    #[test]
    fn json_bodies_are_refused_unless_enabled() {
        let body = br#"{"grant_type":"authorization_code","code":"abc","client_id":"VL001","client_secret":"s"}"#;
        assert_eq!(
            reason(TokenRequest::parse(&headers(&[JSON]), None, body)),
            Reason::UnsupportedMediaType
        );
        let r = TokenRequest::parse_form_or_json(
            &headers(&[("content-type", "Application/JSON; charset=utf-8")]),
            None,
            body,
        )
        .unwrap();
        assert_eq!(r.client_id(), "VL001");
        assert!(
            matches!(r.grant(), TokenGrant::AuthorizationCode { code, .. } if code.expose_secret() == "abc")
        );
        for other in ["text/plain", "application/jsonx", "multipart/form-data"] {
            assert_eq!(
                reason(TokenRequest::parse_form_or_json(
                    &headers(&[("content-type", other)]),
                    None,
                    body
                )),
                Reason::UnsupportedMediaType,
                "{other}"
            );
        }
        // The form keeps working when JSON is enabled.
        assert!(
            TokenRequest::parse_form_or_json(
                &headers(&[FORM]),
                None,
                b"grant_type=refresh_token&refresh_token=r&client_id=a&client_secret=b"
            )
            .is_ok()
        );
    }

    #[test]
    fn json_bodies_get_the_validation_and_errors_of_the_form() {
        let long = "x".repeat(MAX_TOKEN_LEN + 1);
        let cases: [(String, String); 9] = [
            (
                "grant_type=authorization_code&code=abc&client_id=VL001&client_secret=s".into(),
                r#"{"grant_type":"authorization_code","code":"abc","client_id":"VL001","client_secret":"s"}"#.into(),
            ),
            (
                "grant_type=refresh_token&refresh_token=r&client_id=a&client_secret=b&redirect_uri=".into(),
                r#"{"grant_type":"refresh_token","refresh_token":"r","client_id":"a","client_secret":"b","redirect_uri":""}"#.into(),
            ),
            (
                "grant_type=authorization_code&code=a&code=b&client_id=a&client_secret=b".into(),
                r#"{"grant_type":"authorization_code","code":"a","code":"b","client_id":"a","client_secret":"b"}"#.into(),
            ),
            (
                "grant_type=authorization_code&client_id=a&client_secret=b".into(),
                r#"{"grant_type":"authorization_code","client_id":"a","client_secret":"b"}"#.into(),
            ),
            (
                "grant_type=authorization_code&code=abc&client_id=a".into(),
                r#"{"grant_type":"authorization_code","code":"abc","client_id":"a"}"#.into(),
            ),
            (
                format!("grant_type=authorization_code&code={long}&client_id=a&client_secret=b"),
                format!(r#"{{"grant_type":"authorization_code","code":"{long}","client_id":"a","client_secret":"b"}}"#),
            ),
            (
                "code=abc&client_id=a&client_secret=b".into(),
                r#"{"code":"abc","client_id":"a","client_secret":"b"}"#.into(),
            ),
            (
                "grant_type=password&client_id=a&client_secret=b".into(),
                r#"{"grant_type":"password","client_id":"a","client_secret":"b"}"#.into(),
            ),
            (
                "grant_type=authorization_code&code=abc&client_id=a&client_secret=b&extra=1".into(),
                r#"{"grant_type":"authorization_code","code":"abc","client_id":"a","client_secret":"b","extra":"1"}"#.into(),
            ),
        ];
        for (form, json) in &cases {
            same_as_form(form.as_bytes(), json.as_bytes());
        }
    }

    #[test]
    fn json_values_that_are_not_strings_are_malformed_parameters() {
        let body = br#"{"grant_type":"authorization_code","code":123,"client_id":"a","client_secret":"b"}"#;
        assert_eq!(
            reason(TokenRequest::parse_form_or_json(
                &headers(&[JSON]),
                None,
                body
            )),
            Reason::MalformedParameter("code")
        );
        for body in [&b"[]"[..], b"", b"{", b"null"] {
            assert_eq!(
                reason(TokenRequest::parse_form_or_json(
                    &headers(&[JSON]),
                    None,
                    body
                )),
                Reason::MalformedParameter("body")
            );
        }
    }

    #[test]
    fn json_bodies_keep_the_one_authentication_method_and_query_rules() {
        let auth = format!("Basic {}", STANDARD.encode("VL001:s"));
        let both = br#"{"grant_type":"refresh_token","refresh_token":"r","client_id":"VL001","client_secret":"s"}"#;
        assert_eq!(
            reason(TokenRequest::parse_form_or_json(
                &headers(&[JSON, ("authorization", &auth)]),
                None,
                both
            )),
            Reason::MultipleClientAuthentication
        );
        let basic_only = br#"{"grant_type":"refresh_token","refresh_token":"r"}"#;
        assert!(
            TokenRequest::parse_form_or_json(
                &headers(&[JSON, ("authorization", &auth)]),
                None,
                basic_only
            )
            .unwrap()
            .used_basic_auth()
        );
        assert_eq!(
            reason(TokenRequest::parse_form_or_json(
                &headers(&[JSON]),
                Some("code=abc"),
                both
            )),
            Reason::CredentialsInQuery
        );
    }

    #[test]
    fn unknown_grant_types_parse_as_unsupported() {
        let r = TokenRequest::parse(
            &headers(&[FORM]),
            None,
            b"grant_type=password&client_id=a&client_secret=b",
        )
        .unwrap();
        assert!(matches!(r.grant(), TokenGrant::Unsupported));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_query_needs_opt_in() {
        let h = headers(&[("authorization", "bEaReR tok-1")]);
        assert_eq!(
            bearer_token(&h, None, false).unwrap().expose_secret(),
            "tok-1"
        );
        let none = HeaderMap::new();
        assert_eq!(
            bearer_token(&none, Some("access_token=t"), false)
                .unwrap_err()
                .reason(),
            Reason::TokenMissing
        );
        assert_eq!(
            bearer_token(&none, Some("access_token=t"), true)
                .unwrap()
                .expose_secret(),
            "t"
        );
        assert_eq!(
            bearer_token(&h, Some("access_token=t"), true)
                .unwrap_err()
                .reason(),
            Reason::MultipleClientAuthentication
        );
        let basic = headers(&[("authorization", "Basic abc")]);
        assert_eq!(
            bearer_token(&basic, None, false).unwrap_err().reason(),
            Reason::TokenMissing
        );
    }
}
