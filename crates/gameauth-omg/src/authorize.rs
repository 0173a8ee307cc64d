//! The transfer-wallet player token: `POST /api/player/v1/authorize`.
//!
//! Pure parts only: the typed request, its validation and wire body, and the decoded answer. The
//! [`Client`](crate::Client) sends it.

use std::time::{Duration, SystemTime};

use gameauth_core::{IssueRequest, IssuedSecret};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Path of the player token endpoint.
pub const AUTHORIZE_PATH: &str = "/api/player/v1/authorize";

/// Longest nickname OMG accepts, in UTF-8 bytes (not characters).
pub const MAX_NICKNAME_BYTES: usize = 40;

/// How long a player token stays valid: each call issues a new token, valid 7 days.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Name of the [`IssueRequest`] attribute that carries the currency id (`cid`).
pub const CID_ATTRIBUTE: &str = "cid";

/// A request for a new player token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizeRequest {
    /// The operator's unique player id (`uname`).
    pub uname: String,
    /// The player's display name (`nickname`), at most [`MAX_NICKNAME_BYTES`] UTF-8 bytes.
    pub nickname: String,
    /// The currency id (`cid`): required for multi-currency merchants, omitted when `None`.
    pub cid: Option<i64>,
}

impl AuthorizeRequest {
    /// A request for `uname` shown as `nickname`, without a currency id.
    pub fn new(uname: impl Into<String>, nickname: impl Into<String>) -> Self {
        Self {
            uname: uname.into(),
            nickname: nickname.into(),
            cid: None,
        }
    }

    /// Sets the currency id.
    pub fn with_cid(mut self, cid: i64) -> Self {
        self.cid = Some(cid);
        self
    }

    /// Maps the provider-neutral request: `player_id` → `uname`, `display_name` → `nickname`,
    /// attribute `cid` → `cid`. Other attributes belong to other providers and are ignored.
    ///
    /// OMG requires a nickname, so a missing `display_name` is invalid input rather than
    /// silently replaced.
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] when `display_name` is `None`, or when the attribute `cid`
    /// is present but, trimmed, not an integer. The documented limits are checked later, by
    /// [`validate`](Self::validate).
    pub fn from_issue_request(request: &IssueRequest) -> Result<Self, Error> {
        let nickname = request
            .display_name
            .clone()
            .ok_or_else(|| Error::InvalidInput("display_name (OMG nickname) is required".into()))?;
        let mut out = Self::new(request.player_id.clone(), nickname);
        if let Some(cid) = request.attributes.get(CID_ATTRIBUTE) {
            let cid = cid
                .trim()
                .parse::<i64>()
                .map_err(|_| Error::InvalidInput("attribute cid must be an integer".into()))?;
            out = out.with_cid(cid);
        }
        Ok(out)
    }

    /// Checks the documented limits before anything is sent.
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] when `uname` is empty, or `nickname` is empty or longer
    /// than [`MAX_NICKNAME_BYTES`] (40) UTF-8 bytes.
    pub fn validate(&self) -> Result<(), Error> {
        if self.uname.is_empty() {
            return Err(Error::InvalidInput("uname must not be empty".into()));
        }
        validate_nickname("nickname", &self.nickname)
    }

    /// The exact body bytes: `app_id`, `uname`, `nickname`, `timestamp`, then `cid` when set.
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] in the cases of [`validate`](Self::validate).
    pub fn body(&self, app_id: &str, timestamp: i64) -> Result<Vec<u8>, Error> {
        self.validate()?;
        let body = Body {
            app_id,
            uname: &self.uname,
            nickname: &self.nickname,
            timestamp,
            cid: self.cid,
        };
        serde_json::to_vec(&body)
            .map_err(|_| Error::InvalidInput("cannot serialise the request body".into()))
    }
}

/// Checks a nickname against OMG's limit: non-empty and at most 40 UTF-8 bytes.
pub(crate) fn validate_nickname(field: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::InvalidInput(format!("{field} must not be empty")));
    }
    if value.len() > MAX_NICKNAME_BYTES {
        return Err(Error::InvalidInput(format!(
            "{field} is {} bytes, OMG accepts at most {MAX_NICKNAME_BYTES} UTF-8 bytes",
            value.len()
        )));
    }
    Ok(())
}

#[derive(Serialize)]
struct Body<'a> {
    app_id: &'a str,
    uname: &'a str,
    nickname: &'a str,
    timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cid: Option<i64>,
}

/// The `data` object of a successful answer.
#[derive(Deserialize)]
pub(crate) struct Data {
    #[serde(deserialize_with = "gameauth_core::lenient::string_or_number")]
    token: String,
    #[serde(deserialize_with = "gameauth_core::lenient::decimal")]
    balance: String,
    #[serde(deserialize_with = "gameauth_core::lenient::string_or_number")]
    app_id: String,
}

/// A newly issued player token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthorizedPlayer {
    /// The token, to pass to [`Client::enter_game`](crate::Client::enter_game).
    pub token: IssuedSecret,
    /// The player's balance at OMG, an exact decimal string.
    pub balance: String,
    /// The merchant id OMG answered with: for a multi-currency merchant, the sub-merchant
    /// matching the requested `cid`.
    pub app_id: String,
    /// When the request was made (the `timestamp` sent).
    pub issued_at: SystemTime,
    /// When the token stops being valid: [`TOKEN_LIFETIME`] after `issued_at`.
    pub expires_at: SystemTime,
}

impl AuthorizedPlayer {
    pub(crate) fn from_data(data: Data, issued_at: SystemTime) -> Result<Self, Error> {
        if data.token.is_empty() {
            return Err(gameauth_core::DecodeError::new("data.token", "empty token").into());
        }
        Ok(Self {
            token: IssuedSecret::new(data.token),
            balance: data.balance,
            app_id: data.app_id,
            issued_at,
            expires_at: issued_at + TOKEN_LIFETIME,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_matches_vector_o4_byte_for_byte() {
        let body = AuthorizeRequest::new("10032355", "Bill")
            .with_cid(0)
            .body("10013", 1_711_954_264)
            .unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"app_id":"10013","uname":"10032355","nickname":"Bill","timestamp":1711954264,"cid":0}"#
        );
    }

    #[test]
    fn body_without_cid_matches_vector_o7() {
        let body = AuthorizeRequest::new("u1", "玩家")
            .body("10013", 1_711_954_264)
            .unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"app_id":"10013","uname":"u1","nickname":"玩家","timestamp":1711954264}"#
        );
    }

    #[test]
    fn nickname_limit_is_forty_utf8_bytes_not_characters() {
        assert!(
            AuthorizeRequest::new("u", "a".repeat(40))
                .validate()
                .is_ok()
        );
        assert!(matches!(
            AuthorizeRequest::new("u", "a".repeat(41)).validate(),
            Err(Error::InvalidInput(_))
        ));
        // 14 CJK characters are 42 bytes: over the limit although only 14 characters.
        let cjk = "玩".repeat(14);
        assert_eq!(cjk.chars().count(), 14);
        assert!(matches!(
            AuthorizeRequest::new("u", cjk).validate(),
            Err(Error::InvalidInput(_))
        ));
        assert!(
            AuthorizeRequest::new("u", "玩".repeat(13))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn empty_uname_is_rejected() {
        assert!(matches!(
            AuthorizeRequest::new("", "Bill").validate(),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn empty_nickname_is_rejected() {
        assert!(matches!(
            AuthorizeRequest::new("u", "").validate(),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn issue_request_maps_player_id_display_name_and_cid() {
        let r = IssueRequest::new("10032355")
            .with_display_name("Bill")
            .with_attribute("cid", "3")
            .with_attribute("callback_url", "ignored");
        let a = AuthorizeRequest::from_issue_request(&r).unwrap();
        assert_eq!(a, AuthorizeRequest::new("10032355", "Bill").with_cid(3));
        let no_cid =
            AuthorizeRequest::from_issue_request(&IssueRequest::new("u").with_display_name("n"));
        assert_eq!(no_cid.unwrap().cid, None);
    }

    #[test]
    fn issue_request_without_display_name_or_with_bad_cid_is_invalid() {
        assert!(matches!(
            AuthorizeRequest::from_issue_request(&IssueRequest::new("u")),
            Err(Error::InvalidInput(_))
        ));
        let bad = IssueRequest::new("u")
            .with_display_name("n")
            .with_attribute("cid", "usd");
        assert!(matches!(
            AuthorizeRequest::from_issue_request(&bad),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn token_expires_seven_days_after_issue() {
        let data: Data =
            serde_json::from_str(r#"{"token":"1003803","balance":"42766.25","app_id":10013}"#)
                .unwrap();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_711_954_264);
        let p = AuthorizedPlayer::from_data(data, at).unwrap();
        assert_eq!(
            p.expires_at,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_711_954_264 + 604_800)
        );
        assert_eq!(p.app_id, "10013");
        assert_eq!(p.balance, "42766.25");
    }

    #[test]
    fn authorized_player_debug_does_not_show_the_token() {
        let data: Data =
            serde_json::from_str(r#"{"token":"sentinel-token","balance":"1","app_id":"10013"}"#)
                .unwrap();
        let p = AuthorizedPlayer::from_data(data, SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(
            format!("{p:?}"),
            "AuthorizedPlayer { token: IssuedSecret([redacted]), balance: \"1\", app_id: \"10013\", \
             issued_at: SystemTime { tv_sec: 0, tv_nsec: 0 }, \
             expires_at: SystemTime { tv_sec: 604800, tv_nsec: 0 } }"
        );
    }
}
