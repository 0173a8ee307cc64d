//! The token-validated IdP list (`/server/player/get-idpuserid`): Hive checks the player's login
//! token and answers with the IdP accounts of that player in one call.
//!
//! The game server sends the player's token raw in `Authorization` (no server credentials, no
//! `X-Access-Token`) and `{"appid", "did", "player_id"}` (`player_id` a JSON number). Hive answers
//! `result_code` (0 success, 4000 invalid parameter, 7000 verification failed) and, on success,
//! `data.list` of `{player_id, idp_user_id, idp_index}`. The page types all three as strings;
//! numbers are accepted too.
//!
//! Fail closed: only `result_code == 0` with a well-formed `data.list` whose entries all belong to
//! the player asked about counts. Anything else is a rejection with its code or a decode error.

use gameauth_core::lenient::{i64_lenient, string_or_number};
use gameauth_core::{DecodeError, PlayerToken};
use serde::{Deserialize, Serialize};

use crate::code::PlayerIdpsCode;
use crate::environment::ServedBy;
use crate::error::Error;
use crate::idp::{IdpIndex, idp_index};
use crate::request;
use crate::response::Envelope;
use crate::verify_token::player_authorization;
use gameauth_core::outbound::OutboundRequest;

/// Path of the token-validated IdP list.
pub const PATH: &str = "/server/player/get-idpuserid";

/// Whose IdP accounts to list: the player's token from the client login and who it claims to be.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlayerIdpsParams {
    /// The token from the client login (`PlayerInfo.token`).
    pub token: PlayerToken,
    /// The player id (`player_id`).
    pub player_id: i64,
    /// The device id (`did`).
    pub did: String,
}

impl PlayerIdpsParams {
    /// The parameters of one call.
    pub fn new(token: PlayerToken, player_id: i64, did: impl Into<String>) -> Self {
        Self {
            token,
            player_id,
            did: did.into(),
        }
    }
}

/// One IdP account of the player.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct PlayerIdpAccount {
    /// The player id.
    #[serde(deserialize_with = "i64_lenient")]
    pub player_id: i64,
    /// The user id at the IdP.
    #[serde(deserialize_with = "string_or_number")]
    pub idp_user_id: String,
    /// Which IdP ([`IdpIndex::name`] gives its name).
    #[serde(deserialize_with = "idp_index")]
    pub idp_index: IdpIndex,
}

/// A validated token and the IdP accounts of its player.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlayerIdps {
    /// The player id the token was validated for.
    pub player_id: i64,
    /// The player's IdP accounts, in Hive's order.
    pub accounts: Vec<PlayerIdpAccount>,
    /// Which host answered.
    pub served_by: ServedBy,
}

#[derive(Serialize)]
struct Body<'a> {
    appid: &'a str,
    did: &'a str,
    player_id: i64,
}

#[derive(Deserialize)]
struct Data {
    list: Vec<PlayerIdpAccount>,
}

/// Builds the request; every input is checked here, before anything is sent.
pub(crate) fn request(appid: &str, params: &PlayerIdpsParams) -> Result<OutboundRequest, Error> {
    let headers = player_authorization(&params.token, params.player_id, &params.did)?;
    let body = Body {
        appid,
        did: &params.did,
        player_id: params.player_id,
    };
    request::json(PATH, headers, &body)
}

/// Interprets the answer.
pub(crate) fn interpret(
    envelope: &Envelope,
    player_id: i64,
    served_by: ServedBy,
) -> Result<PlayerIdps, Error> {
    match PlayerIdpsCode::from_i64(envelope.result_code) {
        PlayerIdpsCode::Success => {
            let data = envelope
                .data::<Data>()?
                .ok_or_else(|| DecodeError::new("data", "missing; a success lists the accounts"))?;
            if let Some(i) = data.list.iter().position(|a| a.player_id != player_id) {
                return Err(DecodeError::new(
                    format!("data.list[{i}].player_id"),
                    "not the player asked about",
                )
                .into());
            }
            Ok(PlayerIdps {
                player_id,
                accounts: data.list,
                served_by,
            })
        }
        code => Err(Error::PlayerIdpsRejected {
            code,
            message: envelope.message(),
            served_by,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> PlayerIdpsParams {
        PlayerIdpsParams::new(PlayerToken::new("player-token"), 21, "255764404509548")
    }

    fn decode(body: &str) -> Envelope {
        Envelope::decode(&bytes::Bytes::copy_from_slice(body.as_bytes())).unwrap()
    }

    #[test]
    fn the_request_carries_the_raw_token_and_the_documented_body() {
        let r = request("com.withhive", &params()).unwrap();
        assert_eq!(r.path_and_query(), "/server/player/get-idpuserid");
        assert_eq!(
            std::str::from_utf8(r.body()).unwrap(),
            r#"{"appid":"com.withhive","did":"255764404509548","player_id":21}"#
        );
        assert_eq!(r.headers()["authorization"], "player-token");
        assert!(r.headers()["authorization"].is_sensitive());
        assert_eq!(r.headers()["iscrypt"], "0");
        assert_eq!(r.headers()["content-type"], "application/json");
        assert!(!r.headers().contains_key("x-access-token"));
    }

    #[test]
    fn bad_input_is_refused_before_sending() {
        for p in [
            PlayerIdpsParams::new(PlayerToken::new(""), 21, "d"),
            PlayerIdpsParams::new(PlayerToken::new("t"), 0, "d"),
            PlayerIdpsParams::new(PlayerToken::new("t"), -5, "d"),
            PlayerIdpsParams::new(PlayerToken::new("t"), 21, ""),
            PlayerIdpsParams::new(PlayerToken::new("t\nX-Evil: 1"), 21, "d"),
        ] {
            assert!(matches!(request("a", &p), Err(Error::InvalidInput(_))));
        }
    }

    #[test]
    fn accounts_decode_from_strings_and_numbers() {
        let e = decode(
            r#"{"result_code":"0","result_msg":"SUCCESS","data":{"list":[
                {"player_id":"21","idp_user_id":"68101398","idp_index":"1"},
                {"player_id":21,"idp_user_id":123456789,"idp_index":3,"new":true},
                {"player_id":"21","idp_user_id":"0","idp_index":"0"}
            ]}}"#,
        );
        let list = interpret(&e, 21, ServedBy::Fallback).unwrap();
        assert_eq!((list.player_id, list.served_by), (21, ServedBy::Fallback));
        let got: Vec<_> = list
            .accounts
            .iter()
            .map(|a| (a.player_id, a.idp_user_id.as_str(), a.idp_index))
            .collect();
        assert_eq!(
            got,
            [
                (21, "68101398", IdpIndex::HIVE),
                (21, "123456789", IdpIndex::GOOGLE),
                (21, "0", IdpIndex::GUEST)
            ]
        );
    }

    #[test]
    fn codes_other_than_success_are_typed_rejections() {
        for (body, code) in [
            (
                r#"{"result_code":7000,"result_msg":"verification failed"}"#,
                PlayerIdpsCode::VerificationFailed,
            ),
            (
                r#"{"result_code":"4000","result_msg":"invalid parameter"}"#,
                PlayerIdpsCode::InvalidParameter,
            ),
            (r#"{"result_code":9123}"#, PlayerIdpsCode::Other(9123)),
        ] {
            match interpret(&decode(body), 21, ServedBy::Primary) {
                Err(Error::PlayerIdpsRejected {
                    code: c,
                    served_by: ServedBy::Primary,
                    ..
                }) => assert_eq!(c, code, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_success_without_a_well_formed_list_of_this_player_fails_closed() {
        for (body, path) in [
            (r#"{"result_code":0}"#, "data"),
            (r#"{"result_code":0,"data":{}}"#, "data"),
            (
                r#"{"result_code":0,"data":{"list":[{"player_id":"x","idp_user_id":"1","idp_index":1}]}}"#,
                "data.list[0].player_id",
            ),
            (
                r#"{"result_code":0,"data":{"list":[{"player_id":21,"idp_user_id":"1"}]}}"#,
                "data.list[0]",
            ),
            (
                r#"{"result_code":0,"data":{"list":[{"player_id":21,"idp_user_id":"1","idp_index":1},{"player_id":22,"idp_user_id":"2","idp_index":2}]}}"#,
                "data.list[1].player_id",
            ),
        ] {
            match interpret(&decode(body), 21, ServedBy::Primary) {
                Err(Error::Decode(d)) => assert_eq!(d.path, path, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_empty_list_is_a_validated_token_with_no_accounts() {
        let e = decode(r#"{"result_code":0,"data":{"list":[]}}"#);
        assert!(
            interpret(&e, 21, ServedBy::Primary)
                .unwrap()
                .accounts
                .is_empty()
        );
    }
}
