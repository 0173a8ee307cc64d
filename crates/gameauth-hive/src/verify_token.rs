//! Player token verification: request building and answer interpretation (v2 and legacy v1).
//!
//! v2 (`/v2/game/token/get-token`) sends the player's token raw in `Authorization` (no `Bearer`)
//! and an OAuth 2.0 access token in `X-Access-Token`: by default the player's own, from the same
//! client login ([`VerifyAccessToken::Player`]), or the app server's token from `/oauth/token`
//! ([`VerifyAccessToken::Server`]). The body carries `appid`, `did` (a string), `player_id` (a
//! JSON number) and optionally `include_fields`. The legacy v1 (`/game/token/get-token`) has no
//! access token and an optional `hive_certification_key`.
//!
//! Every input is checked while the request is built, before anything is sent (the server
//! token included): an empty token or access token, a `player_id` that is not positive, an empty
//! `did`, or a value HTTP cannot carry in a header.
//!
//! Fail closed: only `result_code == 0` in a well-formed body verifies a player. A success whose
//! `data` does not decode is a decode error, not a verified player.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use gameauth_core::error::sanitize_message;
use gameauth_core::{DecodeError, PlayerToken};
use http::HeaderMap;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::code::VerifyCode;
use crate::environment::ServedBy;
use crate::error::Error;
use crate::oauth::AccessToken;
use crate::request::{self, sensitive};
use crate::response::Envelope;
use gameauth_core::outbound::OutboundRequest;

/// Path of v2 token verification.
pub const V2_PATH: &str = "/v2/game/token/get-token";
/// Path of the legacy v1 token verification.
pub const V1_PATH: &str = "/game/token/get-token";

/// A player field Hive can add to a v2 verification answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IncludeField {
    /// `is_blocked`: whether the player is blocked (bool).
    IsBlocked,
    /// `is_device_registered`: whether the device is registered (bool).
    IsDeviceRegistered,
    /// `join_timestamp`: when the player joined (unix seconds).
    JoinTimestamp,
    /// `china_pi_no`: the China real-name identification number (string or null).
    ChinaPiNo,
    /// A field name this crate does not know yet (lower-case letters, digits, `_`).
    Other(String),
}

/// Serialised as its name on the wire.
impl Serialize for IncludeField {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl IncludeField {
    /// The name on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::IsBlocked => "is_blocked",
            Self::IsDeviceRegistered => "is_device_registered",
            Self::JoinTimestamp => "join_timestamp",
            Self::ChinaPiNo => "china_pi_no",
            Self::Other(name) => name,
        }
    }

    /// The field of a wire name; names outside `[a-z0-9_]+` are refused.
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] when `name` is empty or has a character other than a
    /// lower-case ASCII letter, a digit or `_`.
    pub fn parse(name: &str) -> Result<Self, Error> {
        Ok(match name {
            "is_blocked" => Self::IsBlocked,
            "is_device_registered" => Self::IsDeviceRegistered,
            "join_timestamp" => Self::JoinTimestamp,
            "china_pi_no" => Self::ChinaPiNo,
            other
                if !other.is_empty()
                    && other
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
            {
                Self::Other(other.to_owned())
            }
            _ => {
                return Err(Error::InvalidInput(
                    "include_fields names are lower-case letters, digits and `_`".into(),
                ));
            }
        })
    }

    /// Parses a comma-separated list (`"is_blocked, join_timestamp"`); empty items are skipped.
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] when a non-empty item, trimmed, is not a valid name
    /// (see [`parse`](Self::parse)).
    pub fn parse_list(list: &str) -> Result<Vec<Self>, Error> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Self::parse)
            .collect()
    }
}

/// Which OAuth 2.0 access token v2 verification sends as `X-Access-Token`.
///
/// Hive's v2 verify page (every language edition) describes that header as the OAuth 2.0 access
/// token the game client receives at login "for player identity verification", while its other
/// v2 server APIs (IdP list) take the app server's token from `/oauth/token`. The default follows
/// the verify page; [`Server`](Self::Server) keeps the other reading for consoles that issue the
/// token that way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyAccessToken {
    /// The player's own access token, passed with each request
    /// ([`VerifyParams::with_access_token`]). Needs no client credentials and no `/oauth/token`
    /// call. Hive refusing it (2499, or a failed `token_validation`) rejects the player
    /// ([`Error::PlayerAccessTokenRejected`]); nothing is retried.
    #[default]
    Player,
    /// The app server's token from `/oauth/token` (client credentials required), cached and
    /// shared. Hive refusing it drops the cached token, fetches a new one and repeats the call
    /// once; a second refusal is [`Error::AccessTokenRejected`] (our configuration, not the
    /// player's fault).
    Server,
}

/// What to verify: the player's token from the client login and who it claims to be.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyParams {
    /// The token from the client login (`PlayerInfo.token`).
    pub token: PlayerToken,
    /// The player id (`player_id`).
    pub player_id: i64,
    /// The device id (`did`).
    pub did: String,
    /// Player fields to include in the answer (v2 only).
    pub include_fields: Vec<IncludeField>,
    /// The player's OAuth 2.0 access token from the same client login, sent as `X-Access-Token`
    /// by v2 verification in the default mode ([`VerifyAccessToken::Player`]), where it is
    /// required. Not sent by v1, nor with [`VerifyAccessToken::Server`], which refuse it.
    pub access_token: Option<PlayerToken>,
}

impl VerifyParams {
    /// Parameters with no extra fields requested and no access token yet.
    pub fn new(token: PlayerToken, player_id: i64, did: impl Into<String>) -> Self {
        Self {
            token,
            player_id,
            did: did.into(),
            include_fields: Vec::new(),
            access_token: None,
        }
    }

    /// Sets the player's OAuth 2.0 access token (required by v2 verification in the default
    /// mode).
    pub fn with_access_token(mut self, access_token: PlayerToken) -> Self {
        self.access_token = Some(access_token);
        self
    }

    /// Requests `field` in the answer (v2 only).
    pub fn include(mut self, field: IncludeField) -> Self {
        if !self.include_fields.contains(&field) {
            self.include_fields.push(field);
        }
        self
    }
}

/// Checks a `player_id`: Hive's player ids are positive.
pub(crate) fn check_player_id(player_id: i64) -> Result<(), Error> {
    if player_id <= 0 {
        return Err(Error::InvalidInput(
            "player_id must be a positive integer".into(),
        ));
    }
    Ok(())
}

/// The `Authorization` header of a player's login token, after checking the token, the player
/// id and the device id that go with it.
pub(crate) fn player_authorization(
    token: &PlayerToken,
    player_id: i64,
    did: &str,
) -> Result<HeaderMap, Error> {
    if token.is_empty() {
        return Err(Error::InvalidInput("the player token is empty".into()));
    }
    check_player_id(player_id)?;
    if did.trim().is_empty() {
        return Err(Error::InvalidInput("did is empty".into()));
    }
    // Room for every header a Hive request carries, so none is added by growing the map.
    let mut headers = HeaderMap::with_capacity(crate::request::HEADERS);
    headers.insert(
        AUTHORIZATION,
        sensitive("the player token", token.expose_secret())?,
    );
    Ok(headers)
}

/// Player fields returned by v2 verification, as requested with `include_fields`.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct PlayerFields {
    /// Whether the player is blocked.
    pub is_blocked: Option<bool>,
    /// Whether the device is registered.
    pub is_device_registered: Option<bool>,
    /// When the player joined (unix seconds).
    pub join_timestamp: Option<i64>,
    /// The China real-name identification number.
    pub china_pi_no: Option<String>,
    /// Fields this crate does not know, exactly as received.
    pub extra: BTreeMap<String, Value>,
}

/// A verified player token.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedToken {
    /// The player id the token was verified for.
    pub player_id: i64,
    /// The requested player fields (empty for v1).
    pub fields: PlayerFields,
    /// Which host answered.
    pub served_by: ServedBy,
}

#[derive(Serialize)]
struct V2Body<'a> {
    appid: &'a str,
    did: &'a str,
    player_id: i64,
    #[serde(skip_serializing_if = "<[IncludeField]>::is_empty")]
    include_fields: &'a [IncludeField],
}

#[derive(Serialize)]
struct V1Body<'a> {
    appid: &'a str,
    did: &'a str,
    player_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hive_certification_key: Option<&'a str>,
}

pub(crate) const X_ACCESS_TOKEN: HeaderName = HeaderName::from_static("x-access-token");

/// The `X-Access-Token` header of the server token.
pub(crate) fn x_access_token(token: &AccessToken) -> Result<(HeaderName, HeaderValue), Error> {
    Ok((
        X_ACCESS_TOKEN,
        sensitive("the server access token", token.expose_secret())?,
    ))
}

/// Builds a v2 verification request. With [`VerifyAccessToken::Player`] it carries the
/// player's access token; with [`VerifyAccessToken::Server`] the caller adds the server token
/// to the request ([`OutboundRequest::insert_header`]).
pub(crate) fn v2_request(
    appid: &str,
    params: &VerifyParams,
    mode: VerifyAccessToken,
) -> Result<OutboundRequest, Error> {
    let mut headers = player_authorization(&params.token, params.player_id, &params.did)?;
    match (mode, &params.access_token) {
        (VerifyAccessToken::Player, Some(t)) if !t.is_empty() => {
            headers.insert(
                X_ACCESS_TOKEN,
                sensitive("the player's access token", t.expose_secret())?,
            );
        }
        (VerifyAccessToken::Player, _) => {
            return Err(Error::InvalidInput(
                "the player's access token (X-Access-Token of v2 verification) is missing or \
                 empty"
                    .into(),
            ));
        }
        (VerifyAccessToken::Server, None) => {}
        (VerifyAccessToken::Server, Some(_)) => {
            return Err(Error::InvalidInput(
                "a player access token was given, but this client sends the server token as \
                 X-Access-Token (VerifyAccessToken::Server)"
                    .into(),
            ));
        }
    }
    let body = V2Body {
        appid,
        did: &params.did,
        player_id: params.player_id,
        include_fields: &params.include_fields,
    };
    request::json(V2_PATH, headers, &body)
}

/// Builds a legacy v1 verification request.
pub(crate) fn v1_request(
    appid: &str,
    params: &VerifyParams,
    certification_key: Option<&SecretString>,
) -> Result<OutboundRequest, Error> {
    let headers = player_authorization(&params.token, params.player_id, &params.did)?;
    if !params.include_fields.is_empty() {
        return Err(Error::InvalidInput(
            "include_fields is a v2 feature; v1 cannot return player fields".into(),
        ));
    }
    if params.access_token.is_some() {
        return Err(Error::InvalidInput(
            "the player's access token is a v2 feature; v1 does not send it".into(),
        ));
    }
    let body = V1Body {
        appid,
        did: &params.did,
        player_id: params.player_id,
        hive_certification_key: certification_key.map(ExposeSecret::expose_secret),
    };
    request::json(V1_PATH, headers, &body)
}

/// Interprets a verification answer (v1 or v2, after the access-token check).
pub(crate) fn interpret(
    envelope: &Envelope,
    player_id: i64,
    served_by: ServedBy,
) -> Result<VerifiedToken, Error> {
    match VerifyCode::from_i64(envelope.result_code) {
        VerifyCode::Success => Ok(VerifiedToken {
            player_id,
            fields: fields(envelope)?,
            served_by,
        }),
        VerifyCode::DistributedTokenInvalid => Err(Error::DistributedTokenInvalid {
            message: envelope.message(),
            served_by,
        }),
        code => Err(Error::TokenRejected {
            code,
            message: envelope.message(),
            served_by,
        }),
    }
}

fn fields(envelope: &Envelope) -> Result<PlayerFields, Error> {
    match envelope.data::<DataFields>()? {
        None => Ok(PlayerFields::default()),
        Some(DataFields(fields)) => fields,
    }
}

/// `data` of a successful v2 verification, read member by member: the known fields leniently
/// (the first one that does not fit is the error), the others kept as they are. Keys are
/// borrowed from the body, so an answer with only known fields allocates nothing here.
struct DataFields(Result<PlayerFields, Error>);

impl<'de> Deserialize<'de> for DataFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DataFieldsVisitor)
    }
}

struct DataFieldsVisitor;

impl<'de> Visitor<'de> for DataFieldsVisitor {
    type Value = DataFields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DataFields, A::Error> {
        let mut fields = PlayerFields::default();
        let mut first_error = None;
        while let Some(Key(name)) = map.next_key::<Key<'de>>()? {
            let value: Value = map.next_value()?;
            if first_error.is_some() {
                continue;
            }
            let read = match &*name {
                "is_blocked" => lenient_bool(&name, &value).map(|v| fields.is_blocked = v),
                "is_device_registered" => {
                    lenient_bool(&name, &value).map(|v| fields.is_device_registered = v)
                }
                "join_timestamp" => lenient_i64(&name, &value).map(|v| fields.join_timestamp = v),
                "china_pi_no" => lenient_string(&name, &value).map(|v| fields.china_pi_no = v),
                _ => {
                    fields.extra.insert(name.into_owned(), value);
                    Ok(())
                }
            };
            first_error = read.err();
        }
        Ok(DataFields(first_error.map_or(Ok(fields), Err)))
    }
}

/// A member name, borrowed from the input unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

fn bad(name: &str, reason: &str) -> Error {
    Error::Decode(DecodeError::new(format!("data.{name}"), reason))
}

/// `true`/`false`, `1`/`0`, or those as strings; `null` is absent.
fn lenient_bool(name: &str, value: &Value) -> Result<Option<bool>, Error> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Number(n) if n.as_i64() == Some(1) => Ok(Some(true)),
        Value::Number(n) if n.as_i64() == Some(0) => Ok(Some(false)),
        Value::String(s) => match s.trim() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(bad(name, "expected a boolean")),
        },
        _ => Err(bad(name, "expected a boolean")),
    }
}

/// An integer number or a string holding one; `null` is absent.
fn lenient_i64(name: &str, value: &Value) -> Result<Option<i64>, Error> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad(name, "expected an integer")),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad(name, "expected an integer")),
        _ => Err(bad(name, "expected an integer")),
    }
}

/// A string, or a number kept as its text; `null` is absent.
fn lenient_string(name: &str, value: &Value) -> Result<Option<String>, Error> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(sanitize_message(s))),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(bad(name, "expected a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> VerifyParams {
        VerifyParams::new(PlayerToken::new("player-token"), 21, "255764404509548")
    }

    fn decode(body: &str) -> Envelope {
        Envelope::decode(&bytes::Bytes::copy_from_slice(body.as_bytes())).unwrap()
    }

    fn with_access_token() -> VerifyParams {
        params().with_access_token(PlayerToken::new("player-jwt"))
    }

    #[test]
    fn v2_request_sends_player_id_as_number_did_as_string_and_sensitive_headers() {
        let p = with_access_token()
            .include(IncludeField::IsBlocked)
            .include(IncludeField::JoinTimestamp);
        let r = v2_request("com.withhive", &p, VerifyAccessToken::Player).unwrap();
        assert_eq!(r.path_and_query(), "/v2/game/token/get-token");
        assert_eq!(
            std::str::from_utf8(r.body()).unwrap(),
            r#"{"appid":"com.withhive","did":"255764404509548","player_id":21,"include_fields":["is_blocked","join_timestamp"]}"#
        );
        assert_eq!(r.headers()["authorization"], "player-token");
        assert!(r.headers()["authorization"].is_sensitive());
        assert_eq!(r.headers()["x-access-token"], "player-jwt");
        assert!(r.headers()["x-access-token"].is_sensitive());
        assert_eq!(r.headers()["iscrypt"], "0");
        assert_eq!(r.headers()["content-type"], "application/json");
    }

    #[test]
    fn the_server_token_mode_leaves_x_access_token_to_each_attempt() {
        let r = v2_request("a", &params(), VerifyAccessToken::Server).unwrap();
        assert!(!r.headers().contains_key("x-access-token"));
        let (name, value) = x_access_token(&AccessToken::new("server-jwt")).unwrap();
        let mut attempt = r.clone();
        attempt.insert_header(name, value);
        assert_eq!(attempt.headers()["x-access-token"], "server-jwt");
        assert!(attempt.headers()["x-access-token"].is_sensitive());
        assert_eq!(attempt.headers()["authorization"], "player-token");
        assert_eq!(attempt.body(), r.body());
    }

    #[test]
    fn the_access_token_goes_with_its_mode_only() {
        for (p, mode) in [
            (params(), VerifyAccessToken::Player),
            (
                params().with_access_token(PlayerToken::new("")),
                VerifyAccessToken::Player,
            ),
            (with_access_token(), VerifyAccessToken::Server),
        ] {
            match v2_request("a", &p, mode) {
                Err(Error::InvalidInput(m)) => assert!(m.contains("access token"), "{m}"),
                other => panic!(
                    "{mode:?}: {:?}",
                    other.map(|r| r.path_and_query().to_owned())
                ),
            }
        }
        assert!(matches!(
            v1_request("a", &with_access_token(), None),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn include_fields_is_omitted_when_none_requested() {
        let r = v2_request("a", &with_access_token(), VerifyAccessToken::Player).unwrap();
        assert!(
            !std::str::from_utf8(r.body())
                .unwrap()
                .contains("include_fields")
        );
    }

    #[test]
    fn v1_request_has_the_optional_certification_key_and_no_access_token() {
        let key = SecretString::from("cert-key");
        let r = v1_request("com.withhive", &params(), Some(&key)).unwrap();
        assert_eq!(r.path_and_query(), "/game/token/get-token");
        assert_eq!(
            std::str::from_utf8(r.body()).unwrap(),
            r#"{"appid":"com.withhive","did":"255764404509548","player_id":21,"hive_certification_key":"cert-key"}"#
        );
        assert!(!r.headers().contains_key("x-access-token"));
        let r = v1_request("com.withhive", &params(), None).unwrap();
        assert!(
            !std::str::from_utf8(r.body())
                .unwrap()
                .contains("hive_certification_key")
        );
    }

    #[test]
    fn bad_input_is_refused_before_sending() {
        let invalid = |r: Result<OutboundRequest, Error>| matches!(r, Err(Error::InvalidInput(_)));
        for (token, player_id, did) in [
            ("", 21, "d"),
            ("t", -1, "d"),
            ("t", 0, "d"),
            ("t", 21, " "),
            ("t\r\nX-Evil: 1", 21, "d"),
        ] {
            let p = VerifyParams::new(PlayerToken::new(token), player_id, did);
            let with_access = p.clone().with_access_token(PlayerToken::new("player-jwt"));
            assert!(invalid(v2_request(
                "a",
                &with_access,
                VerifyAccessToken::Player
            )));
            assert!(invalid(v2_request("a", &p, VerifyAccessToken::Server)));
            assert!(invalid(v1_request("a", &p, None)));
        }
        let newline = params().with_access_token(PlayerToken::new("jwt\r\nX-Evil: 1"));
        assert!(invalid(v2_request(
            "a",
            &newline,
            VerifyAccessToken::Player
        )));
        let v1_with_fields = params().include(IncludeField::IsBlocked);
        assert!(matches!(
            v1_request("a", &v1_with_fields, None),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn include_fields_parse_known_and_open_names() {
        assert_eq!(
            IncludeField::parse_list(" is_blocked,china_pi_no,,new_field ").unwrap(),
            vec![
                IncludeField::IsBlocked,
                IncludeField::ChinaPiNo,
                IncludeField::Other("new_field".into())
            ]
        );
        assert!(IncludeField::parse("Bad Name").is_err());
    }

    #[test]
    fn only_result_code_zero_verifies() {
        let ok = interpret(&decode(r#"{"result_code":0}"#), 21, ServedBy::Primary).unwrap();
        assert_eq!((ok.player_id, ok.served_by), (21, ServedBy::Primary));
        assert_eq!(ok.fields, PlayerFields::default());
        for (body, code) in [
            (
                r#"{"result_code":7000,"result_msg":"invalid token"}"#,
                VerifyCode::InvalidToken,
            ),
            (r#"{"result_code":"4000"}"#, VerifyCode::InvalidParameter),
            (r#"{"result_code":-1}"#, VerifyCode::Other(-1)),
            (r#"{"result_code":1}"#, VerifyCode::Other(1)),
        ] {
            match interpret(&decode(body), 21, ServedBy::Primary) {
                Err(Error::TokenRejected { code: c, .. }) => assert_eq!(c, code),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn code_5001_is_its_own_error_kind() {
        let e = interpret(
            &decode(r#"{"result_code":5001,"result_msg":"x"}"#),
            21,
            ServedBy::Fallback,
        );
        assert!(matches!(
            e,
            Err(Error::DistributedTokenInvalid {
                served_by: ServedBy::Fallback,
                ..
            })
        ));
    }

    #[test]
    fn requested_fields_are_typed_and_unknown_fields_kept() {
        let body = r#"{"result_code":0,"data":{"is_blocked":false,"is_device_registered":"1",
            "join_timestamp":"1711954264","china_pi_no":null,"vip":{"level":3}}}"#;
        let v = interpret(&decode(body), 21, ServedBy::Primary).unwrap();
        assert_eq!(v.fields.is_blocked, Some(false));
        assert_eq!(v.fields.is_device_registered, Some(true));
        assert_eq!(v.fields.join_timestamp, Some(1_711_954_264));
        assert_eq!(v.fields.china_pi_no, None);
        assert_eq!(v.fields.extra["vip"], serde_json::json!({"level": 3}));
    }

    #[test]
    fn success_with_malformed_fields_fails_closed() {
        for (body, path) in [
            (
                r#"{"result_code":0,"data":{"is_blocked":"maybe"}}"#,
                "data.is_blocked",
            ),
            (
                r#"{"result_code":0,"data":{"join_timestamp":1.5}}"#,
                "data.join_timestamp",
            ),
            (r#"{"result_code":0,"data":[1]}"#, "data"),
        ] {
            match interpret(&decode(body), 21, ServedBy::Primary) {
                Err(Error::Decode(d)) => assert_eq!(d.path, path, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }
}
