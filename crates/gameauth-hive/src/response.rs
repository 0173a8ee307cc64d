//! The response envelope every Hive authentication API shares.
//!
//! `{"result_code": 0, "result_msg": "SUCCESS", "token_validation": {...}, "data": ...}`, read
//! leniently: numbers may arrive as strings, unknown fields are ignored, and the message may be
//! called `result_msg` or (in legacy samples) `result_message`. `data` is kept raw and decoded
//! by the endpoint only when the code says success, so a rejection with an odd `data` is still
//! reported as the rejection it is. The envelope refers into the response body instead of
//! copying from it: the messages are only read (and sanitised) on an error path.

use std::borrow::Cow;

use gameauth_core::DecodeError;
use gameauth_core::error::sanitize_message;
use gameauth_core::lenient::{decode_json, decode_object, i64_lenient, opt_text};
use gameauth_core::outbound::{NotJson, is_json};
use serde::Deserialize;
use serde_json::value::RawValue;

use bytes::Bytes;
use http::Response;

use crate::error::Error;
use gameauth_core::transport::retry_after;
use http::StatusCode;

/// A decoded envelope.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub(crate) result_code: i64,
    message: Text,
    /// `token_validation.result_code` and its message, when present (v2 only).
    token_validation: Option<(i64, Text)>,
    /// The raw `data` member (a part of the body), `None` when absent or `null`.
    data: Option<Bytes>,
}

/// A message as Hive sent it: a part of the body, or the decoded text when the JSON string had
/// escapes (or was a number). Sanitised when read.
#[derive(Debug)]
enum Text {
    Absent,
    Body(Bytes),
    Decoded(String),
}

impl Text {
    fn new(body: &Bytes, text: Option<Cow<'_, str>>) -> Self {
        match text {
            None => Self::Absent,
            Some(Cow::Borrowed(part)) => Self::Body(body.slice_ref(part.as_bytes())),
            Some(Cow::Owned(decoded)) => Self::Decoded(decoded),
        }
    }

    fn sanitised(&self) -> String {
        match self {
            Self::Absent => String::new(),
            Self::Body(part) => sanitize_message(&String::from_utf8_lossy(part)),
            Self::Decoded(text) => sanitize_message(text),
        }
    }
}

#[derive(Deserialize)]
struct WireEnvelope<'a> {
    #[serde(deserialize_with = "i64_lenient")]
    result_code: i64,
    #[serde(default, borrow, deserialize_with = "opt_text")]
    result_msg: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_text")]
    result_message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    token_validation: Option<WireValidation<'a>>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct WireValidation<'a> {
    #[serde(deserialize_with = "i64_lenient")]
    result_code: i64,
    #[serde(default, borrow, deserialize_with = "opt_text")]
    result_msg: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_text")]
    result_message: Option<Cow<'a, str>>,
}

impl Envelope {
    /// Decodes the envelope of a response body.
    pub(crate) fn decode(body: &Bytes) -> Result<Self, DecodeError> {
        let wire: WireEnvelope<'_> = decode_object(body)?;
        Ok(Self {
            result_code: wire.result_code,
            message: Text::new(body, wire.result_msg.or(wire.result_message)),
            token_validation: wire.token_validation.map(|v| {
                (
                    v.result_code,
                    Text::new(body, v.result_msg.or(v.result_message)),
                )
            }),
            data: wire.data.map(|d| body.slice_ref(d.get().as_bytes())),
        })
    }

    /// Decodes the envelope of a definitive answer, which must be a 200.
    #[cfg(test)]
    pub(crate) fn from_response(response: &Response<Bytes>) -> Result<Self, Error> {
        expect_ok(response)?;
        Ok(Self::decode(response.body())?)
    }

    /// The reader of every Hive call ([`execute_read`](gameauth_core::outbound::execute_read)):
    /// the envelope of a 200, or [`Error::HttpStatus`] for any other status; a 200 that is not
    /// JSON at all is a broken host ([`NotJson`]), where JSON without a valid
    /// envelope is Hive's answer, reported as a decoding error. The body is decoded once; only
    /// a failed decoding looks again, to tell the two apart.
    pub(crate) fn read(response: Response<Bytes>) -> Result<Result<Self, Error>, NotJson> {
        if let Err(status) = expect_ok(&response) {
            return Ok(Err(status));
        }
        match Self::decode(response.body()) {
            Ok(envelope) => Ok(Ok(envelope)),
            Err(_) if !is_json(response.body()) => Err(NotJson::new(response)),
            Err(e) => Ok(Err(e.into())),
        }
    }

    /// The sanitised message (empty when Hive sent none).
    pub(crate) fn message(&self) -> String {
        self.message.sanitised()
    }

    /// Whether the answer says our server access token is not valid: code 2499, or a
    /// `token_validation` block with a non-zero code. Returns that code and its message.
    pub(crate) fn access_token_invalid(&self) -> Option<(i64, String)> {
        const JWT_VERIFICATION_FAILED: i64 = 2499;
        match &self.token_validation {
            Some((code, message)) if *code != 0 => Some((*code, message.sanitised())),
            _ if self.result_code == JWT_VERIFICATION_FAILED => {
                Some((self.result_code, self.message()))
            }
            _ => None,
        }
    }

    /// The raw `data` member, `None` when absent or `null`.
    pub(crate) fn raw_data(&self) -> Option<&[u8]> {
        self.data.as_deref()
    }

    /// Decodes `data` as `T`; errors name the field below `data`.
    pub(crate) fn data<'a, T: Deserialize<'a>>(&'a self) -> Result<Option<T>, DecodeError> {
        self.raw_data()
            .map(|raw| {
                decode_json(raw).map_err(|e| {
                    let path = if e.path == "$" {
                        "data".to_owned()
                    } else {
                        format!("data.{}", e.path)
                    };
                    DecodeError::new(path, e.reason)
                })
            })
            .transpose()
    }
}

/// Fails with [`Error::HttpStatus`] unless the answer is a 200.
pub(crate) fn expect_ok(response: &Response<Bytes>) -> Result<(), Error> {
    if response.status() == StatusCode::OK {
        Ok(())
    } else {
        Err(Error::HttpStatus {
            status: response.status().as_u16(),
            retry_after: retry_after(response.headers()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &'static [u8]) -> Result<Envelope, DecodeError> {
        Envelope::decode(&Bytes::from_static(body))
    }

    #[test]
    fn the_reader_tells_a_broken_host_from_an_answer_it_cannot_decode() {
        let answer = |status: u16, body: &'static str| {
            let mut r = Response::new(Bytes::from_static(body.as_bytes()));
            *r.status_mut() = StatusCode::from_u16(status).unwrap();
            Envelope::read(r)
        };
        let ok = answer(200, r#"{"result_code":0,"data":{"a":1}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(ok.raw_data(), Some(&br#"{"a":1}"#[..]));
        for not_json in ["<html>busy</html>", r#"{"result_code":0"#, ""] {
            let e = answer(200, not_json).unwrap_err();
            assert_eq!(e.0.body().as_ref(), not_json.as_bytes());
        }
        assert!(matches!(
            answer(200, r#"{"result":0}"#),
            Ok(Err(Error::Decode(_)))
        ));
        assert!(matches!(
            answer(404, "<html>"),
            Ok(Err(Error::HttpStatus { status: 404, .. }))
        ));
    }

    #[test]
    fn accepts_result_msg_or_result_message_and_string_codes() {
        let a = decode(br#"{"result_code":"7000","result_msg":"invalid"}"#).unwrap();
        assert_eq!((a.result_code, a.message().as_str()), (7000, "invalid"));
        let b = decode(br#"{"result_code":0,"result_message":"SUCCESS"}"#).unwrap();
        assert_eq!((b.result_code, b.message().as_str()), (0, "SUCCESS"));
        let c = decode(br#"{"result_code":0,"extra":[1,2],"data":null}"#).unwrap();
        assert_eq!(c.message(), "");
        assert!(c.raw_data().is_none());
    }

    #[test]
    fn messages_with_escapes_are_decoded_and_every_message_is_sanitised() {
        let a = decode(br#"{"result_code":1,"result_msg":"bad \"token\"\r\nhere"}"#).unwrap();
        assert_eq!(a.message(), "bad \"token\"  here");
        let b = decode(b"{\"result_code\":1,\"result_msg\":\"tab\there\"}").unwrap_err();
        assert_eq!(b.path, "result_msg", "a raw control character is not JSON");
        let c = decode(br#"{"result_code":1,"result_msg":12}"#).unwrap();
        assert_eq!(c.message(), "12");
        let d = decode(br#"{"result_code":0,"data":{"a":[1]},"result_msg":"OK"}"#).unwrap();
        assert_eq!(d.raw_data(), Some(&br#"{"a":[1]}"#[..]));
    }

    #[test]
    fn access_token_invalid_by_2499_or_token_validation() {
        let a = decode(br#"{"result_code":2499,"result_msg":"jwt"}"#).unwrap();
        assert_eq!(a.access_token_invalid(), Some((2499, "jwt".to_owned())));
        let b = decode(
            br#"{"result_code":0,"token_validation":{"result_code":"1","result_msg":"expired"}}"#,
        )
        .unwrap();
        assert_eq!(b.access_token_invalid(), Some((1, "expired".to_owned())));
        let c = decode(
            br#"{"result_code":7000,"token_validation":{"result_code":0,"result_msg":"ok"}}"#,
        )
        .unwrap();
        assert_eq!(c.access_token_invalid(), None);
    }

    #[test]
    fn missing_result_code_is_a_decode_error() {
        let e = decode(br#"{"result_msg":"SUCCESS"}"#).unwrap_err();
        assert_eq!(e.path, "$");
        let e = decode(br#"{"result_code":true}"#).unwrap_err();
        assert_eq!(e.path, "result_code");
    }

    #[test]
    fn data_errors_are_reported_below_data() {
        #[derive(Debug, Deserialize)]
        struct D {
            n: u8,
        }
        let ok = decode(br#"{"result_code":0,"data":{"n":3}}"#).unwrap();
        assert_eq!(ok.data::<D>().unwrap().map(|d| d.n), Some(3));
        let e = decode(br#"{"result_code":0,"data":{"n":"x"}}"#).unwrap();
        assert_eq!(e.data::<D>().unwrap_err().path, "data.n");
    }

    #[test]
    fn expect_ok_reports_status_and_retry_after() {
        let mut r = Response::new(Bytes::new());
        *r.status_mut() = StatusCode::FORBIDDEN;
        r.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("7"),
        );
        match expect_ok(&r) {
            Err(Error::HttpStatus {
                status: 403,
                retry_after,
            }) => assert_eq!(retry_after, Some(std::time::Duration::from_secs(7))),
            other => panic!("{other:?}"),
        }
        assert!(expect_ok(&Response::new(Bytes::from_static(b"{}"))).is_ok());
    }
}
