//! The request every Hive endpoint builds: a JSON POST with the headers every Hive API takes.

use gameauth_core::outbound::{OutboundRequest, sensitive_header};
use http::HeaderMap;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};

use crate::error::Error;

/// The most headers a Hive request carries: `Authorization`, `X-Access-Token`, `Content-Type`,
/// `ISCRYPT`, and one to spare.
pub(crate) const HEADERS: usize = 5;

/// Room for a request body: a verification body with the longest identifiers fits, so the
/// buffer is not grown (and copied) while serialising.
const BODY_CAPACITY: usize = 512;

/// A JSON POST of `body` to `path` with the headers every Hive API takes (`Content-Type`,
/// `ISCRYPT: 0`) added to `headers`: the body is serialised once and every attempt, on either
/// host, sends the same bytes.
pub(crate) fn json<T: serde::Serialize>(
    path: &'static str,
    mut headers: HeaderMap,
    body: &T,
) -> Result<OutboundRequest, Error> {
    let mut buf = Vec::with_capacity(BODY_CAPACITY);
    serde_json::to_writer(&mut buf, body)
        .map_err(|_| Error::InvalidInput("cannot serialise the request".into()))?;
    let body = bytes::Bytes::from(buf);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        HeaderName::from_static("iscrypt"),
        HeaderValue::from_static("0"),
    );
    Ok(OutboundRequest::post(path, headers, body))
}

/// A header value marked sensitive; refuses characters HTTP forbids, naming the value `name`.
pub(crate) fn sensitive(name: &str, value: &str) -> Result<HeaderValue, Error> {
    sensitive_header(value)
        .map_err(|_| Error::InvalidInput(format!("{name} has characters HTTP forbids")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hive_request_is_json_with_iscrypt_zero() {
        let r = json("/p", HeaderMap::new(), &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.headers()["iscrypt"], "0");
        assert_eq!(r.body().as_ref(), br#"{"a":1}"#);
        assert_eq!(r.path_and_query(), "/p");
    }

    #[test]
    fn sensitive_values_are_marked_and_checked() {
        assert!(sensitive("x", "v").unwrap().is_sensitive());
        assert!(matches!(
            sensitive("the token", "a\nb"),
            Err(Error::InvalidInput(m)) if m == "the token has characters HTTP forbids"
        ));
    }
}
