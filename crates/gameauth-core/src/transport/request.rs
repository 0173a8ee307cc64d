//! A request ready to send to any host: method, path and query, headers, and the body
//! serialised (and signed) once.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Uri};

use crate::error::{AuthError, TransportError, TransportErrorKind};

use super::base_url::BaseUrl;

/// A request ready to send, possibly several times and to several hosts: every attempt sends
/// the same bytes.
///
/// Its `Debug` shows the method and the path only: the query may carry ids, the headers and
/// the body keys, tokens and player data.
#[derive(Clone)]
pub struct OutboundRequest {
    method: Method,
    path_and_query: Cow<'static, str>,
    headers: HeaderMap,
    body: Bytes,
}

impl OutboundRequest {
    /// A `POST` of `body` to `path_and_query` (starting with `/`) below the base URL.
    pub fn post(
        path_and_query: impl Into<Cow<'static, str>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> Self {
        Self {
            method: Method::POST,
            path_and_query: path_and_query.into(),
            headers,
            body,
        }
    }

    /// Sets one header, replacing any value it had (for example a token that changes between
    /// calls).
    pub fn insert_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.insert(name, value);
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path and query below the base URL.
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// One copy of the request for one attempt on `base`.
    ///
    /// # Errors
    ///
    /// A [`TransportError`] of kind [`InvalidRequest`](TransportErrorKind::InvalidRequest),
    /// nothing sent, when the base URL and the path do not form a valid URI.
    pub fn to_http(&self, base: &BaseUrl) -> Result<Request<Bytes>, TransportError> {
        let uri = Uri::try_from(base.join(&self.path_and_query)).map_err(|_| invalid_target())?;
        let mut request = Request::new(self.body.clone());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = self.headers.clone();
        Ok(request)
    }
}

/// The error of a request whose base URL and path do not form a URL that can be sent as given;
/// nothing was sent.
pub(crate) fn invalid_target() -> TransportError {
    TransportError::new(
        TransportErrorKind::InvalidRequest,
        false,
        "the base URL and the path do not form a valid request URI",
    )
}

impl fmt::Debug for OutboundRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self
            .path_and_query
            .split_once('?')
            .map_or(&*self.path_and_query, |(p, _)| p);
        f.debug_struct("OutboundRequest")
            .field("method", &self.method)
            .field("path", &path)
            .finish_non_exhaustive()
    }
}

/// A header value marked sensitive (HTTP/2 never indexes it, and `Debug` hides it).
///
/// # Errors
///
/// Returns [`AuthError::InvalidInput`] when `value` holds a byte HTTP forbids in a header value:
/// a control character other than horizontal tab (CR, LF, NUL, …) or DEL.
pub fn sensitive_header(value: &str) -> Result<HeaderValue, AuthError> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| AuthError::InvalidInput("header value has forbidden characters".into()))?;
    v.set_sensitive(true);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_copy_carries_the_same_bytes_to_the_host_given() {
        let mut headers = HeaderMap::new();
        headers.insert("sign", HeaderValue::from_static("abc"));
        let r = OutboundRequest::post("/v1/x?trace_id=t", headers, Bytes::from_static(b"{}"));
        let base = BaseUrl::parse("http://127.0.0.1:9/p").unwrap();
        let h = r.to_http(&base).unwrap();
        assert_eq!(h.uri(), "http://127.0.0.1:9/p/v1/x?trace_id=t");
        assert_eq!(h.method(), Method::POST);
        assert_eq!(h.headers()["sign"], "abc");
        assert_eq!(h.body().as_ref(), b"{}");
        assert_eq!(
            format!("{r:?}"),
            "OutboundRequest { method: POST, path: \"/v1/x\", .. }"
        );
    }

    #[test]
    fn sensitive_headers_are_marked() {
        assert!(sensitive_header("abc").unwrap().is_sensitive());
        assert!(sensitive_header("a\nb").is_err());
    }
}
