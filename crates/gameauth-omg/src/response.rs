//! Decoding OMG's answers: HTTP 200 carries the `{code, msg, data}` envelope, anything else is a
//! transport-level failure.

use bytes::Bytes;
use gameauth_core::lenient::{decode_object, i64_lenient, opt_string_or_number};
use gameauth_core::{DecodeError, error::sanitize_message, transport::retry_after};
use http::{Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::code::OmgCode;
use crate::error::Error;

#[derive(Deserialize)]
struct Envelope {
    #[serde(deserialize_with = "i64_lenient")]
    code: i64,
    #[serde(default, deserialize_with = "opt_string_or_number")]
    msg: Option<String>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
}

/// The `data` of a successful (`code == 0`) answer, decoded as `T`.
pub(crate) fn parse<T: DeserializeOwned>(response: &Response<Bytes>) -> Result<T, Error> {
    if response.status() != StatusCode::OK {
        return Err(Error::HttpStatus {
            status: response.status().as_u16(),
            retry_after: retry_after(response.headers()),
        });
    }
    let envelope: Envelope = decode_object(response.body())?;
    let code = OmgCode::from_i64(envelope.code);
    if code != OmgCode::Success {
        return Err(Error::Rejected {
            code,
            message: sanitize_message(envelope.msg.as_deref().unwrap_or_default()),
        });
    }
    let data = envelope
        .data
        .filter(|d| d.get() != "null")
        .ok_or_else(|| DecodeError::new("data", "missing"))?;
    decode_object(data.get().as_bytes()).map_err(|e| {
        let path = if e.path == "$" {
            "data".to_owned()
        } else {
            format!("data.{}", e.path)
        };
        Error::Decode(DecodeError::new(path, e.reason))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Data {
        #[serde(deserialize_with = "gameauth_core::lenient::decimal")]
        balance: String,
    }

    fn response(status: u16, body: &str) -> Response<Bytes> {
        let mut r = Response::new(Bytes::from(body.to_owned()));
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        r
    }

    #[test]
    fn code_zero_decodes_data_with_exact_decimals() {
        let d: Data = parse(&response(
            200,
            r#"{"code":0,"msg":"ok","data":{"balance":42766.25}}"#,
        ))
        .unwrap();
        assert_eq!(d.balance, "42766.25");
        let d: Data = parse(&response(
            200,
            r#"{"code":"0","data":{"balance":"12345678901234567.1234"}}"#,
        ))
        .unwrap();
        assert_eq!(d.balance, "12345678901234567.1234");
    }

    #[test]
    fn non_zero_code_is_a_typed_rejection_even_without_data() {
        let e =
            parse::<Data>(&response(200, r#"{"code":10002,"msg":"sign invalid"}"#)).unwrap_err();
        assert!(
            matches!(e, Error::Rejected { code: OmgCode::SignInvalid, ref message } if message == "sign invalid")
        );
    }

    #[test]
    fn unknown_code_is_kept_as_other() {
        let e = parse::<Data>(&response(200, r#"{"code":10077,"msg":"new"}"#)).unwrap_err();
        assert_eq!(e.code(), Some(OmgCode::Other(10077)));
    }

    #[test]
    fn rejection_message_is_sanitised() {
        let e = parse::<Data>(&response(200, "{\"code\":10010,\"msg\":\"a\\r\\nb\"}")).unwrap_err();
        assert!(matches!(e, Error::Rejected { ref message, .. } if message == "a  b"));
    }

    #[test]
    fn html_page_with_status_200_is_a_decode_error() {
        let e = parse::<Data>(&response(200, "<html><body>Bad gateway</body></html>")).unwrap_err();
        assert!(matches!(e, Error::Decode(ref d) if d.path == "$"));
    }

    #[test]
    fn other_status_is_an_http_status_error_with_retry_after() {
        let mut r = response(429, "");
        r.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("3"),
        );
        let e = parse::<Data>(&r).unwrap_err();
        assert!(matches!(
            e,
            Error::HttpStatus { status: 429, retry_after: Some(d) } if d.as_secs() == 3
        ));
        let e = parse::<Data>(&response(502, r#"{"code":0,"data":{"balance":"1"}}"#)).unwrap_err();
        assert!(matches!(
            e,
            Error::HttpStatus {
                status: 502,
                retry_after: None
            }
        ));
    }

    #[test]
    fn missing_data_or_wrong_types_name_the_field() {
        let e = parse::<Data>(&response(200, r#"{"code":0,"msg":"ok"}"#)).unwrap_err();
        assert!(matches!(e, Error::Decode(ref d) if d.path == "data"));
        let e = parse::<Data>(&response(200, r#"{"code":0,"data":null}"#)).unwrap_err();
        assert!(matches!(e, Error::Decode(ref d) if d.path == "data"));
        let e = parse::<Data>(&response(
            200,
            r#"{"code":0,"data":{"balance":"sentinel"}}"#,
        ))
        .unwrap_err();
        assert!(matches!(e, Error::Decode(ref d) if d.path == "data.balance"));
        assert!(!e.to_string().contains("sentinel"));
        let e = parse::<Data>(&response(200, r#"{"code":0,"data":{"balance":"1"}"#)).unwrap_err();
        assert!(matches!(e, Error::Decode(_)));
    }
}
