//! Game launch: `entergame` (transfer wallet) and `ingame` (single wallet), both answering with
//! the URL to send the player's browser to.
//!
//! Pure parts only: typed requests, their validation and wire bodies, and the decoded answer.

use gameauth_core::{IssuedSecret, PlayerToken};
use serde::{Deserialize, Serialize, Serializer};

use crate::authorize::validate_nickname;
use crate::error::Error;

/// Path of the transfer-wallet launch endpoint.
pub const ENTER_GAME_PATH: &str = "/api/game/v1/entergame";

/// Path of the single-wallet launch endpoint.
pub const INGAME_PATH: &str = "/api/usr/ingame";

/// How the game is laid out on screen (`screen_mode`, sent as the strings `"1"`, `"2"`, `"3"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScreenMode {
    /// `"1"`: vertical, full screen.
    VerticalFull,
    /// `"2"`: half screen.
    Half,
    /// `"3"`: horizontal, full screen.
    HorizontalFull,
}

impl ScreenMode {
    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerticalFull => "1",
            Self::Half => "2",
            Self::HorizontalFull => "3",
        }
    }
}

impl Serialize for ScreenMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

gameauth_core::secret_string! {
    /// A game launch URL. It embeds the player's token, so it is treated as a secret: hand it to
    /// the player's browser, never log it.
    pub struct GameUrl;
}

/// Launch a game with a token from [`Client::authorize`](crate::Client::authorize) (transfer
/// wallet).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EnterGameRequest {
    /// The token from `authorize`.
    pub token: IssuedSecret,
    /// OMG's game id (`gameid`).
    pub game_id: String,
    /// Layout of the game.
    pub screen_mode: ScreenMode,
    /// Language code (`lang`); OMG defaults to `en` when omitted.
    pub lang: Option<String>,
    /// Where the game's back button leads (`back_url`).
    pub back_url: Option<String>,
}

impl EnterGameRequest {
    /// A request to launch `game_id` with `token`.
    pub fn new(token: IssuedSecret, game_id: impl Into<String>, screen_mode: ScreenMode) -> Self {
        Self {
            token,
            game_id: game_id.into(),
            screen_mode,
            lang: None,
            back_url: None,
        }
    }

    /// Sets the language.
    pub fn with_lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    /// Sets the back URL.
    pub fn with_back_url(mut self, url: impl Into<String>) -> Self {
        self.back_url = Some(url.into());
        self
    }

    /// The exact body bytes: `app_id`, `token`, `gameid`, `timestamp`, `lang`, `back_url`,
    /// `screen_mode` (optional fields omitted when unset).
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] when `token` or `game_id` is empty, or `lang` or
    /// `back_url` is set but empty.
    pub fn body(&self, app_id: &str, timestamp: i64) -> Result<Vec<u8>, Error> {
        require("token", self.token.expose_secret())?;
        require("game_id", &self.game_id)?;
        optional("lang", self.lang.as_deref())?;
        optional("back_url", self.back_url.as_deref())?;
        to_bytes(&EnterGameBody {
            app_id,
            token: self.token.expose_secret(),
            gameid: &self.game_id,
            timestamp,
            lang: self.lang.as_deref(),
            back_url: self.back_url.as_deref(),
            screen_mode: self.screen_mode,
        })
    }
}

/// Launch a game for a player of the operator's own wallet (single wallet). OMG later presents
/// `token` back to the operator as `operator_player_session` in `verify_session`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InGameRequest {
    /// The operator's own session token for the player.
    pub token: PlayerToken,
    /// OMG's game id (`gameid`).
    pub game_id: String,
    /// The player's display name (`nick`), at most 40 UTF-8 bytes.
    pub nick: String,
    /// Layout of the game.
    pub screen_mode: ScreenMode,
    /// Language code (`lang`).
    pub lang: Option<String>,
    /// Currency id (`cid`), for multi-currency merchants.
    pub cid: Option<i64>,
    /// Where the game's back button leads (`back_url`).
    pub back_url: Option<String>,
}

impl InGameRequest {
    /// A request to launch `game_id` for the player holding `token`, shown as `nick`.
    pub fn new(
        token: PlayerToken,
        game_id: impl Into<String>,
        nick: impl Into<String>,
        screen_mode: ScreenMode,
    ) -> Self {
        Self {
            token,
            game_id: game_id.into(),
            nick: nick.into(),
            screen_mode,
            lang: None,
            cid: None,
            back_url: None,
        }
    }

    /// Sets the language.
    pub fn with_lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    /// Sets the currency id.
    pub fn with_cid(mut self, cid: i64) -> Self {
        self.cid = Some(cid);
        self
    }

    /// Sets the back URL.
    pub fn with_back_url(mut self, url: impl Into<String>) -> Self {
        self.back_url = Some(url.into());
        self
    }

    /// The exact body bytes: `app_id`, `gameid`, `token`, `nick`, `lang`, `cid`, `back_url`,
    /// `screen_mode` (optional fields omitted when unset). The contract documents no
    /// `timestamp` for this endpoint, so none is sent.
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] when `token` or `game_id` is empty, `nick` is empty or
    /// longer than [`MAX_NICKNAME_BYTES`](crate::authorize::MAX_NICKNAME_BYTES) (40) UTF-8 bytes,
    /// or `lang` or `back_url` is set but empty.
    pub fn body(&self, app_id: &str) -> Result<Vec<u8>, Error> {
        require("token", self.token.expose_secret())?;
        require("game_id", &self.game_id)?;
        validate_nickname("nick", &self.nick)?;
        optional("lang", self.lang.as_deref())?;
        optional("back_url", self.back_url.as_deref())?;
        to_bytes(&InGameBody {
            app_id,
            gameid: &self.game_id,
            token: self.token.expose_secret(),
            nick: &self.nick,
            lang: self.lang.as_deref(),
            cid: self.cid,
            back_url: self.back_url.as_deref(),
            screen_mode: self.screen_mode,
        })
    }
}

fn require(field: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        Err(Error::InvalidInput(format!("{field} must not be empty")))
    } else {
        Ok(())
    }
}

fn optional(field: &str, value: Option<&str>) -> Result<(), Error> {
    value.map_or(Ok(()), |v| require(field, v))
}

fn to_bytes<T: Serialize>(body: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(body)
        .map_err(|_| Error::InvalidInput("cannot serialise the request body".into()))
}

#[derive(Serialize)]
struct EnterGameBody<'a> {
    app_id: &'a str,
    token: &'a str,
    gameid: &'a str,
    timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    back_url: Option<&'a str>,
    screen_mode: ScreenMode,
}

#[derive(Serialize)]
struct InGameBody<'a> {
    app_id: &'a str,
    gameid: &'a str,
    token: &'a str,
    nick: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cid: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    back_url: Option<&'a str>,
    screen_mode: ScreenMode,
}

/// The `data` object of a successful launch answer.
#[derive(Deserialize)]
pub(crate) struct Data {
    gameurl: String,
}

impl Data {
    pub(crate) fn into_url(self) -> Result<GameUrl, Error> {
        if self.gameurl.is_empty() {
            return Err(gameauth_core::DecodeError::new("data.gameurl", "empty URL").into());
        }
        Ok(GameUrl::new(self.gameurl))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_mode_serialises_as_a_string_digit() {
        let modes = [
            ScreenMode::VerticalFull,
            ScreenMode::Half,
            ScreenMode::HorizontalFull,
        ];
        let json: Vec<String> = modes
            .iter()
            .map(|m| serde_json::to_string(m).unwrap())
            .collect();
        assert_eq!(json, ["\"1\"", "\"2\"", "\"3\""]);
    }

    #[test]
    fn enter_game_body_field_order_and_optional_fields() {
        let r = EnterGameRequest::new("1003803".into(), "49", ScreenMode::HorizontalFull);
        assert_eq!(
            String::from_utf8(r.body("10013", 1_711_954_264).unwrap()).unwrap(),
            r#"{"app_id":"10013","token":"1003803","gameid":"49","timestamp":1711954264,"screen_mode":"3"}"#
        );
        let r = r
            .with_lang("zh")
            .with_back_url("https://operator.example/lobby");
        assert_eq!(
            String::from_utf8(r.body("10013", 1).unwrap()).unwrap(),
            r#"{"app_id":"10013","token":"1003803","gameid":"49","timestamp":1,"lang":"zh","back_url":"https://operator.example/lobby","screen_mode":"3"}"#
        );
    }

    #[test]
    fn ingame_body_field_order_and_optional_fields() {
        let r = InGameRequest::new("sess-1".into(), "49", "Bill", ScreenMode::VerticalFull)
            .with_cid(2)
            .with_lang("en");
        assert_eq!(
            String::from_utf8(r.body("10013").unwrap()).unwrap(),
            r#"{"app_id":"10013","gameid":"49","token":"sess-1","nick":"Bill","lang":"en","cid":2,"screen_mode":"1"}"#
        );
    }

    #[test]
    fn ingame_nick_limit_is_forty_utf8_bytes() {
        let r = InGameRequest::new("s".into(), "49", "玩".repeat(14), ScreenMode::Half);
        assert!(matches!(r.body("10013"), Err(Error::InvalidInput(_))));
        let r = InGameRequest::new("s".into(), "49", "b".repeat(40), ScreenMode::Half);
        assert!(r.body("10013").is_ok());
    }

    #[test]
    fn empty_required_fields_are_rejected() {
        let r = EnterGameRequest::new("".into(), "49", ScreenMode::Half);
        assert!(matches!(r.body("1", 1), Err(Error::InvalidInput(_))));
        let r = EnterGameRequest::new("t".into(), "", ScreenMode::Half);
        assert!(matches!(r.body("1", 1), Err(Error::InvalidInput(_))));
        let r = InGameRequest::new("".into(), "49", "n", ScreenMode::Half);
        assert!(matches!(r.body("1"), Err(Error::InvalidInput(_))));
        let r = EnterGameRequest::new("t".into(), "49", ScreenMode::Half).with_lang("");
        assert!(matches!(r.body("1", 1), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn requests_and_urls_do_not_print_tokens() {
        let r = EnterGameRequest::new("sentinel-token".into(), "49", ScreenMode::Half);
        assert_eq!(
            format!("{r:?}"),
            "EnterGameRequest { token: IssuedSecret([redacted]), game_id: \"49\", \
             screen_mode: Half, lang: None, back_url: None }"
        );
        let r = InGameRequest::new("sentinel-token".into(), "49", "n", ScreenMode::Half);
        assert_eq!(
            format!("{r:?}"),
            "InGameRequest { token: PlayerToken([redacted]), game_id: \"49\", nick: \"n\", \
             screen_mode: Half, lang: None, cid: None, back_url: None }"
        );
        let url = GameUrl::new("https://game.example/?token=sentinel");
        assert_eq!(format!("{url:?}"), "GameUrl([redacted])");
    }
}
