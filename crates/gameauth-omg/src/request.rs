//! Building a signed OMG request: the body is serialised once, signed, and the same bytes sent.

use bytes::Bytes;
use gameauth_core::outbound::{OutboundRequest, sensitive_header};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue};
use secrecy::SecretString;

use crate::error::Error;
use crate::sign::{SIGN_HEADER, sign};
use crate::verify::{TRACE_ID_PARAM, TraceIdAlphabet, TraceIdRule};

/// Content type of every OMG request and answer.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Signs `body` for `POST {base_url}{path}?trace_id={trace}` with `key`: a request ready to send,
/// possibly several times (retries repeat it byte for byte).
pub(crate) fn signed_request(
    path: &str,
    trace: &str,
    body: Vec<u8>,
    key: &SecretString,
) -> Result<OutboundRequest, Error> {
    let query = format!("{TRACE_ID_PARAM}={trace}");
    // Our own trace ids need no escaping: the URL-safe alphabet, as OMG's examples.
    TraceIdRule::new(TraceIdAlphabet::Unreserved, TraceIdRule::MAX_LEN).and_then(|rule| {
        rule.trace_id(&query)
            .map_err(|_| Error::Config("the id generator produced an unusable trace id".into()))
    })?;
    let body = Bytes::from(body);
    let sign = sensitive_header(&sign(&query, &body, key))
        .map_err(|_| Error::Config("signature is not a valid header value".into()))?;
    let mut headers = HeaderMap::with_capacity(2);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    headers.insert(SIGN_HEADER, sign);
    Ok(OutboundRequest::post(
        format!("{path}?{query}"),
        headers,
        body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn request_carries_the_vector_o4_signature_over_the_exact_body() {
        let body = br#"{"app_id":"10013","uname":"10032355","nickname":"Bill","timestamp":1711954264,"cid":0}"#;
        let key = SecretString::from("39a6581c31ef3203a22edb2daa2ab6d1");
        let signed = signed_request(
            "/api/player/v1/authorize",
            "k3n9x0q2m7ab",
            body.to_vec(),
            &key,
        )
        .unwrap();
        let base = gameauth_core::outbound::BaseUrl::parse("http://127.0.0.1:9").unwrap();
        let r = signed.to_http(&base).unwrap();
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.uri().query(), Some("trace_id=k3n9x0q2m7ab"));
        assert_eq!(r.uri().path(), "/api/player/v1/authorize");
        assert_eq!(r.headers()["sign"], "7387fcf664c067bcbfffbde11ef96f51");
        assert!(r.headers()["sign"].is_sensitive());
        assert_eq!(r.headers()["content-type"], JSON_CONTENT_TYPE);
        assert_eq!(r.body().as_ref(), body);
    }

    #[test]
    fn unusable_trace_ids_are_refused() {
        let key = SecretString::from("k");
        for bad in ["", "a&b=c", "a b", "a:b", "a%2Db"] {
            assert!(matches!(
                signed_request("/p", bad, Vec::new(), &key),
                Err(Error::Config(_))
            ));
        }
    }
}
