//! Query, form and JSON-object parameters, with the duplicate and length rules of the contract.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use crate::error::Reason;

/// Parameter pairs: decoded `application/x-www-form-urlencoded` (a query string or a form body),
/// or the members of a JSON object whose values are all strings.
///
/// Parameters without a value count as absent (RFC 6749 §3.1).
#[derive(Debug)]
pub(crate) struct Params<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Params<'a> {
    pub(crate) fn parse(raw: &'a [u8]) -> Self {
        Self {
            pairs: url::form_urlencoded::parse(raw)
                .filter(|(_, v)| !v.is_empty())
                .collect(),
        }
    }

    /// The members of a JSON object, in order and with repeated names kept (so the duplicate
    /// rule sees them). Anything but an object whose every value is a string is malformed; an
    /// empty string counts as absent, as an empty form value does.
    pub(crate) fn parse_json(raw: &[u8]) -> Result<Params<'static>, Reason> {
        let Members(members) =
            serde_json::from_slice(raw).map_err(|_| Reason::MalformedParameter("body"))?;
        let mut pairs = Vec::with_capacity(members.len());
        for (name, value) in members {
            match value {
                serde_json::Value::String(v) if v.is_empty() => {}
                serde_json::Value::String(v) => pairs.push((Cow::Owned(name), Cow::Owned(v))),
                _ => return Err(Reason::MalformedParameter(known_name(&name))),
            }
        }
        Ok(Params { pairs })
    }

    /// The value of `name`, refusing duplicates and values longer than `max_len` bytes.
    pub(crate) fn get(&self, name: &'static str, max_len: usize) -> Result<Option<&str>, Reason> {
        let mut found = None;
        for (k, v) in &self.pairs {
            if k == name {
                if found.is_some() {
                    return Err(Reason::DuplicateParameter(name));
                }
                found = Some(v.as_ref());
            }
        }
        match found {
            Some(v) if v.len() > max_len => Err(Reason::ParameterTooLong(name)),
            other => Ok(other),
        }
    }

    /// Like [`get`](Self::get), but absence is an error.
    pub(crate) fn require(&self, name: &'static str, max_len: usize) -> Result<&str, Reason> {
        self.get(name, max_len)?
            .ok_or(Reason::MissingParameter(name))
    }

    /// Whether `name` is present (with a value).
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// Whether any parameter name appears more than once.
    ///
    /// Sorted, not compared pairwise: a public authorize URL can carry thousands of parameters,
    /// and a quadratic check would let one request burn a worker's CPU.
    pub(crate) fn has_duplicates(&self) -> bool {
        let mut names: Vec<&str> = self.pairs.iter().map(|(k, _)| k.as_ref()).collect();
        names.sort_unstable();
        names.windows(2).any(|w| w[0] == w[1])
    }
}

/// The name of a token-request parameter as a `'static` string for errors; any other name is
/// just "parameter" (errors never quote input).
fn known_name(name: &str) -> &'static str {
    const KNOWN: [&str; 6] = [
        "grant_type",
        "code",
        "client_id",
        "client_secret",
        "refresh_token",
        "redirect_uri",
    ];
    KNOWN
        .into_iter()
        .find(|k| *k == name)
        .unwrap_or("parameter")
}

/// A JSON object's members with repeated names kept (a map type would keep only one).
struct Members(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;

        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, serde_json::Value>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }

        deserializer.deserialize_map(MembersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_found_among_many_parameters() {
        let many: String = (0..20_000).map(|i| format!("p{i}=1&")).collect();
        assert!(!Params::parse(many.as_bytes()).has_duplicates());
        let repeated = format!("{many}p19999=2");
        assert!(Params::parse(repeated.as_bytes()).has_duplicates());
        assert!(Params::parse(b"a=1&b=2&a=3").has_duplicates());
        assert!(
            !Params::parse(b"a=1&b=2&a=").has_duplicates(),
            "an empty value is absent"
        );
    }

    #[test]
    fn json_members_follow_the_form_rules() {
        let p = Params::parse_json(br#"{"a":"1","b":"2","a":"3","c":"","d":"A+ x"}"#).unwrap();
        assert_eq!(p.get("a", 10), Err(Reason::DuplicateParameter("a")));
        assert_eq!(p.get("b", 10), Ok(Some("2")));
        assert_eq!(p.get("b", 0), Err(Reason::ParameterTooLong("b")));
        assert_eq!(p.get("c", 10), Ok(None));
        assert_eq!(
            p.get("d", 10),
            Ok(Some("A+ x")),
            "no form decoding of JSON strings"
        );
        assert!(p.has_duplicates());
        assert!(
            !Params::parse_json(br#"{"a":"1","a":""}"#)
                .unwrap()
                .has_duplicates()
        );
    }

    #[test]
    fn json_values_must_be_strings_in_an_object() {
        for (body, name) in [
            (&br#"{"code":123}"#[..], "code"),
            (br#"{"client_id":null}"#, "client_id"),
            (br#"{"grant_type":["authorization_code"]}"#, "grant_type"),
            (br#"{"client_secret":{"v":"s"}}"#, "client_secret"),
            (br#"{"refresh_token":true}"#, "refresh_token"),
            (br#"{"other":1.5}"#, "parameter"),
        ] {
            assert_eq!(
                Params::parse_json(body).unwrap_err(),
                Reason::MalformedParameter(name),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        for body in [
            &b""[..],
            b"[]",
            b"\"code\"",
            b"{\"code\":\"a\"",
            b"{\"code\":\"a\"} {}",
            b"grant_type=authorization_code",
        ] {
            assert_eq!(
                Params::parse_json(body).unwrap_err(),
                Reason::MalformedParameter("body"),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn duplicates_and_lengths_are_refused_and_empty_values_are_absent() {
        let p = Params::parse(b"a=1&b=2&a=3&c=&d=%41%2B+x");
        assert_eq!(p.get("a", 10), Err(Reason::DuplicateParameter("a")));
        assert_eq!(p.get("b", 10), Ok(Some("2")));
        assert_eq!(p.get("b", 0), Err(Reason::ParameterTooLong("b")));
        assert_eq!(p.get("c", 10), Ok(None));
        assert_eq!(p.require("c", 10), Err(Reason::MissingParameter("c")));
        assert_eq!(p.get("d", 10), Ok(Some("A+ x")));
        assert!(p.has_duplicates());
        assert!(!Params::parse(b"a=1&b=2").has_duplicates());
    }
}
