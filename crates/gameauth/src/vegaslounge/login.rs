//! The demo login's defences: single-use form tokens, a same-origin check, a brute-force limit
//! and `Secure` cookies.
//!
//! * Every login form carries a fresh token, also set as a cookie (double submit). The server
//!   remembers the tokens it issued and accepts each once, for ten minutes: a failed attempt
//!   needs a new form, so one token cannot drive a password-guessing loop.
//! * A login post must come from this site: its `Origin` (or, without one, its `Referer`) must
//!   name the host the request was sent to.
//! * Attempts are counted per caller address and per known username in a [`ThrottleStore`];
//!   each reserves its place before the password is checked and gives it back on success, so
//!   the limit is exact even for concurrent guesses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use gameauth_vegaslounge::{
    StoreError, Throttle, ThrottleConfig, ThrottleKey, ThrottleKind, ThrottleStore,
};
use http::HeaderMap;
use http::header::{HOST, ORIGIN, REFERER};

/// How long a login form may be used.
const FORM_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Most forms remembered at once; beyond it the oldest are forgotten.
const MAX_OPEN_FORMS: usize = 10_000;

/// The `[login]` settings of the `serve` configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoginSettings {
    /// Failed logins allowed per address and per username in `window`.
    pub(crate) max_failures: u32,
    /// The throttle window.
    pub(crate) window: Duration,
    /// Whether the session and form cookies carry `Secure`.
    pub(crate) secure_cookies: bool,
}

impl Default for LoginSettings {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
            secure_cookies: true,
        }
    }
}

/// The defences of one demo login.
#[derive(Debug)]
pub(crate) struct LoginGuard {
    forms: Mutex<HashMap<String, Instant>>,
    throttle: Throttle,
    secure_cookies: bool,
}

impl LoginGuard {
    pub(crate) fn new(settings: LoginSettings, throttle: Arc<dyn ThrottleStore>) -> Self {
        Self {
            forms: Mutex::new(HashMap::new()),
            throttle: Throttle::new(
                ThrottleConfig::new(settings.max_failures, settings.window),
                throttle,
            )
            .with_kind(ThrottleKind::Login),
            secure_cookies: settings.secure_cookies,
        }
    }

    /// ` Secure` for cookie attributes, when configured.
    pub(crate) fn secure(&self) -> &'static str {
        if self.secure_cookies { "; Secure" } else { "" }
    }

    /// A fresh token for one login form.
    pub(crate) fn issue_form_token(&self) -> String {
        let token = super::demo::random_token();
        let now = Instant::now();
        let mut forms = self.forms.lock().unwrap_or_else(PoisonError::into_inner);
        if forms.len() >= MAX_OPEN_FORMS {
            forms.retain(|_, expires| *expires > now);
        }
        if forms.len() >= MAX_OPEN_FORMS
            && let Some(oldest) = forms
                .iter()
                .min_by_key(|(_, expires)| **expires)
                .map(|(t, _)| t.clone())
        {
            forms.remove(&oldest);
        }
        forms.insert(token.clone(), now + FORM_LIFETIME);
        token
    }

    /// Uses up a form token: `true` once for a token this server issued less than ten minutes
    /// ago, `false` ever after.
    pub(crate) fn redeem_form_token(&self, token: &str) -> bool {
        let mut forms = self.forms.lock().unwrap_or_else(PoisonError::into_inner);
        forms
            .remove(token)
            .is_some_and(|expires| expires > Instant::now())
    }

    /// Reserves a login attempt under `keys`; `Some(wait)` when one of them is at its limit.
    pub(crate) async fn reserve(
        &self,
        keys: &[ThrottleKey],
        now: SystemTime,
    ) -> Result<Option<Duration>, StoreError> {
        self.throttle.reserve(keys, now).await
    }

    /// Gives back the reservation of a successful login.
    pub(crate) async fn release(
        &self,
        keys: &[ThrottleKey],
        reserved_at: SystemTime,
    ) -> Result<(), StoreError> {
        self.throttle.release(keys, reserved_at).await
    }
}

/// Whether a request's `Origin` (or, without one, its `Referer`) names the host it was sent to.
/// A request with neither, or with `Origin: null`, is not from this site.
pub(crate) fn is_same_origin(headers: &HeaderMap) -> bool {
    let single = |name| {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (Some(v), None) => v.to_str().ok(),
            _ => None,
        }
    };
    let Some(host) = single(HOST) else {
        return false;
    };
    let claimed = match single(ORIGIN) {
        Some(origin) => origin,
        None if headers.get(ORIGIN).is_none() => match single(REFERER) {
            Some(referer) => referer,
            None => return false,
        },
        None => return false,
    };
    let Some(rest) = claimed
        .strip_prefix("https://")
        .or_else(|| claimed.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    !authority.is_empty() && !authority.contains('@') && authority.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gameauth_vegaslounge::MemoryThrottleStore;
    use http::HeaderValue;

    fn guard() -> LoginGuard {
        LoginGuard::new(
            LoginSettings::default(),
            Arc::new(MemoryThrottleStore::new()),
        )
    }

    #[test]
    fn a_form_token_works_once_and_only_if_issued() {
        let g = guard();
        let token = g.issue_form_token();
        assert!(g.redeem_form_token(&token));
        assert!(!g.redeem_form_token(&token), "used up");
        assert!(!g.redeem_form_token("never-issued"));
    }

    #[test]
    fn open_forms_are_bounded() {
        let g = guard();
        let first = g.issue_form_token();
        for _ in 0..MAX_OPEN_FORMS {
            g.issue_form_token();
        }
        assert_eq!(
            g.forms.lock().unwrap().len(),
            MAX_OPEN_FORMS,
            "the oldest form was forgotten"
        );
        assert!(!g.redeem_form_token(&first));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_posts_from_this_site_are_same_origin() {
        let host = ("host", "127.0.0.1:8080");
        for ok in [
            headers(&[host, ("origin", "http://127.0.0.1:8080")]),
            headers(&[host, ("origin", "https://127.0.0.1:8080")]),
            headers(&[
                host,
                ("referer", "http://127.0.0.1:8080/login?return_to=%2F"),
            ]),
            headers(&[
                ("host", "Operator.example"),
                ("origin", "https://operator.example"),
            ]),
        ] {
            assert!(is_same_origin(&ok), "{ok:?}");
        }
        for bad in [
            headers(&[host]),
            headers(&[host, ("origin", "null")]),
            headers(&[host, ("origin", "https://evil.example")]),
            headers(&[host, ("origin", "http://127.0.0.1:8081")]),
            headers(&[host, ("origin", "http://127.0.0.1:8080.evil.example")]),
            headers(&[host, ("origin", "http://evil@127.0.0.1:8080")]),
            headers(&[host, ("referer", "https://evil.example/127.0.0.1:8080")]),
            // A foreign Origin is not overridden by a matching Referer.
            headers(&[
                host,
                ("origin", "https://evil.example"),
                ("referer", "http://127.0.0.1:8080/login"),
            ]),
            headers(&[("origin", "http://127.0.0.1:8080")]),
        ] {
            assert!(!is_same_origin(&bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn logins_are_throttled_and_successes_give_their_place_back() {
        let g = LoginGuard::new(
            LoginSettings {
                max_failures: 2,
                ..LoginSettings::default()
            },
            Arc::new(MemoryThrottleStore::new()),
        );
        let keys = [ThrottleKey::Account("alice".into())];
        let now = SystemTime::now();
        assert_eq!(g.reserve(&keys, now).await, Ok(None));
        g.release(&keys, now).await.unwrap();
        assert_eq!(g.reserve(&keys, now).await, Ok(None));
        assert_eq!(g.reserve(&keys, now).await, Ok(None));
        assert!(g.reserve(&keys, now).await.unwrap().is_some());
    }
}
