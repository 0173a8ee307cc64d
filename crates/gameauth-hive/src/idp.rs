//! The list of identity-provider (IdP) accounts linked to a player (v2 and legacy v1).
//!
//! `idp_index` is an open set of integers (new IdPs appear, 1000 and above are custom), so it is
//! kept as a number with a name lookup rather than a closed enum.

use gameauth_core::lenient::{i64_lenient, string_or_number};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::code::IdpCode;
use crate::environment::ServedBy;
use crate::error::Error;
use crate::request;
use crate::response::Envelope;
use crate::verify_token::check_player_id;
use gameauth_core::outbound::OutboundRequest;

/// Path of the v2 IdP list.
pub const V2_PATH: &str = "/v2/game/player/get-idp";
/// Path of the legacy v1 IdP list.
pub const V1_PATH: &str = "/game/player/get-idp";

/// The index of an identity provider, as Hive numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdpIndex(pub i64);

impl IdpIndex {
    /// Guest: a player who has not signed in with any IdP.
    pub const GUEST: Self = Self(0);
    /// Hive membership.
    pub const HIVE: Self = Self(1);
    /// Facebook.
    pub const FACEBOOK: Self = Self(2);
    /// Google (Play Games Services).
    pub const GOOGLE: Self = Self(3);
    /// QQ.
    pub const QQ: Self = Self(4);
    /// Weibo.
    pub const WEIBO: Self = Self(5);
    /// VK.
    pub const VK: Self = Self(6);
    /// WeChat.
    pub const WECHAT: Self = Self(7);
    /// Apple Game Center.
    pub const APPLE_GAME_CENTER: Self = Self(8);
    /// Sign in with Apple.
    pub const SIGN_IN_WITH_APPLE: Self = Self(9);
    /// LINE.
    pub const LINE: Self = Self(10);
    /// Weverse.
    pub const WEVERSE: Self = Self(12);
    /// The first index of a game's custom IdPs.
    pub const CUSTOM_START: i64 = 1000;

    /// The documented name, `None` for an index this crate does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "GUEST",
            1 => "HIVE",
            2 => "Facebook",
            3 => "Google",
            4 => "QQ",
            5 => "Weibo",
            6 => "VK",
            7 => "WeChat",
            8 => "Apple Game Center",
            9 => "Sign in with Apple",
            10 => "LINE",
            12 => "Weverse",
            n if n >= Self::CUSTOM_START => "custom",
            _ => return None,
        })
    }

    /// Whether this is a game's custom IdP (1000 and above).
    pub fn is_custom(self) -> bool {
        self.0 >= Self::CUSTOM_START
    }
}

/// One IdP account linked to a player.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct IdpAccount {
    /// Hive's key of this link.
    #[serde(deserialize_with = "i64_lenient")]
    pub seq: i64,
    /// The player id.
    #[serde(deserialize_with = "i64_lenient")]
    pub player_id: i64,
    /// The user id at the IdP.
    #[serde(deserialize_with = "string_or_number")]
    pub idp_user_id: String,
    /// Which IdP.
    #[serde(deserialize_with = "idp_index")]
    pub idp_index: IdpIndex,
    /// The IdP's identifier (e.g. `"HIVE"`, `"FACEBOOK"`).
    #[serde(deserialize_with = "string_or_number")]
    pub idp_id: String,
}

/// Reads an `idp_index` given as a number or as a string holding one.
pub(crate) fn idp_index<'de, D: serde::Deserializer<'de>>(d: D) -> Result<IdpIndex, D::Error> {
    i64_lenient(d).map(IdpIndex)
}

/// The IdP accounts of a player.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdpList {
    /// The linked accounts, in Hive's order.
    pub accounts: Vec<IdpAccount>,
    /// Which host answered.
    pub served_by: ServedBy,
}

#[derive(Serialize)]
struct Body<'a> {
    appid: &'a str,
    player_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hive_certification_key: Option<&'a str>,
}

fn request(
    path: &'static str,
    appid: &str,
    player_id: i64,
    certification_key: Option<&SecretString>,
) -> Result<OutboundRequest, Error> {
    check_player_id(player_id)?;
    let body = Body {
        appid,
        player_id,
        hive_certification_key: certification_key.map(ExposeSecret::expose_secret),
    };
    request::json(path, HeaderMap::with_capacity(request::HEADERS), &body)
}

/// Builds a v2 IdP list request; the caller adds the server token to each attempt
/// ([`OutboundRequest::insert_header`]).
pub(crate) fn v2_request(appid: &str, player_id: i64) -> Result<OutboundRequest, Error> {
    request(V2_PATH, appid, player_id, None)
}

/// Builds a legacy v1 IdP list request.
pub(crate) fn v1_request(
    appid: &str,
    player_id: i64,
    certification_key: Option<&SecretString>,
) -> Result<OutboundRequest, Error> {
    request(V1_PATH, appid, player_id, certification_key)
}

/// Interprets an IdP list answer (after the access-token check).
pub(crate) fn interpret(envelope: &Envelope, served_by: ServedBy) -> Result<IdpList, Error> {
    match IdpCode::from_i64(envelope.result_code) {
        IdpCode::Success => Ok(IdpList {
            accounts: envelope.data::<Vec<IdpAccount>>()?.unwrap_or_default(),
            served_by,
        }),
        code => Err(Error::IdpRejected {
            code,
            message: envelope.message(),
            served_by,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idp_index_is_an_open_integer_with_names() {
        assert_eq!(IdpIndex(0).name(), Some("GUEST"));
        assert_eq!(IdpIndex::HIVE.name(), Some("HIVE"));
        assert_eq!(IdpIndex(2).name(), Some("Facebook"));
        assert_eq!(IdpIndex(3).name(), Some("Google"));
        assert_eq!(IdpIndex(8).name(), Some("Apple Game Center"));
        assert_eq!(IdpIndex(9).name(), Some("Sign in with Apple"));
        assert_eq!(IdpIndex(10).name(), Some("LINE"));
        assert_eq!(IdpIndex(11).name(), None);
        assert_eq!(IdpIndex(1003).name(), Some("custom"));
        assert!(IdpIndex(1003).is_custom());
        assert!(!IdpIndex::LINE.is_custom());
    }

    #[test]
    fn accounts_decode_numbers_given_as_strings() {
        let e = Envelope::decode(&bytes::Bytes::from_static(
            br#"{"result_code":"0","data":[
                {"seq":10000000067,"player_id":90000000062,"idp_user_id":"u1","idp_index":1,"idp_id":"HIVE"},
                {"seq":"10000000068","player_id":"90000000062","idp_user_id":123,"idp_index":"1004","idp_id":"CUSTOM","new":1}
            ]}"#,
        ))
        .unwrap();
        let list = interpret(&e, ServedBy::Primary).unwrap();
        assert_eq!(list.accounts.len(), 2);
        assert_eq!(list.accounts[0].idp_index, IdpIndex::HIVE);
        assert_eq!(list.accounts[1].seq, 10_000_000_068);
        assert_eq!(list.accounts[1].player_id, 90_000_000_062);
        assert_eq!(list.accounts[1].idp_user_id, "123");
        assert_eq!(list.accounts[1].idp_index, IdpIndex(1004));
    }

    #[test]
    fn no_user_data_is_a_typed_rejection() {
        let e = Envelope::decode(&bytes::Bytes::from_static(
            br#"{"result_code":2002,"result_msg":"no user"}"#,
        ))
        .unwrap();
        assert!(matches!(
            interpret(&e, ServedBy::Fallback),
            Err(Error::IdpRejected {
                code: IdpCode::NoUserData,
                served_by: ServedBy::Fallback,
                ..
            })
        ));
    }

    #[test]
    fn requests_carry_the_documented_bodies() {
        let v2 = v2_request("app", 90_000_000_062).unwrap();
        assert_eq!(v2.path_and_query(), "/v2/game/player/get-idp");
        assert_eq!(
            v2.body().as_ref(),
            br#"{"appid":"app","player_id":90000000062}"#
        );
        assert!(!v2.headers().contains_key("x-access-token"));
        let key = SecretString::from("k");
        let v1 = v1_request("app", 5, Some(&key)).unwrap();
        assert_eq!(v1.path_and_query(), "/game/player/get-idp");
        assert_eq!(
            v1.body().as_ref(),
            br#"{"appid":"app","player_id":5,"hive_certification_key":"k"}"#
        );
        for player_id in [-5, 0] {
            assert!(matches!(
                v1_request("app", player_id, None),
                Err(Error::InvalidInput(_))
            ));
            assert!(matches!(
                v2_request("app", player_id),
                Err(Error::InvalidInput(_))
            ));
        }
    }
}
