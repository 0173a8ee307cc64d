//! Scrubbing a recording: every real secret, token and configured personal value is replaced by
//! a dummy, and the same real value by the same dummy everywhere in the fixture (a Hive server
//! token returned by `/oauth/token` and later sent as `X-Access-Token`, an OMG token returned by
//! `authorize` and embedded in the game URL, …).
//!
//! Values are found by name: JSON keys (at any depth), form fields, query parameters and header
//! names that are secrets by nature ([`SecretNames`]: the kit's common names, the provider's
//! secret fields and its scrub fields) or that the recording declares personal (`--scrub-field`). Secrets given in the environment are pinned to the fixture's dummy keys
//! before anything is learnt. [`Scrubber::check`] then refuses any output that still contains a
//! real value.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use super::json::{self, Token};
use crate::secret_names::{SecretNames, normalise};

/// Values shorter than this are replaced only where they are a whole value, never inside longer
/// text, and are not searched for in the output: strings this short occur by chance.
pub(crate) const MIN_EMBEDDED_LEN: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Secret,
    Personal,
}

/// The real → dummy mapping of one recording. Deliberately not `Debug`: it holds real values.
pub(crate) struct Scrubber {
    secrets: SecretNames,
    personal: BTreeSet<String>,
    /// `(real, dummy)` in the order they were learnt.
    entries: Vec<(String, String)>,
    index: HashMap<String, usize>,
    counters: HashMap<String, usize>,
    /// Real values the output must not contain, each with what it is (never the value itself).
    needles: Vec<(String, String)>,
}

impl Scrubber {
    /// A scrubber of the values of `secrets` that also treats the `personal` field names as
    /// values to replace.
    pub(crate) fn new(secrets: SecretNames, personal: &[String]) -> Self {
        Self {
            secrets,
            personal: personal.iter().map(|p| normalise(p)).collect(),
            entries: Vec::new(),
            index: HashMap::new(),
            counters: HashMap::new(),
            needles: Vec::new(),
        }
    }

    /// Maps `real` to the fixed `dummy` (a secret given in the environment, described as
    /// `what`), and forbids it in the output whatever its length.
    pub(crate) fn pin(&mut self, real: &str, dummy: &str, what: &str) {
        if real.is_empty() {
            return;
        }
        if !self.index.contains_key(real) {
            self.index.insert(real.to_owned(), self.entries.len());
            self.entries.push((real.to_owned(), dummy.to_owned()));
        }
        self.needles.push((real.to_owned(), what.to_owned()));
    }

    /// Forbids `real` in the output without mapping it (a value that is recomputed rather than
    /// replaced, such as an original signature).
    pub(crate) fn forbid(&mut self, real: &str, what: &str) {
        if real.len() >= MIN_EMBEDDED_LEN {
            self.needles.push((real.to_owned(), what.to_owned()));
        }
    }

    /// The dummy a real value was mapped to.
    pub(crate) fn dummy_of(&self, real: &str) -> Option<&str> {
        self.index.get(real).map(|&i| self.entries[i].1.as_str())
    }

    fn class(&self, name: &str) -> Option<Class> {
        let n = normalise(name);
        if self.secrets.contains(name) {
            Some(Class::Secret)
        } else if self.personal.contains(&n) {
            Some(Class::Personal)
        } else {
            None
        }
    }

    /// Learns the value of field `name` if the name makes it a secret or a personal value.
    fn learn(&mut self, name: &str, value: &str, numeric: bool) {
        let Some(class) = self.class(name) else {
            return;
        };
        let value = match class {
            Class::Secret => value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .unwrap_or(value),
            Class::Personal => value,
        };
        if value.is_empty() || self.index.contains_key(value) {
            return;
        }
        let dummy = self.fresh_dummy(name, value, class, numeric);
        self.index.insert(value.to_owned(), self.entries.len());
        self.entries.push((value.to_owned(), dummy));
        if value.len() >= MIN_EMBEDDED_LEN {
            let what = match class {
                Class::Secret => format!("the real value of `{name}`"),
                Class::Personal => format!("the personal value of `{name}`"),
            };
            self.needles.push((value.to_owned(), what));
        }
    }

    fn fresh_dummy(&mut self, name: &str, value: &str, class: Class, numeric: bool) -> String {
        let slug: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .trim_matches('-')
            .to_owned();
        loop {
            let n = {
                let c = self.counters.entry(slug.clone()).or_insert(0);
                *c += 1;
                *c
            };
            let digits = value.len() <= 18 && value.bytes().all(|b| b.is_ascii_digit());
            let dummy = match class {
                Class::Secret => format!("dummy-{slug}-{n}"),
                Class::Personal if numeric || digits => digit_dummy(value.len(), n),
                Class::Personal => match value.parse::<IpAddr>() {
                    // Documentation address ranges (RFC 5737, RFC 3849).
                    Ok(IpAddr::V4(_)) if n <= 254 => format!("192.0.2.{n}"),
                    Ok(_) => format!("2001:db8::{n:x}"),
                    Err(_) if value.starts_with("http://") || value.starts_with("https://") => {
                        format!("https://dummy-{slug}-{n}.example/")
                    }
                    Err(_) if value.contains('@') => format!("dummy-{slug}-{n}@example.com"),
                    Err(_) => format!("dummy-{slug}-{n}"),
                },
            };
            if !self.index.contains_key(&dummy) {
                return dummy;
            }
        }
    }

    /// Learns from a JSON text (which must be valid JSON).
    pub(crate) fn learn_json(&mut self, text: &str) {
        let mut found = Vec::new();
        json::visit(text, |key, token| {
            if let Some(key) = key {
                match token {
                    Token::Str(s) => found.push((key.to_owned(), s.to_owned(), false)),
                    Token::Num(n) => found.push((key.to_owned(), n.to_owned(), true)),
                }
            }
        });
        for (key, value, numeric) in found {
            self.learn(&key, &value, numeric);
        }
    }

    /// Learns from `name: value` pairs: headers, form fields, decoded query parameters.
    pub(crate) fn learn_pairs<'a>(&mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
        for (name, value) in pairs {
            self.learn(name, value, false);
        }
    }

    /// Learns from a raw query string.
    pub(crate) fn learn_query(&mut self, query: &str) {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        self.learn_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }

    /// `text` with every known real value replaced: a whole-value match first, then every real
    /// value of at least [`MIN_EMBEDDED_LEN`] characters inside it, as written or percent- or
    /// form-encoded (a token inside a launch URL).
    pub(crate) fn text(&self, text: &str) -> String {
        if let Some(d) = self.dummy_of(text) {
            return d.to_owned();
        }
        let mut embedded: Vec<&(String, String)> = self
            .entries
            .iter()
            .filter(|(real, _)| real.len() >= MIN_EMBEDDED_LEN)
            .collect();
        embedded.sort_by_key(|(real, _)| std::cmp::Reverse(real.len()));
        let mut out = text.to_owned();
        for (real, dummy) in embedded {
            for form in encodings(real) {
                if out.contains(&form) {
                    out = out.replace(&form, dummy);
                }
            }
        }
        out
    }

    /// A JSON text with its values scrubbed; everything else is kept byte for byte. A number
    /// whose dummy is not a number becomes a string: a secret never survives for type's sake.
    pub(crate) fn json(&self, text: &str) -> String {
        json::rewrite(text, |_, token| match token {
            Token::Str(s) => {
                let scrubbed = self.text(s);
                (scrubbed != s).then(|| serde_json::Value::String(scrubbed).to_string())
            }
            Token::Num(n) => self.dummy_of(n).map(|d| {
                if serde_json::from_str::<serde_json::Number>(d).is_ok() {
                    d.to_owned()
                } else {
                    serde_json::Value::String(d.to_owned()).to_string()
                }
            }),
        })
    }

    /// A raw query string with its parameter values scrubbed; unchanged parameters keep their
    /// exact encoding.
    pub(crate) fn query(&self, query: &str) -> String {
        query
            .split('&')
            .map(|part| {
                let (name, value) = part.split_once('=').unwrap_or((part, ""));
                let decoded: String = url::form_urlencoded::parse(format!("v={value}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let scrubbed = self.text(&decoded);
                if scrubbed == decoded {
                    part.to_owned()
                } else {
                    let encoded: String =
                        url::form_urlencoded::byte_serialize(scrubbed.as_bytes()).collect();
                    format!("{name}={encoded}")
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Refuses an output that contains any real value (compared case-insensitively, as written
    /// and JSON-, doubly JSON-, percent- or form-encoded). The error names what leaked, never
    /// the value.
    pub(crate) fn check(&self, output: &str) -> Result<(), String> {
        let haystack = output.to_lowercase();
        for (real, what) in &self.needles {
            if encodings(real)
                .iter()
                .any(|form| haystack.contains(&form.to_lowercase()))
            {
                return Err(format!("the fixture would contain {what}"));
            }
        }
        Ok(())
    }
}

/// `real` as written, JSON-escaped (once and twice: a body inside a fixture string),
/// percent-encoded and form-encoded; duplicates removed.
fn encodings(real: &str) -> Vec<String> {
    let json_once = serde_json::Value::String(real.to_owned()).to_string();
    let json_once = json_once[1..json_once.len() - 1].to_owned();
    let json_twice = serde_json::Value::String(json_once.clone()).to_string();
    let json_twice = json_twice[1..json_twice.len() - 1].to_owned();
    let form: String = url::form_urlencoded::byte_serialize(real.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    let mut out = vec![real.to_owned()];
    for f in [json_once, json_twice, form, percent] {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// A number of `len` digits (at least two) starting with `9` and ending with `n`.
fn digit_dummy(len: usize, n: usize) -> String {
    let tail = n.to_string();
    let len = len.max(tail.len() + 1);
    format!("9{}{tail}", "0".repeat(len - 1 - tail.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_real_token_gets_the_same_dummy_in_json_headers_queries_and_urls() {
        let mut s = Scrubber::new(SecretNames::new([]), &[]);
        s.learn_json(r#"{"result_code":0,"data":{"access_token":"eyJreal.server.tok"}}"#);
        s.learn_pairs([("X-Access-Token", "eyJreal.server.tok")]);
        let dummy = s.dummy_of("eyJreal.server.tok").unwrap().to_owned();
        assert_eq!(dummy, "dummy-access-token-1");
        assert_eq!(s.text("eyJreal.server.tok"), dummy);
        assert_eq!(
            s.json(r#"{"data":{"access_token":"eyJreal.server.tok"}}"#),
            format!(r#"{{"data":{{"access_token":"{dummy}"}}}}"#)
        );
        assert_eq!(
            s.text("https://g.example/49?token=eyJreal.server.tok&lang=en"),
            format!("https://g.example/49?token={dummy}&lang=en")
        );
        assert_eq!(
            s.query("trace_id=abc&t=eyJreal.server.tok"),
            format!("trace_id=abc&t={dummy}")
        );
    }

    #[test]
    fn bearer_prefixes_are_not_part_of_the_secret() {
        let mut s = Scrubber::new(SecretNames::new([]), &[]);
        s.learn_pairs([("authorization", "Bearer abcdef123")]);
        assert_eq!(s.text("Bearer abcdef123"), "Bearer dummy-authorization-1");
    }

    #[test]
    fn pinned_environment_secrets_use_the_fixture_dummy_and_are_forbidden_at_any_length() {
        let mut s = Scrubber::new(SecretNames::new([]), &[]);
        s.pin("k1", "dummy-api-key-0001", "CREDITPAY_API_KEY");
        s.learn_pairs([("api-key", "k1")]);
        assert_eq!(s.text("k1"), "dummy-api-key-0001");
        let err = s.check("{\"x\":\"K1\"}").unwrap_err();
        assert_eq!(err, "the fixture would contain CREDITPAY_API_KEY");
        assert!(!err.contains("k1"));
    }

    #[test]
    fn personal_fields_keep_their_shape_so_clients_still_accept_them() {
        let fields = ["uname", "client_ip", "callback_url", "player_id", "email"].map(String::from);
        let mut s = Scrubber::new(SecretNames::new([]), &fields);
        s.learn_json(
            r#"{"uname":"10032355","client_ip":"10.1.2.3","callback_url":"https://op.example/cb",
                "player_id":21,"email":"a@b.c","nickname":"Bill"}"#,
        );
        assert_eq!(s.text("10032355"), "90000001");
        assert_eq!(s.text("10.1.2.3"), "192.0.2.1");
        assert_eq!(
            s.text("https://op.example/cb"),
            "https://dummy-callback-url-1.example/"
        );
        assert_eq!(s.json(r#"{"player_id":21}"#), r#"{"player_id":91}"#);
        assert_eq!(s.text("a@b.c"), "dummy-email-1@example.com");
        assert_eq!(s.text("Bill"), "Bill", "nickname was not declared personal");
    }

    #[test]
    fn a_numeric_secret_becomes_a_string_rather_than_survive() {
        let mut s = Scrubber::new(SecretNames::new([]), &[]);
        s.learn_json(r#"{"data":{"token":1003803}}"#);
        assert_eq!(
            s.json(r#"{"data":{"token":1003803,"n":1003803}}"#),
            r#"{"data":{"token":"dummy-token-1","n":"dummy-token-1"}}"#
        );
    }

    #[test]
    fn short_values_are_replaced_only_as_whole_values() {
        let mut s = Scrubber::new(SecretNames::new([]), &["uid".into()]);
        s.learn_json(r#"{"uid":"7"}"#);
        assert_eq!(s.text("7"), "91");
        assert_eq!(s.text("a7b"), "a7b");
        assert!(s.check("2017").is_ok());
    }

    #[test]
    fn check_finds_encoded_and_differently_cased_leaks() {
        let mut s = Scrubber::new(SecretNames::new([]), &[]);
        s.pin("Ab/c d\"e", "dummy", "OMG_SIGN_KEY");
        for leaked in [
            "x Ab/c d\"e x",
            "x Ab/c d\\\"e x",
            "x Ab/c d\\\\\\\"e x",
            "x Ab%2Fc+d%22e x",
            "x Ab%2Fc%20d%22e x",
            "x AB/C D\"E x",
        ] {
            assert!(s.check(leaked).is_err(), "{leaked}");
        }
        assert!(s.check("nothing here").is_ok());
    }

    #[test]
    fn forbidden_values_are_checked_but_not_replaced() {
        let mut s = Scrubber::new(SecretNames::new([]), &[]);
        s.forbid("7387fcf664c067bc", "an original signature");
        assert_eq!(s.text("7387fcf664c067bc"), "7387fcf664c067bc");
        assert_eq!(
            s.check("sign: 7387FCF664C067BC").unwrap_err(),
            "the fixture would contain an original signature"
        );
    }
}
