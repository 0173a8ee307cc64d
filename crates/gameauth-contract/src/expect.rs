//! The expectation vocabulary shared by every provider's steps.
//!
//! A step's `expect` is `{"ok": {...}}` with the values the call must return (their shape is the
//! provider's), or `{"error": {...}}` with the exact error [`ExpectedError::kind`] and, where
//! they apply, the details a caller acts on. A provider describes each of its errors once as
//! [`ErrorFacts`]; [`Expect::check`] then compares any result with any expectation.

use std::fmt::Debug;

use serde::Deserialize;

/// The expected outcome of a call: success with values of type `T`, or an error.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expect<T> {
    /// The call succeeds and returns these values.
    Ok(T),
    /// The call fails with this error.
    Error(ExpectedError),
}

/// An expected error. Every field but `kind` is optional; a field given must be present on the
/// actual error with exactly this value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ExpectedError {
    /// The provider's name for the kind of error (`rejected`, `http_status`, `decode`, …).
    pub kind: String,
    /// The provider's result code.
    #[serde(default)]
    pub code: Option<i64>,
    /// Whether the code is one of the documented ones (`false`: kept as an unknown code).
    #[serde(default)]
    pub known: Option<bool>,
    /// The provider's message.
    #[serde(default)]
    pub message: Option<String>,
    /// The HTTP status.
    #[serde(default)]
    pub status: Option<u16>,
    /// The field path of a decoding error.
    #[serde(default)]
    pub path: Option<String>,
    /// The host that gave the answer (`primary`, `fallback`, or `none`).
    #[serde(default)]
    pub served_by: Option<String>,
    /// Why the primary host failed (`status 503`, `not_json`, `timeout`, …).
    #[serde(default)]
    pub primary: Option<String>,
    /// Why the fallback host failed, or `none` when there was no fallback attempt.
    #[serde(default)]
    pub fallback: Option<String>,
}

impl ExpectedError {
    /// An expectation of `kind` with no details.
    pub fn kind(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            ..Self::default()
        }
    }

    /// Compares an actual error with this expectation.
    ///
    /// # Errors
    ///
    /// A message saying what differs when `actual` has another kind, or when a detail this
    /// expectation gives (code, `known`, message, status, path, host, why the primary or the
    /// fallback failed) is missing from `actual` or has another value.
    pub fn check(&self, actual: &ErrorFacts) -> Result<(), String> {
        let actual = &*actual.0;
        if actual.kind != self.kind {
            return Err(format!(
                "expected a `{}` error, got {}",
                self.kind, actual.shown
            ));
        }
        let text = |field: &str, want: &Option<String>, got: &Option<String>| match (want, got) {
            (Some(w), Some(g)) if w == g => Ok(()),
            (Some(w), Some(g)) => Err(format!("{field} is {g:?}, expected {w:?}")),
            (Some(w), None) => Err(format!(
                "expected {field} {w:?}, but the error has none: {}",
                actual.shown
            )),
            (None, _) => Ok(()),
        };
        match (self.code, actual.code) {
            (Some(w), Some(g)) if w != g => return Err(format!("code is {g}, expected {w}")),
            (Some(w), None) => {
                return Err(format!(
                    "expected code {w}, but the error has none: {}",
                    actual.shown
                ));
            }
            _ => {}
        }
        if let Some(want) = self.known {
            match actual.known {
                Some(got) if got == want => {}
                Some(_) => {
                    let code = actual.code.map_or_else(String::new, |c| format!(" {c}"));
                    let should = if want {
                        "a documented code"
                    } else {
                        "kept as an unknown code"
                    };
                    return Err(format!("code{code} should be {should}"));
                }
                None => {
                    return Err(format!(
                        "expected `known`, but the error has no code: {}",
                        actual.shown
                    ));
                }
            }
        }
        text("message", &self.message, &actual.message)?;
        match (self.status, actual.status) {
            (Some(w), Some(g)) if w != g => return Err(format!("status is {g}, expected {w}")),
            (Some(w), None) => {
                return Err(format!(
                    "expected status {w}, but the error has none: {}",
                    actual.shown
                ));
            }
            _ => {}
        }
        text("path", &self.path, &actual.path)?;
        text("served_by", &self.served_by, &actual.served_by)?;
        text("primary", &self.primary, &actual.primary)?;
        text("fallback", &self.fallback, &actual.fallback)
    }
}

/// What a provider's error is, in the terms of [`ExpectedError`]: a provider describes each of
/// its errors once with these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFacts(Box<Facts>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Facts {
    kind: String,
    code: Option<i64>,
    known: Option<bool>,
    message: Option<String>,
    status: Option<u16>,
    path: Option<String>,
    served_by: Option<String>,
    primary: Option<String>,
    fallback: Option<String>,
    /// The error as shown in failure messages.
    shown: String,
}

impl ErrorFacts {
    /// An error of `kind`; `error` is shown (with `{:?}`) when it does not match.
    pub fn new(kind: impl Into<String>, error: &impl Debug) -> Self {
        Self(Box::new(Facts {
            kind: kind.into(),
            code: None,
            known: None,
            message: None,
            status: None,
            path: None,
            served_by: None,
            primary: None,
            fallback: None,
            shown: format!("{error:?}"),
        }))
    }

    /// With the provider's result code and whether it is a documented one.
    pub fn code(mut self, code: i64, known: bool) -> Self {
        self.0.code = Some(code);
        self.0.known = Some(known);
        self
    }

    /// With the provider's message.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.0.message = Some(message.into());
        self
    }

    /// With the HTTP status.
    pub fn status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    /// With the field path of a decoding error.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.0.path = Some(path.into());
        self
    }

    /// With the host that answered.
    pub fn served_by(mut self, host: impl Into<String>) -> Self {
        self.0.served_by = Some(host.into());
        self
    }

    /// With the failures of the primary and, if it was tried, the fallback host.
    pub fn hosts(mut self, primary: impl Into<String>, fallback: impl Into<String>) -> Self {
        self.0.primary = Some(primary.into());
        self.0.fallback = Some(fallback.into());
        self
    }

    /// The kind of error.
    pub fn kind(&self) -> &str {
        &self.0.kind
    }
}

impl<T> Expect<T> {
    /// Compares a call's result with this expectation: success with `ok` (given the returned
    /// value and the expected values), an error with [`ExpectedError::check`].
    ///
    /// # Errors
    ///
    /// A message when the call succeeded but an error was expected or the other way round,
    /// the error of `ok` when the values differ, or the error of [`ExpectedError::check`] when
    /// the errors differ.
    pub fn check<V>(
        self,
        result: Result<V, ErrorFacts>,
        ok: impl FnOnce(V, T) -> Result<(), String>,
    ) -> Result<(), String> {
        match (result, self) {
            (Ok(value), Expect::Ok(want)) => ok(value, want),
            (Err(error), Expect::Error(want)) => want.check(&error),
            (Ok(_), Expect::Error(want)) => {
                Err(format!("expected a `{}` error, got success", want.kind))
            }
            (Err(error), Expect::Ok(_)) => Err(format!("expected success, got {}", error.0.shown)),
        }
    }
}

/// Fails with `field is "got", expected "want"` when the two differ.
///
/// # Errors
///
/// The message above when `got` and `want` differ (compared byte for byte).
pub fn same(field: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{field} is {got:?}, expected {want:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(code: i64, known: bool) -> ErrorFacts {
        ErrorFacts::new("rejected", &"Rejected")
            .code(code, known)
            .message("m")
            .served_by("primary")
    }

    fn expect(json: serde_json::Value) -> Expect<()> {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn every_given_detail_must_match() {
        let e = expect(
            serde_json::json!({"error": {"kind": "rejected", "code": 8123,
            "known": false, "message": "m", "served_by": "primary"}}),
        );
        assert!(
            e.check(Err::<(), _>(rejected(8123, false)), |_, _| Ok(()))
                .is_ok()
        );
        let e = expect(serde_json::json!({"error": {"kind": "rejected", "known": true}}));
        let err = e
            .check(Err::<(), _>(rejected(8123, false)), |_, _| Ok(()))
            .unwrap_err();
        assert_eq!(err, "code 8123 should be a documented code");
        let e = expect(serde_json::json!({"error": {"kind": "rejected", "served_by": "fallback"}}));
        assert!(
            e.check(Err::<(), _>(rejected(1, true)), |_, _| Ok(()))
                .is_err()
        );
    }

    #[test]
    fn a_detail_the_error_does_not_have_is_a_mismatch() {
        let want = ExpectedError {
            status: Some(502),
            ..ExpectedError::kind("rejected")
        };
        let err = want.check(&rejected(1, true)).unwrap_err();
        assert!(
            err.starts_with("expected status 502, but the error has none"),
            "{err}"
        );
    }

    #[test]
    fn kinds_and_success_are_told_apart() {
        let e = expect(serde_json::json!({"error": {"kind": "decode"}}));
        let err = e
            .check(Err::<(), _>(rejected(1, true)), |_, _| Ok(()))
            .unwrap_err();
        assert_eq!(err, "expected a `decode` error, got \"Rejected\"");
        let e = expect(serde_json::json!({"error": {"kind": "decode"}}));
        assert!(e.check(Ok(()), |_, _| Ok(())).is_err());
        let e = expect(serde_json::json!({"ok": null}));
        assert!(
            e.check(Err::<(), _>(rejected(1, true)), |_, _| Ok(()))
                .is_err()
        );
        let e: Expect<String> = serde_json::from_value(serde_json::json!({"ok": "x"})).unwrap();
        let err = e
            .check(Ok("y".to_owned()), |got, want| same("value", &got, &want))
            .unwrap_err();
        assert_eq!(err, "value is \"y\", expected \"x\"");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let bad = serde_json::from_value::<Expect<()>>(
            serde_json::json!({"error": {"kind": "decode", "cause": "x"}}),
        );
        assert!(bad.is_err());
    }
}
