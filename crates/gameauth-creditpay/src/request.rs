//! The `identify/auth` request: its typed input, validation and the exact body bytes.
//!
//! Pure: no I/O. The client validates and serialises the body once, signs those bytes and sends
//! those bytes.

use std::net::IpAddr;

use bytes::Bytes;
use gameauth_core::PlayerToken;
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::card::AvailableCard;
use crate::error::Error;

/// The signed path of the call (after the gateway prefix).
pub const IDENTIFY_AUTH_PATH: &str = "/v1/platform/identify/auth";

/// Smallest 13-digit epoch-milliseconds value.
const MIN_EPOCH_MILLIS_13: i64 = 1_000_000_000_000;
/// Largest 13-digit epoch-milliseconds value.
const MAX_EPOCH_MILLIS_13: i64 = 9_999_999_999_999;

/// The name of the body field that carries the player's unique number.
///
/// Credit Pay's docs disagree: the field table of `identify/auth` spells it `custom_no`, while
/// every request example, the official signing vector (C1) and the issued cashier token use
/// `customer_no`. The default follows the examples and the vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CustomerNoField {
    /// `customer_no`, as in the examples and the signing vector.
    #[default]
    CustomerNo,
    /// `custom_no`, as in the field table.
    CustomNo,
}

impl CustomerNoField {
    /// The field name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerNo => "customer_no",
            Self::CustomNo => "custom_no",
        }
    }
}

/// Input of `identify/auth`: asks Credit Pay for a one-time authorization code for a player.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IdentifyAuthRequest {
    /// The platform's own token for the player; Credit Pay relays it back in the `token` header
    /// of its callbacks.
    pub customer_token: PlayerToken,
    /// The player's unique number on the platform (sent as `customer_no` or `custom_no`, see
    /// [`CustomerNoField`]).
    pub customer_no: String,
    /// The platform's callback address.
    pub callback_url: String,
    /// When `customer_token` expires, as 13-digit epoch milliseconds.
    pub token_expire: i64,
    /// The player's IP address as text; Credit Pay re-checks it when the code is redeemed.
    pub client_ip: String,
    /// Same value as before → Credit Pay reuses the previous barcode; a new value → a new one.
    pub session_sign: Option<String>,
    /// Selects an entry of `credit_limit_available_cards`.
    pub credit_limit_tag: Option<String>,
    /// When present, Credit Pay does not call the credit-limit callback.
    pub credit_limit_available_cards: Option<Vec<AvailableCard>>,
    /// The `lang` header for this call; the client's default when `None`.
    pub lang: Option<String>,
}

impl IdentifyAuthRequest {
    /// A request with the five required fields.
    pub fn new(
        customer_no: impl Into<String>,
        customer_token: PlayerToken,
        callback_url: impl Into<String>,
        token_expire: i64,
        client_ip: impl Into<String>,
    ) -> Self {
        Self {
            customer_token,
            customer_no: customer_no.into(),
            callback_url: callback_url.into(),
            token_expire,
            client_ip: client_ip.into(),
            session_sign: None,
            credit_limit_tag: None,
            credit_limit_available_cards: None,
            lang: None,
        }
    }

    /// Sets `session_sign`.
    pub fn with_session_sign(mut self, value: impl Into<String>) -> Self {
        self.session_sign = Some(value.into());
        self
    }

    /// Sets `credit_limit_tag`.
    pub fn with_credit_limit_tag(mut self, tag: impl Into<String>) -> Self {
        self.credit_limit_tag = Some(tag.into());
        self
    }

    /// Sets `credit_limit_available_cards`.
    pub fn with_available_cards(mut self, cards: Vec<AvailableCard>) -> Self {
        self.credit_limit_available_cards = Some(cards);
        self
    }

    /// Sets the `lang` header for this call.
    pub fn with_lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    /// Checks every field against the contract; `now_millis` is the current time in epoch
    /// milliseconds (the token must not already have expired).
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] when `customer_no` or `customer_token` is blank,
    /// `callback_url` is not an `http` or `https` URL with a host, `token_expire` is not 13-digit
    /// epoch milliseconds or not after `now_millis`, `client_ip` is not an IP address, `lang` is
    /// set but not a language tag (1 to 35 ASCII letters, digits, `-` or `_`), or a card fails
    /// [`AvailableCard::validate`].
    pub fn validate(&self, now_millis: i64) -> Result<(), Error> {
        if self.customer_no.trim().is_empty() {
            return Err(invalid("customer_no must not be empty"));
        }
        if self.customer_token.expose_secret().trim().is_empty() {
            return Err(invalid("customer_token must not be empty"));
        }
        check_callback_url(&self.callback_url)?;
        if !(MIN_EPOCH_MILLIS_13..=MAX_EPOCH_MILLIS_13).contains(&self.token_expire) {
            return Err(invalid("token_expire must be 13-digit epoch milliseconds"));
        }
        if self.token_expire <= now_millis {
            return Err(invalid("token_expire is not in the future"));
        }
        if self.client_ip.parse::<IpAddr>().is_err() {
            return Err(invalid("client_ip is not an IP address"));
        }
        if let Some(lang) = &self.lang {
            check_lang(lang)?;
        }
        for card in self.credit_limit_available_cards.iter().flatten() {
            card.validate()?;
        }
        Ok(())
    }

    /// Validates the request and serialises the body exactly as it is signed and sent: the
    /// required fields in the order of the official example, then the optional ones present.
    /// `field` names the player's number (second in either spelling).
    ///
    /// # Errors
    ///
    /// Returns [`Error::InvalidInput`] in the cases of [`validate`](Self::validate).
    pub fn encode_body(&self, now_millis: i64, field: CustomerNoField) -> Result<Bytes, Error> {
        self.validate(now_millis)?;
        let wire = Wire {
            customer_token: self.customer_token.expose_secret(),
            customer_no_field: field,
            customer_no: &self.customer_no,
            callback_url: &self.callback_url,
            token_expire: self.token_expire,
            client_ip: &self.client_ip,
            session_sign: self.session_sign.as_deref(),
            credit_limit_tag: self.credit_limit_tag.as_deref(),
            credit_limit_available_cards: self.credit_limit_available_cards.as_deref(),
        };
        serde_json::to_vec(&wire)
            .map(Bytes::from)
            .map_err(|_| invalid("request body cannot be serialised"))
    }
}

/// The body on the wire; field order is part of the signed bytes.
struct Wire<'a> {
    customer_token: &'a str,
    customer_no_field: CustomerNoField,
    customer_no: &'a str,
    callback_url: &'a str,
    token_expire: i64,
    client_ip: &'a str,
    session_sign: Option<&'a str>,
    credit_limit_tag: Option<&'a str>,
    credit_limit_available_cards: Option<&'a [AvailableCard]>,
}

impl Serialize for Wire<'_> {
    // Written out because the player's number has a configurable name.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Wire", 8)?;
        s.serialize_field("customer_token", self.customer_token)?;
        s.serialize_field(self.customer_no_field.as_str(), self.customer_no)?;
        s.serialize_field("callback_url", self.callback_url)?;
        s.serialize_field("token_expire", &self.token_expire)?;
        s.serialize_field("client_ip", self.client_ip)?;
        if let Some(v) = self.session_sign {
            s.serialize_field("session_sign", v)?;
        }
        if let Some(v) = self.credit_limit_tag {
            s.serialize_field("credit_limit_tag", v)?;
        }
        if let Some(v) = self.credit_limit_available_cards {
            s.serialize_field("credit_limit_available_cards", v)?;
        }
        s.end()
    }
}

fn invalid(message: &str) -> Error {
    Error::InvalidInput(message.to_owned())
}

/// An absolute `http`/`https` URL with a host.
pub(crate) fn check_callback_url(value: &str) -> Result<(), Error> {
    let url = url::Url::parse(value).map_err(|_| invalid("callback_url is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("callback_url must be an http(s) URL with a host"));
    }
    Ok(())
}

/// A language tag safe to put in a header.
pub(crate) fn check_lang(lang: &str) -> Result<(), Error> {
    if lang.is_empty()
        || lang.len() > 35
        || !lang
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid("lang must be a language tag such as en-US"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY0: &str = r#"{"customer_token":"a1472263c7b97095f095cb62477c-4420-8e2e-8a156axxxxxx","customer_no":"473_32_86000698","callback_url":"https://credit-pre.aatest.online/payment/callback","token_expire":1732521424191,"client_ip":"192.168.1.166"}"#;
    const NOW: i64 = 1_732_520_000_000;
    const DEFAULT: CustomerNoField = CustomerNoField::CustomerNo;

    fn body0_request() -> IdentifyAuthRequest {
        IdentifyAuthRequest::new(
            "473_32_86000698",
            PlayerToken::new("a1472263c7b97095f095cb62477c-4420-8e2e-8a156axxxxxx"),
            "https://credit-pre.aatest.online/payment/callback",
            1_732_521_424_191,
            "192.168.1.166",
        )
    }

    #[test]
    fn body_reproduces_the_official_example_byte_for_byte() {
        assert_eq!(
            body0_request().encode_body(NOW, DEFAULT).unwrap(),
            BODY0.as_bytes()
        );
    }

    #[test]
    fn customer_no_is_the_default_name_and_custom_no_is_selectable() {
        assert_eq!(CustomerNoField::default(), CustomerNoField::CustomerNo);
        let body = body0_request()
            .encode_body(NOW, CustomerNoField::CustomNo)
            .unwrap();
        // Same bytes as BODY0 but for the name, in the same place.
        assert_eq!(
            body,
            BODY0
                .replace("\"customer_no\":", "\"custom_no\":")
                .as_bytes()
        );
    }

    #[test]
    fn optional_fields_follow_the_required_ones() {
        let card = AvailableCard::new("外部系统卡唯一标识", "1000.00", "CNY").unwrap();
        let body = body0_request()
            .with_session_sign("s1")
            .with_credit_limit_tag("外部系统卡唯一标识")
            .with_available_cards(vec![card])
            .encode_body(NOW, DEFAULT)
            .unwrap();
        let text = std::str::from_utf8(&body).unwrap();
        let tail = r#","client_ip":"192.168.1.166","session_sign":"s1","credit_limit_tag":"外部系统卡唯一标识","credit_limit_available_cards":[{"tag":"外部系统卡唯一标识","amount":"1000.00","currency":"CNY","icon":"","input":""}]}"#;
        assert!(text.ends_with(tail), "{text}");
    }

    #[test]
    fn token_expire_must_be_13_digit_milliseconds() {
        let mut r = body0_request();
        r.token_expire = 1_732_521_424;
        assert!(matches!(
            r.encode_body(0, DEFAULT),
            Err(Error::InvalidInput(_))
        ));
        r.token_expire = 17_325_214_241_910;
        assert!(matches!(
            r.encode_body(0, DEFAULT),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn token_expire_must_be_in_the_future() {
        let r = body0_request();
        assert!(r.encode_body(1_732_521_424_191, DEFAULT).is_err());
        assert!(r.encode_body(1_732_521_424_190, DEFAULT).is_ok());
    }

    #[test]
    fn client_ip_must_be_an_ip_address() {
        for bad in ["", "192.168.1", "host.example", "192.168.1.166:80"] {
            let mut r = body0_request();
            r.client_ip = bad.into();
            assert!(r.encode_body(NOW, DEFAULT).is_err(), "{bad}");
        }
        let mut r = body0_request();
        r.client_ip = "2001:db8::1".into();
        assert!(r.encode_body(NOW, DEFAULT).is_ok());
    }

    #[test]
    fn callback_url_must_be_an_http_url() {
        for bad in [
            "",
            "/payment/callback",
            "ftp://h/cb",
            "javascript:alert(1)",
            "https://",
        ] {
            let mut r = body0_request();
            r.callback_url = bad.into();
            assert!(r.encode_body(NOW, DEFAULT).is_err(), "{bad}");
        }
    }

    #[test]
    fn customer_no_and_token_must_not_be_empty() {
        let mut r = body0_request();
        r.customer_no = " ".into();
        assert!(r.encode_body(NOW, DEFAULT).is_err());
        let mut r = body0_request();
        r.customer_token = PlayerToken::new("");
        assert!(r.encode_body(NOW, DEFAULT).is_err());
    }

    #[test]
    fn lang_must_be_header_safe() {
        assert!(
            body0_request()
                .with_lang("zh-CN")
                .encode_body(NOW, DEFAULT)
                .is_ok()
        );
        assert!(
            body0_request()
                .with_lang("en\r\nx: y")
                .encode_body(NOW, DEFAULT)
                .is_err()
        );
    }

    #[test]
    fn request_debug_hides_the_customer_token() {
        let text = format!("{:?}", body0_request());
        assert!(!text.contains("a1472263"), "{text}");
        assert!(text.contains("PlayerToken([redacted])"));
    }
}
