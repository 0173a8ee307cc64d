//! Decoding the `identify/auth` response.
//!
//! Pure: no I/O. HTTP 200 carries the envelope `{code, msg, data, trace}`; `code` 0 is success,
//! 500 a server error, anything else is kept as [`ResponseCode::Other`].

use bytes::Bytes;
use gameauth_core::lenient::{decode_object, i64_lenient};
use gameauth_core::transport::retry_after;
use gameauth_core::{DecodeError, IssuedSecret, error::sanitize_message};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::code::ResponseCode;
use crate::error::Error;

gameauth_core::secret_string! {
    /// The cashier URL Credit Pay returns. It embeds the one-time code, so it is a secret too:
    /// send the player's browser there, never log it.
    pub struct CashierUrl;
}

/// A successful `identify/auth` answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IdentifyAuth {
    /// The one-time authorization code (`data.ident_code`).
    pub ident_code: IssuedSecret,
    /// Where to send the player's browser (`data.url`).
    pub url: CashierUrl,
    /// Credit Pay's trace id of the call, when sent.
    pub trace: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(deserialize_with = "i64_lenient")]
    code: i64,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
    #[serde(default)]
    trace: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    ident_code: String,
    url: String,
}

/// Decodes a raw `identify/auth` response.
///
/// # Errors
///
/// * [`Error::HttpStatus`] when the status is not 200, with the server's `Retry-After`;
/// * [`Error::Rejected`] when the 200 body has a `code` other than 0, typed as
///   [`ResponseCode`] with the sanitised `msg`;
/// * [`Error::Decode`] when the body is not a JSON object with an integer `code`, or a success
///   has no `data` object with a non-empty `ident_code` and a `url` that is an `http` or
///   `https` URL with a host.
pub fn parse_identify_auth(response: &http::Response<Bytes>) -> Result<IdentifyAuth, Error> {
    let status = response.status();
    if status != http::StatusCode::OK {
        return Err(Error::HttpStatus {
            status: status.as_u16(),
            retry_after: retry_after(response.headers()),
        });
    }
    let envelope: Envelope = decode_object(response.body())?;
    if envelope.code != 0 {
        return Err(Error::Rejected {
            code: ResponseCode::from_i64(envelope.code),
            message: sanitize_message(envelope.msg.as_deref().unwrap_or("")),
        });
    }
    let raw = envelope
        .data
        .filter(|d| d.get() != "null")
        .ok_or_else(|| DecodeError::new("data", "missing"))?;
    let data: Data = decode_object(raw.get().as_bytes()).map_err(|e| {
        let path = if e.path == "$" {
            "data".to_owned()
        } else {
            format!("data.{}", e.path)
        };
        DecodeError::new(path, e.reason)
    })?;
    if data.ident_code.is_empty() {
        return Err(DecodeError::new("data.ident_code", "empty").into());
    }
    // The parsed URL's own serialisation is handed on, not the text as sent: forms the WHATWG
    // parser repairs (`https:/host`, surrounding spaces, a raw space in the query) come out as
    // the one URL a browser would also go to.
    let url = match url::Url::parse(&data.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
        _ => return Err(DecodeError::new("data.url", "not an http(s) URL").into()),
    };
    Ok(IdentifyAuth {
        ident_code: IssuedSecret::new(data.ident_code),
        url: CashierUrl::new(String::from(url)),
        trace: envelope.trace.map(|t| sanitize_message(&t)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> http::Response<Bytes> {
        let mut r = http::Response::new(Bytes::from(body.to_owned()));
        *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
        r
    }

    const SUCCESS: &str = r#"{"code":0,"msg":"success","data":{"ident_code":"bb15a501d2354aeb937160c67b3580a6","url":"https://credit-pay-dev.aatest.online/dg/oauth?ident_code=bb15a501d2354aeb937160c67b3580a6"},"trace":"xx-3f1e-40c9-b26d-aa86e7611230"}"#;

    #[test]
    fn code_0_yields_the_code_and_the_cashier_url() {
        let ok = parse_identify_auth(&response(200, SUCCESS)).unwrap();
        assert!(ok.ident_code.ct_eq("bb15a501d2354aeb937160c67b3580a6"));
        assert!(
            ok.url
                .expose_secret()
                .ends_with("ident_code=bb15a501d2354aeb937160c67b3580a6")
        );
        assert_eq!(ok.trace.as_deref(), Some("xx-3f1e-40c9-b26d-aa86e7611230"));
        let text = format!("{ok:?}");
        assert!(!text.contains("bb15a501"), "{text}");
    }

    #[test]
    fn code_500_is_a_server_error_with_its_message() {
        let err = parse_identify_auth(&response(
            200,
            r#"{"code":500,"msg":"系统繁忙\r\n","data":null,"trace":"t"}"#,
        ))
        .unwrap_err();
        match err {
            Error::Rejected { code, message } => {
                assert_eq!(code, ResponseCode::ServerError);
                assert_eq!(message, "系统繁忙  ");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_codes_are_kept_with_their_message() {
        let err = parse_identify_auth(&response(200, r#"{"code":"40013","msg":"ip mismatch"}"#))
            .unwrap_err();
        assert!(matches!(
            err,
            Error::Rejected { code: ResponseCode::Other(40013), ref message } if message == "ip mismatch"
        ));
    }

    #[test]
    fn an_html_page_with_200_is_a_decode_error() {
        let err =
            parse_identify_auth(&response(200, "<html><body>gateway</body></html>")).unwrap_err();
        assert!(matches!(err, Error::Decode(ref d) if d.path == "$"));
    }

    #[test]
    fn non_200_is_an_http_status_error() {
        let mut r = response(503, "busy");
        r.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("7"),
        );
        let err = parse_identify_auth(&r).unwrap_err();
        assert!(matches!(
            err,
            Error::HttpStatus { status: 503, retry_after: Some(d) } if d.as_secs() == 7
        ));
        assert!(matches!(
            parse_identify_auth(&response(302, "")),
            Err(Error::HttpStatus { status: 302, .. })
        ));
    }

    #[test]
    fn missing_or_wrong_data_names_the_field() {
        let cases = [
            (r#"{"code":0,"msg":"success"}"#, "data"),
            (r#"{"code":0,"data":null}"#, "data"),
            (r#"{"code":0,"data":{"url":"https://h/x"}}"#, "data"),
            (
                r#"{"code":0,"data":{"ident_code":5,"url":"https://h/x"}}"#,
                "data.ident_code",
            ),
            (
                r#"{"code":0,"data":{"ident_code":"","url":"https://h/x"}}"#,
                "data.ident_code",
            ),
            (
                r#"{"code":0,"data":{"ident_code":"c","url":"not a url"}}"#,
                "data.url",
            ),
            (r#"{"msg":"success"}"#, "$"),
            // Truncated JSON: the decoder reports where it stopped, not a field.
            (
                r#"{"code":0,"data":{"ident_code":"c","url":"https://h/x"}"#,
                "",
            ),
        ];
        for (body, path) in cases {
            match parse_identify_auth(&response(200, body)) {
                Err(Error::Decode(d)) => assert!(d.path.starts_with(path), "{body}: {}", d.path),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_cashier_url_is_handed_on_in_its_normalised_form() {
        for (sent, handed_on) in [
            (
                "https://h.example/dg/oauth?ident_code=c",
                "https://h.example/dg/oauth?ident_code=c",
            ),
            ("https:/h.example/x", "https://h.example/x"),
            (
                "  https://h.example/x?a=b c  ",
                "https://h.example/x?a=b%20c",
            ),
            ("HTTPS://H.EXAMPLE", "https://h.example/"),
        ] {
            let body = format!(r#"{{"code":0,"data":{{"ident_code":"c","url":"{sent}"}}}}"#);
            let ok = parse_identify_auth(&response(200, &body)).unwrap();
            assert_eq!(ok.url.expose_secret(), handed_on, "{sent}");
        }
    }

    #[test]
    fn cashier_url_debug_is_pinned() {
        assert_eq!(
            format!("{:?}", CashierUrl::new("https://h/?ident_code=x")),
            "CashierUrl([redacted])"
        );
    }
}
