//! What the host application provides: who is logged in, and the player directory.
//!
//! Login and browser sessions belong to the operator. The server only asks "who is the current
//! player for this request?" ([`PlayerSessions`]) and "what is this player's account?"
//! ([`AccountProvider`]).

use async_trait::async_trait;
use http::HeaderMap;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::HookError;

/// The operator's browser sessions.
#[async_trait]
pub trait PlayerSessions: Send + Sync {
    /// The id of the player logged in for this browser request (from its cookies, typically),
    /// or `None` when nobody is.
    ///
    /// # Errors
    ///
    /// An implementation returns a [`HookError`] when it cannot tell (its session store is
    /// unreachable); [`OAuthServer::authorize`](crate::OAuthServer::authorize) then redirects
    /// with `error=server_error`
    /// ([`Reason::HookFailed`](crate::error::Reason::HookFailed)).
    async fn current_player(&self, headers: &HeaderMap) -> Result<Option<String>, HookError>;

    /// Ends the browser session of this request (`GET /logout`).
    ///
    /// # Errors
    ///
    /// An implementation returns a [`HookError`] when it cannot end the session;
    /// [`OAuthServer::logout`](crate::OAuthServer::logout) then fails with
    /// [`Reason::HookFailed`](crate::error::Reason::HookFailed) and revokes nothing.
    async fn end_session(&self, headers: &HeaderMap) -> Result<EndedSession, HookError>;
}

/// The result of [`PlayerSessions::end_session`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct EndedSession {
    /// The player whose session ended, if anyone was logged in.
    pub player_id: Option<String>,
    /// Headers to add to the logout response, e.g. a `Set-Cookie` that clears the session.
    pub headers: HeaderMap,
}

impl EndedSession {
    /// A result for `player_id` (or nobody) with no extra headers.
    pub fn new(player_id: Option<String>) -> Self {
        Self {
            player_id,
            headers: HeaderMap::new(),
        }
    }

    /// Adds headers to the logout response.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }
}

/// The operator's player directory, as served on `GET /account`.
#[async_trait]
pub trait AccountProvider: Send + Sync {
    /// The account of `player_id`, or `None` when the player does not exist (any more).
    ///
    /// # Errors
    ///
    /// An implementation returns a [`HookError`] when it cannot answer (its directory is
    /// unreachable); the server answers `server_error`
    /// ([`Reason::HookFailed`](crate::error::Reason::HookFailed)), never "no such player".
    async fn account(&self, player_id: &str) -> Result<Option<Account>, HookError>;
}

/// An account balance: an exact decimal with at most 4 fractional digits (DECIMAL(20,4)),
/// emitted as a JSON number with exactly the digits given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance(String);

/// The balance text is not a DECIMAL(20,4) number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("balance must be a decimal number with at most 16 integer and 4 fractional digits")]
pub struct InvalidBalance;

impl Balance {
    /// Parses a decimal string such as `"405.64"` or `"-3"`. No exponent, no `+`, no leading
    /// zeros, at most 16 integer digits and 4 fractional digits.
    ///
    /// # Errors
    ///
    /// Returns [`InvalidBalance`] when `text` is not a plain decimal (optional `-`, digits,
    /// optionally `.` and digits), has more than 16 integer or 4 fractional digits, or has a
    /// leading zero before another integer digit.
    pub fn new(text: impl Into<String>) -> Result<Self, InvalidBalance> {
        let text = text.into();
        if !gameauth_core::lenient::is_decimal(&text) {
            return Err(InvalidBalance);
        }
        let unsigned = text.strip_prefix('-').unwrap_or(&text);
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        if int.len() > 16 || frac.len() > 4 || (int.len() > 1 && int.starts_with('0')) {
            return Err(InvalidBalance);
        }
        Ok(Self(text))
    }

    /// The decimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Balance {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The text was validated as a JSON number; emitting it raw keeps every digit.
        let raw = RawValue::from_string(self.0.clone()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// A player's account: the ten fields of the contract plus a `disabled` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Account {
    /// `playerId`.
    pub player_id: String,
    /// `sessionId`; when `None` the grant id is sent, which is stable per authorization.
    pub session_id: Option<String>,
    /// `currency` (ISO 4217).
    pub currency: String,
    /// `balance`.
    pub balance: Balance,
    /// `language` (one of Vegas Lounge's codes such as `en_EN`, `zh_CN`).
    pub language: String,
    /// `playerName`.
    pub player_name: String,
    /// `avatarUrl` (omitted when `None`).
    pub avatar_url: Option<String>,
    /// `homeUrl` (omitted when `None`).
    pub home_url: Option<String>,
    /// `playerType`, e.g. `REAL`.
    pub player_type: String,
    /// `partner` (omitted when `None`).
    pub partner: Option<String>,
    /// A disabled account gets Vegas Lounge error 1005 instead of its data.
    pub disabled: bool,
}

impl Account {
    /// An enabled account with the required fields; optional ones are set with `with_*`.
    pub fn new(
        player_id: impl Into<String>,
        player_name: impl Into<String>,
        currency: impl Into<String>,
        balance: Balance,
        language: impl Into<String>,
        player_type: impl Into<String>,
    ) -> Self {
        Self {
            player_id: player_id.into(),
            session_id: None,
            currency: currency.into(),
            balance,
            language: language.into(),
            player_name: player_name.into(),
            avatar_url: None,
            home_url: None,
            player_type: player_type.into(),
            partner: None,
            disabled: false,
        }
    }

    /// Sets `sessionId`.
    pub fn with_session_id(mut self, v: impl Into<String>) -> Self {
        self.session_id = Some(v.into());
        self
    }

    /// Sets `avatarUrl`.
    pub fn with_avatar_url(mut self, v: impl Into<String>) -> Self {
        self.avatar_url = Some(v.into());
        self
    }

    /// Sets `homeUrl`.
    pub fn with_home_url(mut self, v: impl Into<String>) -> Self {
        self.home_url = Some(v.into());
        self
    }

    /// Sets `partner`.
    pub fn with_partner(mut self, v: impl Into<String>) -> Self {
        self.partner = Some(v.into());
        self
    }

    /// Marks the account disabled (or enabled).
    pub fn with_disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }

    /// The `GET /account` JSON body, with `default_session_id` when no session id is set.
    pub fn to_json(&self, default_session_id: &str) -> String {
        let body = AccountBody {
            player_id: &self.player_id,
            session_id: self.session_id.as_deref().unwrap_or(default_session_id),
            currency: &self.currency,
            balance: &self.balance,
            language: &self.language,
            player_name: &self.player_name,
            avatar_url: self.avatar_url.as_deref(),
            home_url: self.home_url.as_deref(),
            player_type: &self.player_type,
            partner: self.partner.as_deref(),
        };
        // Sized once for the fields plus the keys and punctuation (about 150 bytes), so the
        // buffer is not regrown while serialising.
        let fields = [
            body.player_id,
            body.session_id,
            body.currency,
            body.language,
            body.player_name,
            body.player_type,
        ];
        let optional = [body.avatar_url, body.home_url, body.partner];
        let len = fields
            .iter()
            .chain(optional.iter().flatten())
            .map(|s| s.len())
            .sum::<usize>();
        let mut out = Vec::with_capacity(len + 192);
        // Strings and a validated number: serialisation cannot fail, and JSON is UTF-8.
        match serde_json::to_writer(&mut out, &body) {
            Ok(()) => String::from_utf8(out).unwrap_or_else(|_| String::from("{}")),
            Err(_) => String::from("{}"),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountBody<'a> {
    player_id: &'a str,
    session_id: &'a str,
    currency: &'a str,
    balance: &'a Balance,
    language: &'a str,
    player_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_url: Option<&'a str>,
    player_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    partner: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_is_emitted_as_an_exact_json_number() {
        let a = Account::new(
            "a3u",
            "highroller335",
            "USD",
            Balance::new("12345678901234.5678").unwrap(),
            "zh_CN",
            "REAL",
        )
        .with_session_id("HfuXQCzhIn")
        .with_avatar_url("https://img.operator.com/avatar.png")
        .with_home_url("https://www.operator.com")
        .with_partner("partner123");
        assert_eq!(
            a.to_json("grant"),
            r#"{"playerId":"a3u","sessionId":"HfuXQCzhIn","currency":"USD","balance":12345678901234.5678,"language":"zh_CN","playerName":"highroller335","avatarUrl":"https://img.operator.com/avatar.png","homeUrl":"https://www.operator.com","playerType":"REAL","partner":"partner123"}"#
        );
    }

    #[test]
    fn balance_syntax_is_decimal_20_4() {
        for ok in ["0", "405.64", "-3", "0.0001", "9999999999999999.9999"] {
            assert!(Balance::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1e3",
            "405.64001",
            "007",
            "+1",
            "NaN",
            "1.",
            "12345678901234567",
        ] {
            assert!(Balance::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn absent_optional_fields_are_omitted_and_session_defaults() {
        let a = Account::new("p", "n", "EUR", Balance::new("1").unwrap(), "en_EN", "REAL");
        assert_eq!(
            a.to_json("g1"),
            r#"{"playerId":"p","sessionId":"g1","currency":"EUR","balance":1,"language":"en_EN","playerName":"n","playerType":"REAL"}"#
        );
    }
}
